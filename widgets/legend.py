"""The legend of the colours and marks that the canvas and the timeline use, drawn as they are drawn there."""
from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tracker.results import ObjectState
from widgets.style import CONFLICT_COLOR, MANUAL_COLOR, REVIEWED_COLOR, STATE_COLORS

NEUTRAL = STATE_COLORS[ObjectState.RELIABLE]
ENTRIES: tuple[tuple[str, str, str], ...] = (
    *((state.name.lower(), "bar", STATE_COLORS[state]) for state in sorted(ObjectState)),
    ("manual (key frame)", "manual", MANUAL_COLOR),
    ("interpolated", "dotted", NEUTRAL),
    ("reviewed", "reviewed", REVIEWED_COLOR),
    ("conflict", "conflict", CONFLICT_COLOR),
)
"""``(text, mark, colour)``: the states, then hand-edited key frames, interpolated frames, reviewed frames
and conflicts."""


class Legend(QWidget):
    """One row of swatches with their meaning."""

    SWATCH = 18
    GAP = 12

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setToolTip("Timeline: a lane's colour is the track's state; a white underline marks frames edited by "
                        "hand, a dotted bar frames interpolated between them, a cyan top line reviewed frames and "
                        "a pink link a conflict. On the video, interpolated boxes are dotted and lost ones dashed.")

    def entries(self) -> list[str]:
        return [text for text, _, _ in ENTRIES]

    def sizeHint(self) -> QSize:
        metrics = QFontMetrics(self.font())
        width = sum(self.SWATCH + 4 + metrics.horizontalAdvance(text) + self.GAP for text, _, _ in ENTRIES)
        return QSize(width, max(metrics.height(), 12) + 4)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        metrics = QFontMetrics(self.font())
        x, h = 0, self.height()
        bar = QRectF(0, h / 2 - 4, self.SWATCH, 8)
        for text, mark, color in ENTRIES:
            swatch = bar.translated(x, 0)
            _paint_mark(painter, swatch, mark, QColor(color))
            painter.setPen(QColor("#8b949e"))
            painter.drawText(int(swatch.right()) + 4, 0, metrics.horizontalAdvance(text) + 2, h,
                             Qt.AlignmentFlag.AlignVCenter, text)
            x += self.SWATCH + 4 + metrics.horizontalAdvance(text) + self.GAP
        painter.end()


def _paint_mark(painter: QPainter, rect: QRectF, mark: str, color: QColor) -> None:
    """A small lane piece as the timeline draws it."""
    neutral = QColor(NEUTRAL)
    if mark == "bar":
        painter.fillRect(rect, color)
    elif mark == "manual":
        painter.fillRect(rect, neutral)
        painter.fillRect(QRectF(rect.left(), rect.bottom() - 2, rect.width(), 2), color)
    elif mark == "dotted":
        for x in range(0, int(rect.width()), 4):
            painter.fillRect(QRectF(rect.left() + x, rect.top(), 2, rect.height()), color)
    elif mark == "reviewed":
        painter.fillRect(rect, neutral)
        painter.fillRect(QRectF(rect.left(), rect.top(), rect.width(), 2), color)
    else:
        painter.setPen(QPen(color, 1.5))
        centre = rect.center().x()
        painter.drawLine(int(centre), int(rect.top()) - 3, int(centre), int(rect.bottom()) + 3)
        painter.setPen(QPen(color, 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawPoint(int(centre), int(rect.top()) - 2)


def with_legend(view: QWidget, legend: Legend) -> QWidget:
    """``view`` with the legend in a row above it (for a dock)."""
    panel = QWidget()
    column = QVBoxLayout(panel)
    column.setContentsMargins(6, 2, 0, 0)
    column.setSpacing(2)
    column.addWidget(legend)
    column.addWidget(view, 1)
    return panel
