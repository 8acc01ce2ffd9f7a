"""The video canvas: mask overlays, selection by click, box editing with handles, prompts, layers, labels,
hidden and locked tracks."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor

from app.document import Document, Observation
from tracker.geometry import encode_mask
from tracker.results import ObjectState
from tracker.video import VideoInfo
from widgets.canvas_items import MarkerItem, composite_masks
from widgets.video_canvas import Prompt, PromptPreview, Tool, VideoCanvas

H, W = 120, 200


def _mask(x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((H, W), bool)
    mask[y0:y1, x0:x1] = True
    return mask


@pytest.fixture
def doc() -> Document:
    """Track 1: masked square at (20..60, 20..60); track 2: a box without mask at (120..180, 30..90)."""
    doc = Document.in_memory(VideoInfo(Path("v.mp4"), "v", 3, 30.0, W, H))
    doc.add_observations([
        Observation(frame=0, track_id=1, box=(20, 20, 40, 40), mask=encode_mask(_mask(20, 20, 60, 60))),
        Observation(frame=0, track_id=2, box=(120, 30, 60, 60), state=ObjectState.LOST),
        Observation(frame=1, track_id=1, box=(22, 20, 40, 40)),
    ])
    return doc


@pytest.fixture
def canvas(qtbot, doc: Document) -> VideoCanvas:
    view = VideoCanvas()
    qtbot.addWidget(view)
    view.resize(2 * W + 4, 2 * H + 4)
    view.show()
    view.set_document(doc)
    view.show_frame(0, np.zeros((H, W, 3), np.uint8))
    return view


def _at(view: VideoCanvas, x: float, y: float) -> QPoint:
    return view.mapFromScene(QPointF(x, y))


def test_composite_masks_paints_each_track_in_its_colour(doc: Document) -> None:
    observations = doc.observations_at(0) + [
        Observation(frame=0, track_id=3, box=(40, 40, 40, 40), mask=encode_mask(_mask(40, 40, 80, 80)))
    ]
    overlay = composite_masks(observations, {1: "#ff0000", 3: "#0000ff"}, 0.5)
    assert overlay.track_ids == [1, 3]
    pixel = overlay.image.pixelColor(30, 30)
    assert (pixel.red(), pixel.green(), pixel.blue(), pixel.alpha()) == (255, 0, 0, 128)
    assert overlay.image.pixelColor(50, 50).blue() == 255  # the later track is on top
    assert overlay.image.pixelColor(150, 50).alpha() == 0
    assert (overlay.track_at(30, 30), overlay.track_at(50, 50), overlay.track_at(150, 50)) == (1, 3, None)
    assert composite_masks(doc.observations_at(1), {}, 0.5) is None


def test_click_on_a_mask_or_a_box_selects_its_track(qtbot, canvas: VideoCanvas) -> None:
    selections = []
    canvas.tracksSelected.connect(selections.append)
    for x, y in ((25, 25), (150, 80), (100, 5)):
        qtbot.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton, pos=_at(canvas, x, y))
    assert selections == [[1], [2], []]


def test_dragging_a_handle_emits_the_edited_box(qtbot, canvas: VideoCanvas) -> None:
    canvas.set_tool(Tool.EDIT_BOX)
    canvas.set_selection([1])
    edits = []
    canvas.boxEdited.connect(lambda *args: edits.append(args))
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 60, 60))  # bottom-right handle
    qtbot.mouseMove(viewport, _at(canvas, 70, 80))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 70, 80))
    track, frame, box = edits[0]
    assert (track, frame) == (1, 0)
    assert np.allclose(box, (20, 20, 50, 60), atol=1.0)


def test_dragging_a_box_body_moves_it_and_empty_space_draws_a_new_track(qtbot, canvas: VideoCanvas) -> None:
    canvas.set_tool(Tool.EDIT_BOX)
    canvas.set_selection([2])
    edits, drawn = [], []
    canvas.boxEdited.connect(lambda *args: edits.append(args))
    canvas.boxDrawn.connect(lambda *args: drawn.append(args))
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 150, 60))
    qtbot.mouseMove(viewport, _at(canvas, 140, 50))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 140, 50))
    assert np.allclose(edits[0][2], (110, 20, 60, 60), atol=1.0)
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 70, 70))
    qtbot.mouseMove(viewport, _at(canvas, 100, 110))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 100, 110))
    assert drawn[0][0] == 0 and np.allclose(drawn[0][1], (70, 70, 30, 40), atol=1.0)


def test_point_prompts_are_for_the_selected_track_and_right_or_shift_clicks_are_negative(
    qtbot, canvas: VideoCanvas
) -> None:
    prompts: list[Prompt] = []
    canvas.promptRequested.connect(prompts.append)
    viewport = canvas.viewport()
    canvas.set_tool(Tool.POSITIVE_POINT)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 30, 40))  # nothing selected: none
    qtbot.mouseClick(viewport, Qt.MouseButton.RightButton, pos=_at(canvas, 100, 100))
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier, _at(canvas, 100, 100))
    canvas.set_selection([2])
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 30, 40))  # on track 1's mask: for 2
    canvas.set_tool(Tool.NEGATIVE_POINT)
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 100, 100))
    assert [(p.track_id, p.labels) for p in prompts] == [(None, (1,)), (None, (0,)), (None, (0,)), (2, (1,)), (2, (0,))]
    assert np.allclose(prompts[0].points[0], (30, 40), atol=1.0)


def test_the_prompt_preview_shows_its_mask_and_markers_at_its_frame_only(qtbot, canvas: VideoCanvas) -> None:
    def shown() -> list:
        return [item for item in canvas.scene().items() if item.zValue() == 6]

    preview = PromptPreview(0, _mask(80, 10, 100, 30), ((90.0, 20.0), (95.0, 25.0)), (1, 0), (70.0, 5.0, 110.0, 40.0))
    canvas.set_prompt_preview(preview)
    markers = [item for item in shown() if isinstance(item, MarkerItem)]
    assert sorted(m.positive for m in markers) == [False, True] and len(shown()) == 4  # mask, box, two markers
    assert canvas.grab().toImage().pixelColor(_at(canvas, 90, 12)).blue() > 100  # the preview's mask is drawn
    canvas.show_frame(1, np.zeros((H, W, 3), np.uint8))
    assert shown() == []
    canvas.show_frame(0, np.zeros((H, W, 3), np.uint8))
    canvas.set_prompt_preview(None)
    assert shown() == []


def test_box_prompt_is_for_the_selected_track_else_an_overlapping_one_or_a_new_one(
    qtbot, canvas: VideoCanvas
) -> None:
    prompts: list[Prompt] = []
    canvas.promptRequested.connect(prompts.append)
    canvas.set_tool(Tool.BOX_PROMPT)
    viewport = canvas.viewport()
    for (x0, y0), (x1, y1) in (((118, 28), (178, 92)), ((70, 70), (110, 110))):
        qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, x0, y0))
        qtbot.mouseMove(viewport, _at(canvas, x1, y1))
        qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, x1, y1))
    canvas.set_selection([1])
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 118, 28))  # over track 2: for 1
    qtbot.mouseMove(viewport, _at(canvas, 178, 92))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 178, 92))
    assert [p.track_id for p in prompts] == [2, None, 1]
    assert np.allclose(prompts[1].box, (70, 70, 110, 110), atol=1.0)


def test_layers_toggle_what_is_drawn(canvas: VideoCanvas) -> None:
    def colour_at(x: int, y: int) -> QColor:
        return canvas.viewport().grab().toImage().pixelColor(_at(canvas, x, y))

    masked = colour_at(40, 40)
    assert masked.red() + masked.green() + masked.blue() > 0  # the mask is drawn over the black frame
    canvas.set_layers(masks=False, boxes=False, ids=False, states=False, trails=False)
    assert colour_at(40, 40) == QColor("black")
    assert canvas.scene().items()  # the frame itself stays
    with pytest.raises(ValueError):
        canvas.set_layers(captions=True)


def test_refresh_after_a_document_change_shows_the_new_box(canvas: VideoCanvas, doc: Document) -> None:
    doc.add_observations([Observation(frame=0, track_id=5, box=(80, 80, 10, 10))])
    canvas.invalidate()
    canvas.refresh()
    assert sorted(o.track_id for o in canvas.observations()) == [1, 2, 5]
    assert canvas.track_at(QPointF(85, 85)) == 5


def test_zoom_keeps_within_limits(canvas: VideoCanvas) -> None:
    canvas.zoom_actual()
    assert canvas.zoom() == pytest.approx(1.0)
    for _ in range(40):
        canvas.zoom_by(2.0)
    assert canvas.zoom() == pytest.approx(VideoCanvas.MAX_ZOOM)
    canvas.zoom_fit()
    assert canvas.zoom() < VideoCanvas.MAX_ZOOM


def test_a_new_video_starts_fitted_whatever_the_last_zoom(canvas: VideoCanvas, doc: Document) -> None:
    canvas.zoom_fit()
    fitted = canvas.zoom()
    canvas.zoom_by(3.0)
    canvas.set_document(doc)
    canvas.show_frame(0, np.zeros((H, W, 3), np.uint8))
    assert canvas.zoom() == pytest.approx(fitted)


def _overlap(a, b) -> float:
    inter = a.intersected(b)
    return 0.0 if inter.isEmpty() else inter.width() * inter.height()


def test_the_label_of_a_box_at_the_top_edge_goes_below_it_inside_the_view(canvas: VideoCanvas, doc: Document) -> None:
    doc.add_observations([Observation(frame=0, track_id=3, box=(70, 0, 30, 20))])  # touches the top edge
    canvas.refresh()
    label, view = canvas.labels()[3], QRectF(canvas.viewport().rect())
    box = QRectF(canvas.mapFromScene(QRectF(70, 0, 30, 20)).boundingRect())
    assert view.contains(label)
    assert label.top() >= box.bottom() - 1  # below the box: neither cut off nor over the object
    assert canvas.labels()[1].bottom() <= canvas.mapFromScene(QPointF(20, 20)).y() + 1  # room above: above


def test_labels_keep_off_small_objects_and_each_other(qtbot) -> None:
    """A row of distant cars, a few pixels each: every label is readable and no car is hidden by one."""
    doc = Document.in_memory(VideoInfo(Path("v.mp4"), "v", 1, 30.0, W, H))
    cars = [(20 + 11 * i, 60, 8, 5) for i in range(6)]
    doc.add_observations([Observation(frame=0, track_id=i + 1, box=box) for i, box in enumerate(cars)])
    view = VideoCanvas()
    qtbot.addWidget(view)
    view.resize(2 * W + 4, 2 * H + 4)
    view.show()
    view.set_document(doc)
    view.show_frame(0, np.zeros((H, W, 3), np.uint8))
    labels = view.labels()
    assert sorted(labels) == [1, 2, 3, 4, 5, 6]
    rects = list(labels.values())
    assert sum(_overlap(a, b) for i, a in enumerate(rects) for b in rects[i + 1:]) == 0  # no pile-up
    for box in cars:
        car = QRectF(view.mapFromScene(QRectF(*box)).boundingRect())
        assert max(_overlap(car, label) for label in rects) <= 0.25 * car.width() * car.height()


def test_selected_and_hovered_labels_are_expanded_the_others_compact(qtbot, canvas: VideoCanvas, doc: Document) -> None:
    doc.set_track(replace(doc.track(2), category_id=doc.category_id("person")))
    canvas.invalidate()
    canvas.refresh()
    compact = canvas.labels()[2]
    canvas.set_selection([2])
    expanded = canvas.labels()[2]
    assert expanded.width() > compact.width() + 20 and expanded.height() > compact.height()  # "2 person", larger
    canvas.set_selection([])
    qtbot.mouseMove(canvas.viewport(), _at(canvas, 150, 80))  # hovering track 2's box
    assert canvas.labels()[2].width() == expanded.width()


def test_the_labels_layer_hides_every_label(canvas: VideoCanvas) -> None:
    assert sorted(canvas.labels()) == [1, 2]
    canvas.set_layers(labels=False)
    assert canvas.labels() == {}
    assert sorted(o.track_id for o in canvas.observations()) == [1, 2]  # the boxes stay


def test_hidden_tracks_are_not_drawn_and_locked_ones_refuse_edits(qtbot, canvas: VideoCanvas) -> None:
    canvas.set_view_state(frozenset({2}), frozenset({1}))
    assert [o.track_id for o in canvas.observations()] == [1]
    assert canvas.track_at(QPointF(150, 80)) is None and sorted(canvas.labels()) == [1]
    canvas.set_tool(Tool.EDIT_BOX)
    canvas.set_selection([1])
    edits, refused, drawn = [], [], []
    canvas.boxEdited.connect(lambda *args: edits.append(args))
    canvas.boxDrawn.connect(lambda *args: drawn.append(args))
    canvas.editRefused.connect(refused.append)
    viewport = canvas.viewport()
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 40, 40))
    qtbot.mouseMove(viewport, _at(canvas, 50, 50))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 50, 50))
    assert edits == [] and drawn == [] and refused == ["Track 1 is locked: unlock it to edit it"]
    canvas.set_view_state(frozenset(), frozenset())
    assert sorted(o.track_id for o in canvas.observations()) == [1, 2]
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 40, 40))
    qtbot.mouseMove(viewport, _at(canvas, 50, 50))
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=_at(canvas, 50, 50))
    assert len(edits) == 1
