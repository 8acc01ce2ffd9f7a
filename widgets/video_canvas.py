"""The video canvas: a frame with its tracks' masks, boxes, labels, states and trails; zoom, pan and tools.

The canvas renders a document at one frame and emits intents: a selection, a hand-edited box, a
point or box prompt. It never changes the document or runs a model itself. Hidden tracks are not
drawn; locked tracks refuse edits (``editRefused`` says why).
"""
from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor, QFont, QFontMetricsF, QImage, QKeyEvent, QMouseEvent, QPainter, QPainterPath, QPen, QPixmap,
    QResizeEvent, QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem, QGraphicsPathItem, QGraphicsPixmapItem, QGraphicsRectItem, QGraphicsScene, QGraphicsView,
    QStyleOptionGraphicsItem, QWidget,
)

from app.model import AnnotationModel, Observation, Scope, Source
from tracker.geometry import box_iou, decode_mask, xywh_to_xyxy
from tracker.results import ObjectState
from widgets.label_layout import place_labels
from widgets.style import STATE_COLORS, STATE_LETTERS


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


@dataclass(frozen=True)
class PromptPreview:
    """An interactive correction's state at ``frame``: the mask so far (bool H×W; None: none), the clicks
    with their labels and the box (xyxy), drawn over the document's tracks."""

    frame: int
    mask: np.ndarray | None
    points: tuple[tuple[float, float], ...] = ()
    labels: tuple[int, ...] = ()
    box: tuple[float, float, float, float] | None = None


PREVIEW_COLOR = "#00e5ff"
MARKER_COLORS = {1: "#2ea043", 0: "#f85149"}  # positive: green +, negative: red −


@dataclass
class Layers:
    """Which overlays are drawn."""

    masks: bool = True
    boxes: bool = True
    ids: bool = True
    states: bool = True
    trails: bool = True
    labels: bool = True


@dataclass
class _Overlay:
    """A frame's composited masks and which track owns each mask pixel (for hit-testing)."""

    image: QImage
    owner: np.ndarray  # uint16 H×W: 0 background, i + 1 → track_ids[i]
    track_ids: list[int] = field(default_factory=list)

    def track_at(self, x: float, y: float) -> int | None:
        """The track owning mask pixel ``(x, y)`` (mask coordinates), if any."""
        row, col = int(y), int(x)
        if not (0 <= row < self.owner.shape[0] and 0 <= col < self.owner.shape[1]):
            return None
        index = int(self.owner[row, col])
        return self.track_ids[index - 1] if index else None


def composite_masks(
    observations: list[Observation], colors: dict[int, str], opacity: float
) -> _Overlay | None:
    """Decode the observations' masks into one translucent RGBA image (later tracks on top)."""
    with_mask = [obs for obs in observations if obs.mask is not None]
    if not with_mask:
        return None
    h, w = with_mask[0].mask.height, with_mask[0].mask.width
    owner = np.zeros((h, w), np.uint16)
    for index, obs in enumerate(with_mask, 1):
        if (obs.mask.height, obs.mask.width) == (h, w):
            x, y, bw, bh = (int(v) for v in mask_utils.toBbox(obs.mask.to_coco()))  # only where the mask is
            np.copyto(owner[y:y + bh, x:x + bw], index, where=decode_mask(obs.mask)[y:y + bh, x:x + bw])
    lut = np.zeros((len(with_mask) + 1, 4), np.uint8)
    for index, obs in enumerate(with_mask, 1):
        color = QColor(colors.get(obs.track_id, "#ffffff"))
        lut[index] = (color.red(), color.green(), color.blue(), round(255 * opacity))
    rgba = np.take(lut.view(np.uint32).ravel(), owner)  # one RGBA8888 pixel per mask pixel
    image = QImage(rgba.data, w, h, w * 4, QImage.Format.Format_RGBA8888).copy()
    return _Overlay(image, owner, [obs.track_id for obs in with_mask])


class _Label(QGraphicsItem):
    """A track's id (and category) with its state badge; constant size on screen, its top-left at its position."""

    def __init__(self, track_id: int, text: str, color: QColor, state: ObjectState | None, points: float) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.track_id = track_id
        self._text, self._color, self._state = text, color, state
        self._font = QFont("Sans", 1, QFont.Weight.DemiBold)
        self._font.setPointSizeF(points)
        metrics = QFontMetricsF(self._font)
        height = round(metrics.height() + 3)
        badge = 0 if state is None else height - 1
        padding = 8 if text else 2
        self._rect = QRectF(0, 0, (metrics.horizontalAdvance(text) if text else 0) + padding + badge, height)

    def boundingRect(self) -> QRectF:
        return self._rect

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self._color)
        painter.drawRoundedRect(self._rect, 3, 3)
        painter.setFont(self._font)
        dark = self._color.lightnessF() > 0.55
        painter.setPen(QColor("#0d1117" if dark else "#ffffff"))
        text_rect = self._rect.adjusted(4, 0, 0, 0)
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignVCenter, self._text)
        if self._state is not None:
            size = self._rect.height() - 5
            badge = QRectF(self._rect.right() - size - 2.5, self._rect.top() + 2.5, size, size)
            painter.setPen(QPen(QColor("#0d1117"), 1))
            painter.setBrush(QColor(STATE_COLORS[self._state]))
            painter.drawEllipse(badge)
            letters = QFont(self._font)
            letters.setPointSizeF(self._font.pointSizeF() * 0.75)
            letters.setBold(True)
            painter.setFont(letters)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, STATE_LETTERS[self._state])


class _Marker(QGraphicsItem):
    """A click of an interactive correction: a green + (positive) or a red − (negative); constant size."""

    RADIUS = 8.0

    def __init__(self, pos: QPointF, positive: bool) -> None:
        super().__init__()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setPos(pos)
        self.positive = positive

    def boundingRect(self) -> QRectF:
        r = self.RADIUS + 1
        return QRectF(-r, -r, 2 * r, 2 * r)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        r = self.RADIUS
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor("#ffffff"), 1.5))
        painter.setBrush(QColor(MARKER_COLORS[int(self.positive)]))
        painter.drawEllipse(QPointF(0, 0), r, r)
        painter.setPen(QPen(QColor("#ffffff"), 2.0))
        painter.drawLine(QPointF(-r / 2, 0), QPointF(r / 2, 0))
        if self.positive:
            painter.drawLine(QPointF(0, -r / 2), QPointF(0, r / 2))


class BoxItem(QGraphicsRectItem):
    """One observation's box; dashed when lost, thick with handles when selected for editing."""

    HANDLE = 7.0  # px on screen

    def __init__(self, obs: Observation, color: QColor, selected: bool, handles: bool) -> None:
        x, y, w, h = obs.box
        super().__init__(x, y, w, h)
        self.track_id = obs.track_id
        self.handles = handles and selected
        pen = QPen(color, 3.0 if selected else 1.8)
        pen.setCosmetic(True)
        if obs.state == ObjectState.LOST:
            pen.setStyle(Qt.PenStyle.DashLine)
        if obs.source == Source.MANUAL:  # outlined, not filled: the object just edited stays visible
            pen.setStyle(Qt.PenStyle.DashDotLine)
            pen.setWidthF(pen.widthF() + 1.0)
        elif obs.source == Source.INTERPOLATED:
            pen.setStyle(Qt.PenStyle.DotLine)
        self.setPen(pen)

    def handle_points(self) -> list[QPointF]:
        """The 8 handles: corners and edge midpoints, clockwise from the top-left."""
        r = self.rect()
        xs, ys = (r.left(), r.center().x(), r.right()), (r.top(), r.center().y(), r.bottom())
        return [QPointF(xs[i], ys[j]) for i, j in ((0, 0), (1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (0, 2), (0, 1))]

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        super().paint(painter, option, widget)
        if not self.handles:
            return
        scale = painter.worldTransform().m11() or 1.0
        size = self.HANDLE / scale
        painter.setPen(QPen(QColor("#0d1117"), 1 / scale))
        painter.setBrush(QColor("#ffffff"))
        for point in self.handle_points():
            painter.drawRect(QRectF(point.x() - size / 2, point.y() - size / 2, size, size))


@dataclass
class _Drag:
    """A mouse drag in progress: what it does and where it started (scene coordinates)."""

    kind: str  # "pan", "move", "handle", "box"
    start: QPointF
    rect: QRectF = field(default_factory=QRectF)
    handle: int = -1
    item: QGraphicsItem | None = None


class VideoCanvas(QGraphicsView):
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
        self._overlays: OrderedDict[int, _Overlay | None] = OrderedDict()
        self._fit = True
        self._drag: _Drag | None = None
        self._frame_item = QGraphicsPixmapItem()
        self._frame_item.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self._mask_item = QGraphicsPixmapItem()
        self._mask_item.setZValue(1)
        self.scene().addItem(self._frame_item)
        self.scene().addItem(self._mask_item)
        self._track_items: list[QGraphicsItem] = []
        self._preview: PromptPreview | None = None
        self._preview_items: list[QGraphicsItem] = []
        self._label_items: list[_Label] = []
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
        end = scope.end if scope.end is not None else float("inf")
        for frame in [f for f in self._overlays if scope.start <= f <= end]:
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

    def _overlay(self, frame: int) -> _Overlay | None:
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
            items.append(_Marker(QPointF(x, y), positive=label == 1))
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
            labels.append(_Label(obs.track_id, text, color, obs.state if self.layers.states else None, points))
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
        for obs in self._doc.iter_observations(start, self._frame):
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

    def _refuse_locked(self, track_id: int | None) -> bool:
        """Whether ``track_id`` is locked (then ``editRefused`` says so)."""
        if track_id is None or track_id not in self._locked:
            return False
        self.editRefused.emit(f"Track {track_id} is locked: unlock it to edit it")
        return True

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
            self._drag = _Drag("pan", QPointF(event.position()))
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
                self._drag = _Drag("pan", QPointF(event.position()))

    def _begin_rubber_band(self, pos: QPointF) -> None:
        item = QGraphicsRectItem(QRectF(pos, pos))
        pen = QPen(QColor("#ffffff"), 1.5, Qt.PenStyle.DashLine)
        pen.setCosmetic(True)
        item.setPen(pen)
        item.setZValue(5)
        self.scene().addItem(item)
        self._drag = _Drag("box", pos, QRectF(pos, pos), item=item)

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
                self._drag = _Drag("handle" if handle >= 0 else "move", pos, item.rect(), handle, item)
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

