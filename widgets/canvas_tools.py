"""The video canvas's tools: what a click or drag does (select, edit a box, draw one, prompt with points or a
box), hit-testing, and the intents it emits. ``CanvasTools`` handles the mouse of ``widgets.video_canvas.VideoCanvas``."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem

from tracker.geometry import box_iou, xywh_to_xyxy
from widgets.canvas_items import BoxItem


class Tool(enum.Enum):
    """What a left click or drag on the canvas does."""

    SELECT = "select"
    EDIT_BOX = "edit box"
    POSITIVE_POINT = "positive point"
    NEGATIVE_POINT = "negative point"
    BOX_PROMPT = "box prompt"


@dataclass(frozen=True)
class Prompt:
    """A SAM2 prompt at a frame: points ``(x, y)`` with labels (1 positive, 0 negative) and/or a box
    ``(x1, y1, x2, y2)``. ``track_id`` is the selected track it is for; None: no track is selected."""

    frame: int
    track_id: int | None
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None


@dataclass
class Drag:
    """A mouse drag in progress: what it does and where it started (scene coordinates)."""

    kind: str  # "pan", "move", "handle", "box"
    start: QPointF
    rect: QRectF = field(default_factory=QRectF)
    handle: int = -1
    item: QGraphicsItem | None = None


class CanvasTools:
    """The mouse and keys of the video canvas (a mixin of ``VideoCanvas``, whose state and signals it uses):
    selecting, panning, editing and drawing boxes, point and box prompts; locked tracks refuse edits."""

    def _refuse_locked(self, track_id: int | None) -> bool:
        """Whether ``track_id`` is locked (then ``editRefused`` says so)."""
        if track_id is None or track_id not in self._locked:
            return False
        self.editRefused.emit(f"Track {track_id} is locked: unlock it to edit it")
        return True

    # ------------------------------------------------------------------ hit-testing
    def track_at(self, scene_pos: QPointF) -> int | None:
        """The track under a scene point: its mask pixel first, else the smallest box containing it."""
        x, y = scene_pos.x(), scene_pos.y()
        overlay = self._overlays.get(self._frame) if self.layers.masks else None
        if overlay is not None:
            scale = self._mask_item.scale()
            track_id = overlay.track_at(x / scale, y / scale)
            if track_id is not None:
                return track_id
        inside = [obs for obs in self._observations if QRectF(*obs.box).contains(x, y)]
        return min(inside, key=lambda obs: obs.box[2] * obs.box[3]).track_id if inside else None

    def _box_item(self, track_id: int) -> BoxItem | None:
        return next((i for i in self._track_items if isinstance(i, BoxItem) and i.track_id == track_id), None)

    def _handle_at(self, item: BoxItem, scene_pos: QPointF) -> int:
        """Index of the handle under a scene point (-1: none)."""
        reach = BoxItem.HANDLE / self.zoom()
        for index, point in enumerate(item.handle_points()):
            if abs(point.x() - scene_pos.x()) <= reach and abs(point.y() - scene_pos.y()) <= reach:
                return index
        return -1

    # ------------------------------------------------------------------ mouse
    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = self.mapToScene(event.position().toPoint())
        if event.button() == Qt.MouseButton.MiddleButton:
            self._drag = Drag("pan", QPointF(event.position()))
            return
        point_tool = self.tool in (Tool.POSITIVE_POINT, Tool.NEGATIVE_POINT)
        if event.button() == Qt.MouseButton.RightButton and point_tool and self._rgb is not None:
            self._point_prompt(pos, positive=False)  # right click: negative, whichever point tool
            return
        if event.button() != Qt.MouseButton.LeftButton or self._rgb is None:
            return super().mousePressEvent(event)
        additive = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
        if point_tool:
            inverted = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)  # Shift: the other label
            self._point_prompt(pos, positive=(self.tool == Tool.POSITIVE_POINT) != inverted)
        elif self.tool == Tool.BOX_PROMPT:
            self._begin_rubber_band(pos)
        elif self.tool == Tool.EDIT_BOX:
            if self._start_box_edit(pos):
                return
            if self.track_at(pos) is None:
                self._begin_rubber_band(pos)  # a new box by hand
            else:
                self._select_at(pos, additive)
        else:
            self._select_at(pos, additive)
            if self.track_at(pos) is None:
                self._drag = Drag("pan", QPointF(event.position()))

    def _begin_rubber_band(self, pos: QPointF) -> None:
        item = QGraphicsRectItem(QRectF(pos, pos))
        pen = QPen(QColor("#ffffff"), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        item.setPen(pen)
        item.setZValue(5)
        self.scene().addItem(item)
        self._drag = Drag("box", pos, QRectF(pos, pos), item=item)

    def _start_box_edit(self, pos: QPointF) -> bool:
        """Begin dragging a handle or the body of the selected box under ``pos``."""
        for track_id in self._selection:
            item = self._box_item(track_id)
            if item is None:
                continue
            handle = self._handle_at(item, pos)
            if handle >= 0 or item.rect().contains(pos):
                if self._refuse_locked(track_id):
                    return True  # the press is answered: no drag, no new box
                self._drag = Drag("handle" if handle >= 0 else "move", pos, item.rect(), handle, item)
                return True
        return False

    def _select_at(self, pos: QPointF, additive: bool) -> None:
        track_id = self.track_at(pos)
        if additive and track_id is not None:
            selection = [t for t in self._selection if t != track_id]
            if track_id not in self._selection:
                selection.append(track_id)
        else:
            selection = [] if track_id is None else [track_id]
        self.tracksSelected.emit(selection)

    def _point_prompt(self, pos: QPointF, positive: bool) -> None:
        """A click for the selected track (none selected: a new track), wherever it lands."""
        target = self._selection[0] if self._selection else None
        if self._refuse_locked(target):
            return
        point = (float(pos.x()), float(pos.y()))
        self.promptRequested.emit(Prompt(self._frame, target, (point,), (1 if positive else 0,)))

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        drag = self._drag
        if drag is None:
            self._hover(self.track_at(self.mapToScene(event.position().toPoint())) if self._rgb is not None else None)
            return super().mouseMoveEvent(event)
        if drag.kind == "pan":
            delta = event.position() - drag.start
            drag.start = QPointF(event.position())
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
            return
        pos = self.mapToScene(event.position().toPoint())
        if drag.kind == "box":
            drag.item.setRect(QRectF(drag.start, pos).normalized())
        elif drag.kind == "move":
            drag.item.setRect(drag.rect.translated(pos - drag.start))
        else:
            drag.item.setRect(_resize(drag.rect, drag.handle, pos))

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        drag, self._drag = self._drag, None
        if drag is None:
            return super().mouseReleaseEvent(event)
        if drag.kind == "box":
            rect = drag.item.rect()
            self.scene().removeItem(drag.item)
            if rect.width() >= 2 and rect.height() >= 2:
                if self.tool == Tool.BOX_PROMPT:
                    self._box_prompt(rect)
                else:
                    self.boxDrawn.emit(self._frame, (rect.x(), rect.y(), rect.width(), rect.height()))
        elif drag.kind in ("move", "handle"):
            rect = drag.item.rect().normalized()
            if rect != drag.rect and rect.width() >= 1 and rect.height() >= 1:
                box = (rect.x(), rect.y(), rect.width(), rect.height())
                self.boxEdited.emit(drag.item.track_id, self._frame, box)

    def _hover(self, track_id: int | None) -> None:
        """Expand the label of the track under the pointer."""
        if track_id != self._hovered:
            self._hovered = track_id
            self._add_labels()

    def leaveEvent(self, event: QEvent) -> None:
        self._hover(None)
        super().leaveEvent(event)

    def _box_prompt(self, rect: QRectF) -> None:
        """A drawn box prompts the selected track; with none selected, the track whose box it overlaps most
        (IoU ≥ 0.5), else it starts one."""
        box = (rect.left(), rect.top(), rect.right(), rect.bottom())
        best = self._selection[0] if self._selection else None
        if best is None and self._observations:
            ious = box_iou(box, xywh_to_xyxy(np.array([obs.box for obs in self._observations])))[0]
            best_iou = 0.5
            for obs, iou in zip(self._observations, ious):
                if iou >= best_iou:
                    best, best_iou = obs.track_id, iou
        if self._refuse_locked(best):
            return
        self.promptRequested.emit(Prompt(self._frame, best, box=box))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self._drag is not None:
            if self._drag.kind == "box":
                self.scene().removeItem(self._drag.item)
            elif self._drag.item is not None:
                self._drag.item.setRect(self._drag.rect)
            self._drag = None
            return
        super().keyPressEvent(event)


def _resize(rect: QRectF, handle: int, pos: QPointF) -> QRectF:
    """``rect`` with the edges of handle ``handle`` (see ``BoxItem.handle_points``) moved to ``pos``."""
    left, top, right, bottom = rect.left(), rect.top(), rect.right(), rect.bottom()
    if handle in (0, 6, 7):
        left = pos.x()
    if handle in (2, 3, 4):
        right = pos.x()
    if handle in (0, 1, 2):
        top = pos.y()
    if handle in (4, 5, 6):
        bottom = pos.y()
    return QRectF(QPointF(left, top), QPointF(right, bottom)).normalized()
