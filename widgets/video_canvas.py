"""The video canvas: a frame with its tracks' masks, boxes, labels, states and trails; zoom, pan and tools.

The canvas renders a document at one frame and emits intents: a selection, a hand-edited box, a
point or box prompt. It never changes the document or runs a model itself. Hidden tracks are not
drawn; locked tracks refuse edits (``editRefused`` says why).
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPen, QPixmap, QResizeEvent, QWheelEvent
from PySide6.QtWidgets import (
    QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView, QWidget,
)

from app.model import AnnotationModel, Observation, Scope
from widgets.canvas_items import PREVIEW_COLOR, BoxItem, LabelItem, MarkerItem, MaskOverlay, composite_masks
from widgets.canvas_tools import CanvasTools, Drag, Prompt, Tool
from widgets.label_layout import place_labels

__all__ = ["Layers", "Prompt", "PromptPreview", "Tool", "VideoCanvas"]  # callers import the tools' types from here


@dataclass(frozen=True)
class PromptPreview:
    """An interactive correction's state at ``frame``: the mask so far (bool H×W; None: none), the clicks
    with their labels and the box (xyxy), drawn over the document's tracks."""

    frame: int
    mask: np.ndarray | None
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None


@dataclass
class Layers:
    """Which overlays are drawn."""

    masks: bool = True
    boxes: bool = True
    ids: bool = True
    states: bool = True
    trails: bool = True
    labels: bool = True


class VideoCanvas(CanvasTools, QGraphicsView):
    """Shows one frame of a document; emits selections, edited boxes and prompts."""

    tracksSelected = Signal(list)
    boxEdited = Signal(int, int, tuple)  # track id, frame, (x, y, w, h)
    boxDrawn = Signal(int, tuple)  # frame, (x, y, w, h): a new track drawn by hand
    promptRequested = Signal(object)  # Prompt
    editRefused = Signal(str)  # why: the track is locked

    OVERLAY_CACHE = 12
    TRAIL_FRAMES = 30
    MAX_ZOOM = 32.0
    LABEL_POINTS = 9.0
    """Font size of the selected or hovered tracks' labels (with the category)."""
    COMPACT_POINTS = 7.5
    """Font size of the other labels (the id only)."""
    SMALL_POINTS = 6.5
    """Font size of the labels of boxes smaller than ``SMALL_BOX`` pixels on screen."""
    SMALL_BOX = 28.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setBackgroundBrush(QColor("#0d1117"))
        self.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.FullViewportUpdate)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setMouseTracking(True)
        self.layers = Layers()
        self.mask_opacity = 0.45
        self.tool = Tool.SELECT
        self._doc: AnnotationModel | None = None
        self.color_by_category = False
        """Draw tracks in their category's colour (where the label schema gives one)."""
        self._frame = -1
        self._rgb: np.ndarray | None = None
        self._observations: list[Observation] = []
        self._colors: dict[int, str] = {}
        self._labels: dict[int, str] = {}
        self._selection: list[int] = []
        self._hovered: int | None = None
        self._hidden: frozenset[int] = frozenset()
        self._locked: frozenset[int] = frozenset()
        self._overlays: OrderedDict[int, MaskOverlay | None] = OrderedDict()
        self._fit = True
        self._drag: Drag | None = None
        self._frame_item = QGraphicsPixmapItem()
        self._frame_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._mask_item = QGraphicsPixmapItem()
        self._mask_item.setZValue(1)
        self.scene().addItem(self._frame_item)
        self.scene().addItem(self._mask_item)
        self._track_items: list[QGraphicsItem] = []
        self._preview: PromptPreview | None = None
        self._preview_items: list[QGraphicsItem] = []
        self._label_items: list[LabelItem] = []
        for bar in (self.horizontalScrollBar(), self.verticalScrollBar()):
            bar.valueChanged.connect(lambda _value: self._add_labels())  # labels stay inside the view when panned

    # ------------------------------------------------------------------ data
    def set_document(self, doc: AnnotationModel | None) -> None:
        self._doc = doc
        self._fit = True  # a new video starts fitted, whatever the zoom of the last one
        self._frame = -1
        self._rgb = None
        self._selection = []
        self._preview = None
        self._observations = []
        self.invalidate()
        self._clear_tracks()
        self._add_labels()
        self._frame_item.setPixmap(QPixmap())
        self._mask_item.setPixmap(QPixmap())

    def invalidate(self, scope: Scope | None = None) -> None:
        """Forget cached overlays and track names/colours touched by a document change."""
        if self._doc is not None:
            names = self._doc.categories()
            tracks = self._doc.tracks()
            self._colors = self._doc.track_colors(by_category=self.color_by_category)
            self._labels = {t.id: names.get(t.category_id, "") if t.category_id is not None else "" for t in tracks}
        if scope is None:
            self._overlays.clear()
            return
        stop = scope.stop if scope.stop is not None else float("inf")
        for frame in [f for f in self._overlays if scope.start <= f < stop]:
            del self._overlays[frame]

    def show_frame(self, frame: int, rgb: np.ndarray) -> None:
        """Display a frame (RGB uint8) with the document's tracks at that frame."""
        self._frame, self._rgb = frame, rgb
        height, width = rgb.shape[:2]
        image = QImage(rgb.data, width, height, rgb.strides[0], QImage.Format.Format_RGB888)
        self._frame_item.setPixmap(QPixmap.fromImage(image))
        self.scene().setSceneRect(0, 0, width, height)
        if self._fit:
            self.fitInView(self._frame_item, Qt.AspectRatioMode.KeepAspectRatio)
        self.refresh()

    def refresh(self) -> None:
        """Redraw the current frame's tracks from the document (after a change or a toggle)."""
        if self._doc is None or self._rgb is None:
            return
        self._observations = [o for o in self._doc.observations_at(self._frame) if o.track_id not in self._hidden]
        overlay = self._overlay(self._frame) if self.layers.masks else None
        if overlay is None:
            self._mask_item.setPixmap(QPixmap())
        else:
            self._mask_item.setPixmap(QPixmap.fromImage(overlay.image))
            self._mask_item.setScale(self._rgb.shape[1] / overlay.image.width())
        self._clear_tracks()
        if self.layers.trails:
            self._add_trails()
        if self.layers.boxes or self.layers.ids or self.layers.states:
            self._add_boxes()
        self._add_preview()
        self._add_labels()
        self.viewport().update()

    def _overlay(self, frame: int) -> MaskOverlay | None:
        if frame in self._overlays:
            self._overlays.move_to_end(frame)
            return self._overlays[frame]
        overlay = composite_masks(self._observations, self._colors, self.mask_opacity)
        self._overlays[frame] = overlay
        while len(self._overlays) > self.OVERLAY_CACHE:
            self._overlays.popitem(last=False)
        return overlay

    def _clear_tracks(self) -> None:
        for item in self._track_items:
            self.scene().removeItem(item)
        self._track_items = []

    def _add_boxes(self) -> None:
        editing = self.tool == Tool.EDIT_BOX
        for obs in self._observations:
            color = QColor(self._colors.get(obs.track_id, "#ffffff"))
            selected = obs.track_id in self._selection
            item = BoxItem(obs, color, selected, editing)
            item.setZValue(3 if selected else 2)
            if not self.layers.boxes:
                item.setPen(QPen(Qt.PenStyle.NoPen))
            self.scene().addItem(item)
            self._track_items.append(item)

    def set_prompt_preview(self, preview: PromptPreview | None) -> None:
        """Show an interactive correction's mask and prompts (None: none)."""
        self._preview = preview
        self.refresh()

    def _add_preview(self) -> None:
        for item in self._preview_items:
            self.scene().removeItem(item)
        self._preview_items = []
        preview = self._preview
        if preview is None or preview.frame != self._frame:
            return
        items = []
        if preview.mask is not None:
            h, w = preview.mask.shape
            color = QColor(PREVIEW_COLOR)
            rgba = np.zeros((h, w, 4), np.uint8)
            rgba[preview.mask] = (color.red(), color.green(), color.blue(), 150)
            item = QGraphicsPixmapItem(QPixmap.fromImage(QImage(rgba.data, w, h, w * 4,
                                                                QImage.Format.Format_RGBA8888).copy()))
            item.setScale(self._rgb.shape[1] / w)
            items.append(item)
        if preview.box is not None:
            x1, y1, x2, y2 = preview.box
            item = QGraphicsRectItem(QRectF(QPointF(x1, y1), QPointF(x2, y2)))
            pen = QPen(QColor(PREVIEW_COLOR), 2.0, Qt.PenStyle.DashLine)
            pen.setCosmetic(True)
            item.setPen(pen)
            items.append(item)
        for (x, y), label in zip(preview.points, preview.labels):
            items.append(MarkerItem(QPointF(x, y), positive=label == 1))
        for item in items:
            item.setZValue(6)
            self.scene().addItem(item)
        self._preview_items = items
    def _add_labels(self) -> None:
        """(Re)place the labels: each beside its box on screen, inside the view, off the other labels and
        off small objects. The selected and hovered tracks' labels come first, full size, with the category;
        the others are compact (the id only), smaller still on small boxes."""
        for label in self._label_items:
            self.scene().removeItem(label)
        self._label_items = []
        if not self.layers.labels or not (self.layers.ids or self.layers.states) or not self._observations:
            return
        boxes, labels = [], []
        for obs in self._observations:
            rect = self.mapFromScene(QRectF(*obs.box)).boundingRect()
            boxes.append((rect.x(), rect.y(), rect.width(), rect.height()))
            expanded = obs.track_id in self._selection or obs.track_id == self._hovered
            text = str(obs.track_id) if self.layers.ids else ""
            if text and expanded and self._labels.get(obs.track_id):
                text += f" {self._labels[obs.track_id]}"
            small = min(rect.width(), rect.height()) < self.SMALL_BOX
            points = self.LABEL_POINTS if expanded else self.SMALL_POINTS if small else self.COMPACT_POINTS
            color = QColor(self._colors.get(obs.track_id, "#ffffff"))
            labels.append(LabelItem(obs.track_id, text, color, obs.state if self.layers.states else None, points))
        first = {t: rank for rank, t in enumerate([*self._selection, self._hovered])}
        order = sorted(range(len(labels)), key=lambda i: first.get(labels[i].track_id, len(first)))
        sizes = [(label.boundingRect().width(), label.boundingRect().height()) for label in labels]
        view = (self.viewport().width(), self.viewport().height())
        for label, (x, y) in zip(labels, place_labels(boxes, sizes, view, order), strict=True):
            label.setPos(self.mapToScene(round(x), round(y)))
            label.setZValue(4 if label.track_id in first else 3.5)
            self.scene().addItem(label)
            self._label_items.append(label)

    def labels(self) -> dict[int, QRectF]:
        """Each shown label's rectangle in viewport pixels, by track."""
        return {label.track_id: QRectF(QPointF(self.mapFromScene(label.pos())), label.boundingRect().size())
                for label in self._label_items}

    def _add_trails(self) -> None:
        start = max(0, self._frame - self.TRAIL_FRAMES)
        visible = {obs.track_id for obs in self._observations}
        paths: dict[int, QPainterPath] = {}
        for obs in self._doc.iter_observations(start, self._frame + 1):
            if obs.track_id not in visible:
                continue
            x, y, w, h = obs.box
            point = QPointF(x + w / 2, y + h)
            path = paths.get(obs.track_id)
            if path is None:
                paths[obs.track_id] = path = QPainterPath(point)
            else:
                path.lineTo(point)
        for track_id, path in paths.items():
            color = QColor(self._colors.get(track_id, "#ffffff"))
            color.setAlpha(200)
            pen = QPen(color, 2)
            pen.setCosmetic(True)
            item = QGraphicsPathItem(path)
            item.setPen(pen)
            item.setZValue(1.5)
            self.scene().addItem(item)
            self._track_items.append(item)

    # ------------------------------------------------------------------ state
    def observations(self) -> list[Observation]:
        """The observations shown at the current frame."""
        return list(self._observations)

    def set_selection(self, track_ids: list[int]) -> None:
        self._selection = list(track_ids)
        self.refresh()

    def set_view_state(self, hidden: frozenset[int], locked: frozenset[int]) -> None:
        """Tracks not drawn and tracks whose boxes cannot be edited here."""
        if hidden != self._hidden:
            self._hidden = hidden
            self._overlays.clear()  # the masks are composited from the drawn tracks only
        self._locked = locked
        self.refresh()

    def set_tool(self, tool: Tool) -> None:
        self.tool = tool
        cursor = Qt.CursorShape.ArrowCursor if tool in (Tool.SELECT, Tool.EDIT_BOX) else Qt.CursorShape.CrossCursor
        self.viewport().setCursor(cursor)
        self.refresh()

    def set_layers(self, **layers: bool) -> None:
        """Toggle overlays by name (``masks``, ``boxes``, ``ids``, ``states``, ``trails``, ``labels``)."""
        for name, value in layers.items():
            if not hasattr(self.layers, name):
                raise ValueError(f"unknown layer {name!r}")
            setattr(self.layers, name, value)
        self.refresh()

    # ------------------------------------------------------------------ zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        factor = min(max(factor, 0.05 / self.zoom()), self.MAX_ZOOM / self.zoom())
        self._fit = False
        self.scale(factor, factor)
        self._add_labels()

    def zoom_fit(self) -> None:
        self._fit = True
        self.fitInView(self._frame_item, Qt.AspectRatioMode.KeepAspectRatio)
        self._add_labels()

    def zoom_actual(self) -> None:
        """One video pixel per screen pixel."""
        self.zoom_by(1.0 / self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        self.zoom_by(1.2 ** (event.angleDelta().y() / 120))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._fit:
            self.fitInView(self._frame_item, Qt.AspectRatioMode.KeepAspectRatio)
        self._add_labels()
