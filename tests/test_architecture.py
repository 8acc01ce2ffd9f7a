"""The package layering of CONTRIBUTING.md, checked on the code."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_text_label_formats_load_without_opencv() -> None:
    code = ("import sys, exporters.mot, exporters.mot_results, exporters.mots, exporters.cocovid, exporters.cvat; "
            "assert 'cv2' not in sys.modules, 'cv2 was imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert result.returncode == 0, result.stderr
