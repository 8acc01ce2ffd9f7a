"""Click-to-fix in the window: clicks accumulate on a frame for the selected track with a preview of its mask,
Enter propagates (manual key frames kept, one undo step), Esc discards, backward propagation stops after the
previous manual key frame. A random-init SAM2-tiny at 128 px on real MOT17 frames."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QPointF, QSettings, Qt  # noqa: E402

from app.document import Document, Source  # noqa: E402
from app.edits import EditBox  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from exporters import mot  # noqa: E402
from widgets.video_canvas import Tool  # noqa: E402

pytestmark = pytest.mark.slow
TIMEOUT_MS = 180_000
SEQUENCE = "mot17-mini/MOT17-09-FRCNN"


@pytest.fixture
def window(qtbot, tmp_path: Path, shared_data: Path) -> MainWindow:
    """MOT17-09 (4 frames) with its ground truth; corrections on a random SAM2-tiny at 128 px on the CPU."""
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window.preferences.data_dir = tmp_path / "projects"
    window.preferences.projects_beside_video = False
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    sequence = shared_data / SEQUENCE
    assert window.sessions.open_path(sequence)
    assert window.transfer.import_document(mot.read(sequence, Document.in_memory(window.session.doc.video)), "gt.txt")
    window.prompt_panel.image_size.setValue(128)  # the panel's setting reaches the corrections' SAM2
    window.tracking.sam2.update(device="cpu", random_init=True)
    yield window
    window.close()


def _click(qtbot, window: MainWindow, x: float, y: float, button: Qt.MouseButton) -> None:
    canvas = window.canvas
    qtbot.mouseClick(canvas.viewport(), button, pos=canvas.mapFromScene(QPointF(x, y)))


def _track_on_every_frame(doc: Document) -> int:
    return next(t.id for t in doc.tracks() if doc.track_timeline(t.id).frames.tolist() == [0, 1, 2, 3])


def test_clicks_preview_then_enter_propagates_around_a_manual_box_in_one_undo_step(
    qtbot, window: MainWindow
) -> None:
    doc, prompting = window.session.doc, window.prompting.controller
    track = _track_on_every_frame(doc)
    x, y, w, h = doc.observation(track, 2).box
    assert window.stack.apply(EditBox(track, 2, (x + 5, y + 5, w, h)))  # a manual key frame two frames on
    manual = doc.observation(track, 2)
    before = [doc.observation(track, f) for f in range(4)]
    undo_steps = window.stack.count()
    window.playback.seek(0)
    window.set_selection([track])
    window.tool_actions[Tool.POSITIVE_POINT].trigger()
    window.prompt_panel.reach.setCurrentIndex(window.prompt_panel.reach.findData("end"))
    x, y, w, h = before[0].box
    _click(qtbot, window, x + w / 2, y + h / 3, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(getattr(window.canvas._preview, "points", ())) == 1, timeout=TIMEOUT_MS)
    first = window.canvas._preview
    _click(qtbot, window, x + w / 2, y + 2 * h / 3, Qt.MouseButton.RightButton)
    qtbot.waitUntil(lambda: window.canvas._preview is not first and window.canvas._preview is not None,
                    timeout=TIMEOUT_MS)
    second = window.canvas._preview
    assert (first.labels, second.labels) == ((1,), (1, 0)) and second.frame == 0
    assert not np.array_equal(first.mask, second.mask)  # the negative click changed the preview
    assert doc.observation(track, 0) == before[0]  # a preview does not touch the project
    assert window.prompt_panel.range.text() == "0 → 3"
    qtbot.keyClick(window.canvas, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.stack.count() == undo_steps + 1 and not window.tracking.busy, timeout=TIMEOUT_MS)
    assert window.canvas._preview is None and not prompting.active
    corrected = doc.observation(track, 0)
    assert corrected.source == Source.MANUAL and corrected.mask is not None and corrected != before[0]
    assert doc.observation(track, 2) == manual  # never overwritten
    assert doc.observation(track, 3) != before[3]  # propagated past the manual key frame
    assert [p.labels for p in doc.prompts(track)] == [(1,), (1, 0)]  # each click as given, for the replay
    window.act_undo.trigger()
    assert [doc.observation(track, f) for f in range(4)] == before and doc.prompts(track) == []


def test_esc_discards_the_prompts_and_leaves_the_project_unchanged(qtbot, window: MainWindow) -> None:
    doc = window.session.doc
    rows, undo_steps = list(doc.iter_observations()), window.stack.count()
    window.set_selection([])
    window.tool_actions[Tool.POSITIVE_POINT].trigger()
    _click(qtbot, window, 900.0, 500.0, Qt.MouseButton.LeftButton)  # nothing selected: a new track
    qtbot.waitUntil(lambda: window.canvas._preview is not None, timeout=TIMEOUT_MS)
    new = window.prompting.controller.job.track_id
    assert doc.track(new) is None
    qtbot.keyClick(window.canvas, Qt.Key.Key_Escape)
    assert window.canvas._preview is None and not window.prompting.controller.active
    prompting = window.prompting.controller
    qtbot.waitUntil(lambda: not prompting._ending and not window.tracking.busy, timeout=TIMEOUT_MS)
    assert list(doc.iter_observations()) == rows and window.stack.count() == undo_steps
    assert doc.track(new) is None and doc.prompts(new) == []


def test_backward_propagation_stops_after_the_previous_manual_key_frame(qtbot, window: MainWindow) -> None:
    doc, prompting = window.session.doc, window.prompting.controller
    track = _track_on_every_frame(doc)
    x, y, w, h = doc.observation(track, 0).box
    assert window.stack.apply(EditBox(track, 0, (x + 5, y + 5, w, h)))
    before = [doc.observation(track, f) for f in range(4)]
    window.playback.seek(2)
    window.set_selection([track])
    window.prompt_panel.backward.setChecked(True)
    x, y, w, h = before[2].box
    assert prompting.prompt(2, track, point=(x + w / 2, y + h / 2))
    qtbot.waitUntil(lambda: window.canvas._preview is not None and bool(window.canvas._preview.points),
                    timeout=TIMEOUT_MS)
    assert window.prompt_panel.range.text() == "1 → 3"  # back to the key frame at 0, forward to the last frame
    assert prompting.propagate()
    qtbot.waitUntil(lambda: not prompting._ending and not window.tracking.busy, timeout=TIMEOUT_MS)
    assert doc.observation(track, 0) == before[0]
    assert doc.observation(track, 1) != before[1] and doc.observation(track, 1).mask is not None
    assert doc.observation(track, 2).source == Source.MANUAL


def test_the_sam2_model_and_input_size_are_remembered(qtbot, window: MainWindow, tmp_path: Path) -> None:
    window.prompt_panel.model.setCurrentText("small")
    assert window.tracking.sam2["model"] == "small" and window.tracking.sam2["image_size"] == 128
    again = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(again)
    assert (again.tracking.sam2["model"], again.tracking.sam2["image_size"]) == ("small", 128)
    assert (again.prompt_panel.model.currentText(), again.prompt_panel.image_size.value()) == ("small", 128)
