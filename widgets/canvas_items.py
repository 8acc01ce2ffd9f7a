"""What the video canvas draws: the masks composited into one image, and its graphics items (a track's label
with its state badge, a correction's click marker, an observation's box with its handles)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QStyleOptionGraphicsItem, QWidget

from app.model import Observation, Source
from tracker.geometry import decode_mask
from tracker.results import ObjectState
from widgets.style import STATE_COLORS, STATE_LETTERS

PREVIEW_COLOR = "#00e5ff"
MARKER_COLORS = {1: "#2ea043", 0: "#f85149"}  # positive: green +, negative: red −


@dataclass
class MaskOverlay:
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
) -> MaskOverlay | None:
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
    return MaskOverlay(image, owner, [obs.track_id for obs in with_mask])


class LabelItem(QGraphicsItem):
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


class MarkerItem(QGraphicsItem):
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
