"""Errors as dialogs with a way forward, never tracebacks; an excepthook for everything unexpected."""
from __future__ import annotations

import enum
import logging
import re
import sys
import traceback
from dataclasses import dataclass, replace
from types import TracebackType

from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from app.error_log import log_unexpected
from tracker.errors import CheckpointError, DetectorError, DiskFullError, MaskletError, VideoError, os_error

_log = logging.getLogger(__name__)


class Remedy(enum.Enum):
    """What the dialog offers besides closing it."""

    NONE = "none"
    CHOOSE_CHECKPOINT = "Choose checkpoint…"
    CHOOSE_DETECTOR = "Choose detector…"
    OPEN_VIDEO = "Open another video…"


@dataclass(frozen=True)
class Explanation:
    """A dialog's content: a short title, the problem, advice and an optional remedy button."""

    title: str
    text: str
    advice: str = ""
    remedy: Remedy = Remedy.NONE
    details: str = ""


# Command-line advice in messages from the shared code → the control of the app that does the same.
_GUI_WORDS = (
    (r"give it with --format \(", "choose it in the Import dialog's Format list ("),
    (r"\(use --frame-base 1 to force 1-based\)", "(choose 1-based under Frame numbers in the Import dialog to force it)"),
    (r"\(see --frame-base\)", "(see Frame numbers in the Import dialog)"),
    (r"or pass --sam2 PATH", "or choose it with Checkpoint… in the Run dialog"),
    (r"pick one with --video-name", "type one in the Import dialog's Video name field"),
    (r"give the numbering with --classes mot17\|mot15\|NAMES\.txt",
     "put the class names in a labels.txt beside the file (one per line, class 1 first)"),
    (r"--classes does not apply", "the Classes field does not apply"),
    (r"--class-map", "a class map (masklet export --class-map)"),
)


def in_gui_words(text: str) -> str:
    """``text`` with command-line options replaced by the app's own controls."""
    for pattern, words in _GUI_WORDS:
        text = re.sub(pattern, words, text)
    return text


def is_out_of_memory(exc: BaseException) -> bool:
    """A CUDA/MPS allocation failure (``torch.OutOfMemoryError`` or a RuntimeError saying so)."""
    return type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc).lower()


def explain(exc: BaseException) -> Explanation:
    """What to tell the user about an exception."""
    if isinstance(exc, CheckpointError):
        missing = "download" in str(exc).lower() or "no such" in str(exc).lower()
        return Explanation(
            "SAM2 checkpoint missing" if missing else "SAM2 checkpoint unusable", in_gui_words(str(exc)),
            ("Download the file named above and choose it" if missing else "Choose another checkpoint file")
            + ", or pick a SAM2 model by name in the Run dialog.",
            Remedy.CHOOSE_CHECKPOINT,
        )
    if isinstance(exc, DetectorError):
        return Explanation(
            "Detector unavailable", in_gui_words(str(exc)),
            "Choose local detector weights (.pt, .onnx, an exported OpenVINO folder) or a MOTChallenge det.txt.",
            Remedy.CHOOSE_DETECTOR,
        )
    if isinstance(exc, VideoError):
        return Explanation("Cannot read the video", str(exc), "Check the file or open another video.",
                           Remedy.OPEN_VIDEO)
    if is_out_of_memory(exc):
        return Explanation(
            "Out of GPU memory", str(exc).splitlines()[0] if str(exc) else "out of memory",
            "Finished frames are saved. Try a smaller SAM2 model (tiny), restrict the detector to the classes you "
            "need, raise the detection confidence, or run on the CPU; then resume from the current frame.",
        )
    if isinstance(exc, OSError):
        exc = os_error(exc, action="cannot read or write")
    if isinstance(exc, DiskFullError):
        return Explanation("Disk full", str(exc),
                           "Every finished change is saved. Free space on the disk (or choose another folder), then "
                           "try again; a stopped tracking run continues from its last saved frame.")
    if isinstance(exc, MaskletError):
        return Explanation("Masklet", in_gui_words(str(exc)))
    details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return Explanation(
        "Unexpected error", f"{type(exc).__name__}: {exc}",
        "Your work is saved (every change is written to the project file). The details were logged; "
        "please report them.", details=details,
    )


def show_error(parent: QWidget | None, exc: BaseException) -> Remedy:
    """Show ``exc`` in a modal dialog; returns the remedy the user chose (``Remedy.NONE``: closed)."""
    explanation = explain(exc)
    if explanation.details:
        _log.error("%s", explanation.details)
        log = log_unexpected(exc)
        if log is not None:
            explanation = replace(explanation, advice=f"{explanation.advice} The details are in {log}.")
    box = QMessageBox(QMessageBox.Icon.Warning, explanation.title, explanation.text, QMessageBox.StandardButton.Close,
                      parent)
    box.setInformativeText(explanation.advice)
    box.setDetailedText(explanation.details)
    remedy = None
    if explanation.remedy is not Remedy.NONE:
        remedy = box.addButton(explanation.remedy.value, QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(remedy)
    box.exec()
    return explanation.remedy if remedy is not None and box.clickedButton() is remedy else Remedy.NONE


def install_excepthook() -> None:
    """Log uncaught exceptions and show them in a dialog instead of printing a traceback."""

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        if QApplication.instance() is None:
            _log.error("uncaught exception", exc_info=(kind, exc, tb))
        else:
            show_error(QApplication.activeWindow(), exc.with_traceback(tb))  # logs the traceback

    sys.excepthook = hook
