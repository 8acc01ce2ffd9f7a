"""The track timeline: one lane per track, each frame coloured by its state; hand-edited key frames
are underlined, interpolated frames dotted and hidden tracks' lanes dimmed.

Painting is virtualised. When the data changes, each lane's frames are precomputed as runs of equal
state (numpy arrays, ``widgets.timeline_data``). A paint takes only the visible lanes and the runs inside the visible frame
range, turns them into one state per pixel column with numpy (the worst state wins where several
frames share a column) and blits the lanes as one image, so its cost depends on the widget's size,
not on the number of tracks or frames. Conflict episodes are drawn as links between the two tracks' lanes at
their first frame (resolved ones in grey).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QLineF, QPoint, QPointF, QRect, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor, QContextMenuEvent, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QResizeEvent, QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QWidget

from app.model import AnnotationModel
from tracker.results import ObjectState
from widgets.style import (
    CONFLICT_COLOR, CURSOR_COLOR, MANUAL_COLOR, RESOLVED_CONFLICT_COLOR, REVIEWED_COLOR, STATE_COLORS, argb,
)
from widgets.timeline_data import SORT_KEYS, TimelineData, load_lanes

__all__ = ["SORT_KEYS", "FrameRange", "TimelineWidget"]  # the lane orders, offered where the widget is

RANGE_COLOR = "#58a6ff"
"""The selected frame range of a lane."""

HIDDEN_OPACITY = 0.3
"""How strongly a hidden track's lane is drawn."""


@dataclass(frozen=True, slots=True)
class FrameRange:
    """Frames ``[start, stop)`` of one track's lane, selected by Shift+drag."""

    track_id: int
    start: int
    stop: int

    def describe(self) -> str:
        """The range as the annotator sees it (first and last frame)."""
        last = self.stop - 1
        return f"frame {self.start}" if last == self.start else f"frames {self.start}–{last}"


class TimelineWidget(QAbstractScrollArea):
    """Lanes of tracks over frames. Click: seek and select; Shift+drag on a lane: select a frame range of it
    (right-click it to delete those frames); Ctrl+wheel: zoom; Shift+wheel: scroll in time."""

    frameRequested = Signal(int)
    tracksSelected = Signal(list)
    rangeChanged = Signal(object)
    """The selected ``FrameRange``, or None when it is cleared."""
    deleteRangeRequested = Signal(object)
    """The ``FrameRange`` whose frames the annotator asked to delete."""

    LANE_HEIGHT = 18
    LABEL_WIDTH = 64
    HEADER_HEIGHT = 20
    MAX_PX_PER_FRAME = 24.0
    BACKGROUND = "#0d1117"
    LANE_BACKGROUNDS = ("#161b22", "#1a1f27")
    SELECTED_BACKGROUND = "#1f3350"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.data = TimelineData()
        self._current = 0
        self._selection: set[int] = set()
        self._hidden: set[int] = set()
        self.frame_range: FrameRange | None = None
        self.color_by_category = False
        """Lane labels in their category's colour (where the label schema gives one)."""
        self._range_anchor: int | None = None
        """The frame a Shift+drag started at, while it goes on."""
        self._zoom: float | None = None
        """Pixels per frame; None: the whole video fits the width."""
        self._lut = np.array([0] + [argb(STATE_COLORS[s]) for s in sorted(ObjectState)], np.uint32)
        self._backgrounds = np.array([argb(c) for c in (*self.LANE_BACKGROUNDS, self.SELECTED_BACKGROUND)], np.uint32)
        self._manual = np.uint32(argb(MANUAL_COLOR))
        self._reviewed = np.uint32(argb(REVIEWED_COLOR))
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.horizontalScrollBar().valueChanged.connect(self.viewport().update)
        self.verticalScrollBar().valueChanged.connect(self.viewport().update)
        self.verticalScrollBar().setSingleStep(self.LANE_HEIGHT)
        self.setMinimumHeight(self.HEADER_HEIGHT + 3 * self.LANE_HEIGHT)
        self.setMouseTracking(True)

    # ------------------------------------------------------------------ data
    def load(self, doc: AnnotationModel, track_ids: Iterable[int] | None = None) -> None:
        """Reload every lane (``track_ids=None``) or only the given tracks' lanes (conflicts: ``set_conflicts``)."""
        video = doc.video
        lanes, removed = load_lanes(doc, track_ids, by_category=self.color_by_category)
        self.data.set_lanes(lanes, removed, replace=track_ids is None)
        span = doc.frame_range()
        self.set_frame_count(max(video.frame_count if video else 0, span[1] + 1 if span else 0))

    def set_frame_count(self, frame_count: int) -> None:
        self.data.frame_count = frame_count
        self._update_scrollbars()
        self.viewport().update()

    def set_current_frame(self, frame: int) -> None:
        """Move the cursor, scrolling to keep it in view."""
        self._current = frame
        first, visible = self.first_frame(), self.visible_frames()
        if not first <= frame < first + visible:
            self.horizontalScrollBar().setValue(int(frame - visible * 0.1))
        self.viewport().update()

    def set_selection(self, track_ids: Iterable[int]) -> None:
        """Highlight these tracks' lanes, scrolling the first one into view."""
        track_ids = list(track_ids)
        self._selection = set(track_ids)
        rows = self.data.rows_of(np.array(track_ids[:1], np.int64))
        if rows.size and rows[0] >= 0:
            top = int(rows[0]) * self.LANE_HEIGHT
            bar, content = self.verticalScrollBar(), self.viewport().height() - self.HEADER_HEIGHT
            if not bar.value() <= top <= bar.value() + content - self.LANE_HEIGHT:
                bar.setValue(max(0, int(rows[0]) - content // self.LANE_HEIGHT // 3) * self.LANE_HEIGHT)
        self.viewport().update()

    def set_hidden(self, track_ids: Iterable[int]) -> None:
        """Dim these tracks' lanes (tracks hidden on the canvas)."""
        self._hidden = set(track_ids)
        self.viewport().update()

    def set_sort(self, key: str) -> None:
        self.data.set_sort(key)
        self.viewport().update()

    def set_reviewed(self, ranges: Iterable[tuple[int, int, int]]) -> None:
        """Mark these ``(track_id, start, end)`` frame ranges as reviewed."""
        self.data.set_reviewed(ranges)
        self.viewport().update()

    # ------------------------------------------------------------------ geometry
    def _content_width(self) -> int:
        return max(1, self.viewport().width() - self.LABEL_WIDTH)

    def px_per_frame(self) -> float:
        fit = self._content_width() / max(1, self.data.frame_count)
        return fit if self._zoom is None else max(fit, self._zoom)

    def visible_frames(self) -> float:
        return self._content_width() / self.px_per_frame()

    def first_frame(self) -> float:
        return float(self.horizontalScrollBar().value())

    def frame_at(self, x: float) -> int:
        """The frame under viewport x (clamped to the video)."""
        frame = math.floor(self.first_frame() + (x - self.LABEL_WIDTH) / self.px_per_frame())
        return min(max(frame, 0), max(self.data.frame_count - 1, 0))

    def x_of(self, frame: float) -> float:
        """Viewport x of a frame's left edge."""
        return self.LABEL_WIDTH + (frame - self.first_frame()) * self.px_per_frame()

    def row_at(self, y: float) -> int | None:
        if y < self.HEADER_HEIGHT:
            return None
        row = int((y - self.HEADER_HEIGHT + self.verticalScrollBar().value()) // self.LANE_HEIGHT)
        return row if 0 <= row < len(self.data.order) else None

    def hit_test(self, pos: QPoint) -> tuple[int, int | None]:
        """The frame and the track (None outside the lanes) under a viewport point."""
        row = self.row_at(pos.y())
        return self.frame_at(pos.x()), None if row is None else self.data.order[row]

    def _update_scrollbars(self) -> None:
        hbar, vbar = self.horizontalScrollBar(), self.verticalScrollBar()
        visible = self.visible_frames()
        hbar.setRange(0, max(0, math.ceil(self.data.frame_count - visible)))
        hbar.setPageStep(max(1, int(visible)))
        hbar.setSingleStep(max(1, int(visible / 20)))
        content = self.viewport().height() - self.HEADER_HEIGHT
        overflow = max(0, len(self.data.order) * self.LANE_HEIGHT - content)
        vbar.setRange(0, math.ceil(overflow / self.LANE_HEIGHT) * self.LANE_HEIGHT)  # the end shows whole lanes
        vbar.setPageStep(max(self.LANE_HEIGHT, content))

    def zoom_by(self, factor: float, anchor_x: float | None = None) -> None:
        """Zoom in time (factor > 1: in), keeping the frame under ``anchor_x`` in place."""
        anchor_x = self.LABEL_WIDTH + self._content_width() / 2 if anchor_x is None else anchor_x
        anchor = self.first_frame() + (anchor_x - self.LABEL_WIDTH) / self.px_per_frame()
        fit = self._content_width() / max(1, self.data.frame_count)
        zoom = min(self.MAX_PX_PER_FRAME, self.px_per_frame() * factor)
        self._zoom = None if zoom <= fit * 1.0001 else zoom
        self._update_scrollbars()
        self.horizontalScrollBar().setValue(round(anchor - (anchor_x - self.LABEL_WIDTH) / self.px_per_frame()))
        self.viewport().update()

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        self.paint(painter, self.viewport().width(), self.viewport().height())
        painter.end()

    def paint(self, painter: QPainter, width: int, height: int) -> None:
        """Draw the timeline into a ``width`` × ``height`` area (the viewport, or an image in benchmarks)."""
        painter.fillRect(0, 0, width, height, QColor(self.BACKGROUND))
        first, ppf = self.first_frame(), self.px_per_frame()
        top = self.verticalScrollBar().value()
        first_row = top // self.LANE_HEIGHT
        last_row = min(len(self.data.order), (top + height - self.HEADER_HEIGHT) // self.LANE_HEIGHT + 1)
        rows = range(first_row, max(first_row, last_row))
        y0 = self.HEADER_HEIGHT + first_row * self.LANE_HEIGHT - top
        content = QRect(self.LABEL_WIDTH, self.HEADER_HEIGHT, width - self.LABEL_WIDTH, height - self.HEADER_HEIGHT)
        painter.save()
        painter.setClipRect(content)
        image = self._lanes_image(rows, first, ppf, content.width())
        if image is not None:
            painter.drawImage(self.LABEL_WIDTH, y0, image)
        self._paint_conflicts(painter, rows, y0, first, ppf, content.width())
        self._paint_range(painter, rows, y0)
        painter.restore()
        self._paint_labels(painter, rows, y0, height)
        self._paint_ruler(painter, first, ppf, width)
        self._paint_cursor(painter, height)

    def _lanes_image(self, rows: range, first: float, ppf: float, width: int) -> QImage | None:
        """The visible lanes as one RGB32 image (kept alive on ``self`` while Qt reads it)."""
        if not rows or width <= 0:
            return None
        states, manual = self.data.columns(rows, first, ppf, width)
        ids = self.data.order[rows.start:rows.stop]
        background = self._backgrounds[[2 if t in self._selection else (rows.start + i) % 2 for i, t in enumerate(ids)]]
        h = self.LANE_HEIGHT
        pixels = np.empty((len(ids), h, width), np.uint32)
        pixels[:] = background[:, None, None]
        bar = np.where(states >= 0, self._lut[states.astype(np.int64) + 1], background[:, None])
        # Interpolated frames are dotted (as their boxes on the canvas): every other pair of columns is a gap.
        gaps = self.data.interpolated_columns(rows, first, ppf, width) & (np.arange(width) // 2 % 2 == 1)
        bar = np.where(gaps, background[:, None], bar)
        pixels[:, 3:h - 3, :] = bar[:, None, :]
        pixels[:, h - 5:h - 3, :] = np.where(manual, self._manual, bar)[:, None, :]
        reviewed = self.data.reviewed_columns(rows, first, ppf, width)
        pixels[:, 0:2, :] = np.where(reviewed, self._reviewed, pixels[:, 0, :])[:, None, :]
        hidden = np.array([t in self._hidden for t in ids])
        if hidden.any():
            pixels[hidden] = _blend(pixels[hidden], background[hidden, None, None], HIDDEN_OPACITY)
        self._pixels = pixels.reshape(-1, width)
        return QImage(self._pixels.data, width, self._pixels.shape[0], width * 4, QImage.Format.Format_RGB32)

    def _paint_conflicts(self, painter: QPainter, rows: range, y0: int, first: float, ppf: float, width: int) -> None:
        for conflicts, color in ((self.data.resolved_conflicts, RESOLVED_CONFLICT_COLOR),
                                 (self.data.conflicts, CONFLICT_COLOR)):
            self._paint_links(painter, conflicts, QColor(color), rows, y0, first, ppf, width)

    def _paint_links(self, painter: QPainter, conflicts: np.ndarray, color: QColor, rows: range, y0: int,
                     first: float, ppf: float, width: int) -> None:
        if not rows or conflicts.size == 0:
            return
        lo = np.searchsorted(conflicts[:, 0], math.floor(first))
        hi = np.searchsorted(conflicts[:, 0], first + width / ppf, side="right")
        part = conflicts[lo:hi]
        a, b = self.data.rows_of(part[:, 1]), self.data.rows_of(part[:, 2])
        upper, lower = np.minimum(a, b), np.maximum(a, b)
        keep = (upper >= 0) & (lower >= rows.start) & (upper < rows.stop)
        x = np.round(self.LABEL_WIDTH + (part[keep, 0] - first + 0.5) * ppf).astype(np.int64)
        # Off-screen ends are pulled just outside the view: links then merge per pixel column.
        top, bottom = np.clip(upper[keep], rows.start - 1, rows.stop), np.clip(lower[keep], rows.start - 1, rows.stop)
        span = rows.stop - rows.start + 2
        keys = np.unique((x * span + top - rows.start + 1) * span + bottom - rows.start + 1)
        if keys.size == 0:
            return
        x, top, bottom = keys // (span * span), keys // span % span + rows.start - 1, keys % span + rows.start - 1
        h = self.LANE_HEIGHT
        top_y = (y0 + (top - rows.start) * h + h / 2).tolist()
        bottom_y = (y0 + (bottom - rows.start) * h + h / 2).tolist()
        x = x.tolist()
        painter.setPen(QPen(color, 1.5))
        painter.drawLines([QLineF(*line) for line in zip(x, top_y, x, bottom_y, strict=True)])
        in_view = [(end >= rows.start) & (end < rows.stop) for end in (top, bottom)]
        inside = np.concatenate(in_view)
        ends = np.stack([x + x, top_y + bottom_y], axis=1)[inside].tolist()
        painter.setPen(QPen(color, 6, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.drawPoints([QPointF(px, py) for px, py in ends])

    def _paint_range(self, painter: QPainter, rows: range, y0: int) -> None:
        selected = self.frame_range
        row = None if selected is None else self.data.rows_of(np.array([selected.track_id], np.int64))[0]
        if row is None or not rows.start <= row < rows.stop:
            return
        x0, x1 = self.x_of(selected.start), self.x_of(selected.stop)
        area = QRectF(x0, y0 + (row - rows.start) * self.LANE_HEIGHT, max(x1 - x0, 2.0), self.LANE_HEIGHT)
        color = QColor(RANGE_COLOR)
        color.setAlpha(90)
        painter.fillRect(area, color)
        painter.setPen(QPen(QColor(RANGE_COLOR), 1.5))
        painter.drawRect(area)

    def _paint_labels(self, painter: QPainter, rows: range, y0: int, height: int) -> None:
        painter.fillRect(0, self.HEADER_HEIGHT, self.LABEL_WIDTH, height, QColor(self.LANE_BACKGROUNDS[0]))
        painter.setClipRect(0, self.HEADER_HEIGHT, self.LABEL_WIDTH, height)
        h = self.LANE_HEIGHT
        for i, track_id in enumerate(self.data.order[rows.start:rows.stop]):
            y = y0 + i * h
            if track_id in self._selection:
                painter.fillRect(0, y, self.LABEL_WIDTH, h, QColor(self.SELECTED_BACKGROUND))
            color = QColor(self.data.lanes[track_id].color)
            if track_id in self._hidden:
                color.setAlphaF(HIDDEN_OPACITY)
            painter.fillRect(6, y + 5, 8, h - 10, color)
            text = "#e6edf3" if track_id in self._selection else "#484f58" if track_id in self._hidden else "#8b949e"
            painter.setPen(QColor(text))
            painter.drawText(QRect(18, y, self.LABEL_WIDTH - 20, h), Qt.AlignmentFlag.AlignVCenter, str(track_id))
        painter.setClipping(False)

    def _paint_ruler(self, painter: QPainter, first: float, ppf: float, width: int) -> None:
        painter.fillRect(0, 0, width, self.HEADER_HEIGHT, QColor(self.LANE_BACKGROUNDS[1]))
        step = _tick_step(70 / ppf)
        painter.setPen(QColor("#8b949e"))
        painter.drawText(QRect(6, 0, self.LABEL_WIDTH - 8, self.HEADER_HEIGHT), Qt.AlignmentFlag.AlignVCenter,
                         f"by {self.data.sort_key}")
        painter.setClipRect(self.LABEL_WIDTH, 0, width - self.LABEL_WIDTH, self.HEADER_HEIGHT)
        tick = math.ceil(first / step) * step
        end = min(first + (width - self.LABEL_WIDTH) / ppf, self.data.frame_count)
        while tick <= end:
            x = round(self.x_of(tick))
            painter.drawLine(x, self.HEADER_HEIGHT - 5, x, self.HEADER_HEIGHT)
            painter.drawText(x + 3, self.HEADER_HEIGHT - 6, str(tick))
            tick += step
        painter.setClipping(False)

    def _paint_cursor(self, painter: QPainter, height: int) -> None:
        if self.data.frame_count == 0:
            return  # no video: no current frame to mark
        ppf = self.px_per_frame()
        x = self.x_of(self._current)
        if x + ppf < self.LABEL_WIDTH:
            return
        color = QColor(CURSOR_COLOR)
        painter.setClipRect(self.LABEL_WIDTH, 0, self.viewport().width(), height)
        if ppf >= 3:
            color.setAlpha(70)
            painter.fillRect(QRectF(x, self.HEADER_HEIGHT, ppf, height), color)
            color.setAlpha(255)
        painter.setPen(QPen(color, 1.5))
        centre = x + ppf / 2
        painter.drawLine(QLineF(centre, 0, centre, height))
        painter.setClipping(False)

    def set_frame_range(self, frame_range: FrameRange | None) -> None:
        """Select a frame range of a lane (None: clear it)."""
        if frame_range != self.frame_range:
            self.frame_range = frame_range
            self.rangeChanged.emit(frame_range)
            self.viewport().update()

    # ------------------------------------------------------------------ input
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mousePressEvent(event)
        pos = event.position().toPoint()
        frame, track_id = self.hit_test(pos)
        on_lanes = pos.x() >= self.LABEL_WIDTH
        if on_lanes and track_id is not None and event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self._range_anchor = frame
            self.set_frame_range(FrameRange(track_id, frame, frame + 1))
            self.tracksSelected.emit([track_id])
            return
        self.set_frame_range(None)
        if on_lanes:
            self.frameRequested.emit(frame)
        if track_id is not None:
            additive = event.modifiers() & Qt.KeyboardModifier.ControlModifier
            selection = self._selection ^ {track_id} if additive else {track_id}
            self.tracksSelected.emit(sorted(selection))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._range_anchor = None
        super().mouseReleaseEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        dragging = event.buttons() & Qt.MouseButton.LeftButton
        if dragging and self._range_anchor is not None and self.frame_range is not None:
            frame = self.frame_at(event.position().x())
            start, last = sorted((self._range_anchor, frame))
            self.set_frame_range(FrameRange(self.frame_range.track_id, start, last + 1))
        elif dragging and event.position().x() >= self.LABEL_WIDTH:
            self.frameRequested.emit(self.frame_at(event.position().x()))
        frame, track_id = self.hit_test(event.position().toPoint())
        self.viewport().setToolTip(f"frame {frame}" + ("" if track_id is None else f" · track {track_id}"))

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        selected = self.frame_range
        if selected is None:
            return super().contextMenuEvent(event)
        menu = QMenu(self)
        menu.addAction(f"Delete {selected.describe().capitalize()} of Track {selected.track_id}",
                       lambda: self.deleteRangeRequested.emit(selected))
        menu.addAction("Clear Frame Range", lambda: self.set_frame_range(None))
        menu.exec(event.globalPos())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        modifiers = event.modifiers()
        if modifiers & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 ** steps, event.position().x())
        elif modifiers & Qt.KeyboardModifier.ShiftModifier:
            bar = self.horizontalScrollBar()
            bar.setValue(bar.value() - round(steps * bar.singleStep() * 3))
        else:
            super().wheelEvent(event)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_scrollbars()


def _blend(pixels: np.ndarray, background: np.ndarray, opacity: float) -> np.ndarray:
    """RGB32 ``pixels`` drawn at ``opacity`` over ``background`` (broadcastable)."""
    out = np.full(np.broadcast_shapes(pixels.shape, background.shape), 0xFF000000, np.uint32)
    for shift in (0, 8, 16):
        channel = (pixels >> shift & 0xFF) * opacity + (background >> shift & 0xFF) * (1 - opacity)
        out |= channel.astype(np.uint32) << shift
    return out


def _tick_step(min_frames: float) -> int:
    """The smallest 1-2-5 × 10^k frame step of at least ``min_frames``."""
    magnitude = 10 ** max(0, math.floor(math.log10(max(min_frames, 1))))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= min_frames:
            return int(factor * magnitude)
    return int(10 * magnitude)
