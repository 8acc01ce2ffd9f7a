"""The timeline: run-length lanes, worst state per pixel column, hit-testing, clicks, sorting, conflicts."""
from __future__ import annotations


import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from app.document import Document, Observation, Source, Timeline
from tracker.results import ObjectState
from widgets.style import CONFLICT_COLOR, RESOLVED_CONFLICT_COLOR, STATE_COLORS
from widgets.timeline import FrameRange, TimelineWidget
from widgets.timeline_data import Lane, TimelineData, runs_of

R, P, S, L = (int(s) for s in ObjectState)


def _lane(
    track_id: int, frames: list[int], states: list[int], manual: list[bool] | None = None,
    interpolated: list[bool] | None = None,
) -> Lane:
    manual = manual if manual is not None else [False] * len(frames)
    interpolated = interpolated if interpolated is not None else [False] * len(frames)
    timeline = Timeline(np.array(frames), np.array(states, np.int8), np.array(manual), np.array(interpolated))
    return Lane.build(track_id, "#ff0000", timeline)


def test_runs_of_merges_consecutive_frames_of_equal_state() -> None:
    starts, ends, values = runs_of(np.array([0, 1, 2, 3, 7, 8, 9]), np.array([R, R, P, P, P, P, L], np.int8))
    assert starts.tolist() == [0, 2, 7, 9]
    assert ends.tolist() == [2, 4, 9, 10]  # half-open; the gap 4..6 breaks the run of P
    assert values.tolist() == [R, P, P, L]


def test_lane_keeps_manual_frames_as_runs() -> None:
    lane = _lane(5, [10, 11, 12, 13], [R, R, R, R], [False, True, True, False])
    assert (lane.starts.tolist(), lane.ends.tolist()) == ([10], [14])
    assert (lane.manual_starts.tolist(), lane.manual_ends.tolist()) == ([11], [13])
    assert lane.first_frame == 10


def test_columns_show_the_worst_state_where_frames_share_a_pixel() -> None:
    data = TimelineData()
    data.set_lanes([_lane(1, list(range(8)), [R, R, R, L, R, R, P, P], [False] * 7 + [True])])
    states, manual = data.columns(range(0, 1), 0.0, 0.5, 4)  # two frames per pixel column
    assert states[0].tolist() == [R, L, R, P]
    assert manual[0].tolist() == [False, False, False, True]
    states, _ = data.columns(range(0, 1), 0.0, 2.0, 20)  # two pixels per frame; nothing after frame 7
    assert states[0, :16].tolist() == [R] * 6 + [L] * 2 + [R] * 4 + [P] * 4
    assert (states[0, 16:] == -1).all()


def test_columns_cover_only_the_visible_frame_range() -> None:
    data = TimelineData()
    data.set_lanes([_lane(1, [0, 1, 2], [L, L, L]), _lane(2, [100, 101], [P, P])])
    states, _ = data.columns(range(0, 2), 50.0, 1.0, 60)
    assert (states[0] == -1).all()
    assert states[1, 50:52].tolist() == [P, P] and (states[1, :50] == -1).all()


def test_sort_orders_lanes_by_first_frame_id_or_conflicts() -> None:
    data = TimelineData()
    data.set_lanes([_lane(1, [50], [R]), _lane(2, [0], [R]), _lane(3, [20], [R])])
    data.set_conflicts([(60, 3, 1), (61, 3, 2)])
    assert data.order == [2, 3, 1]
    data.set_sort("id")
    assert data.order == [1, 2, 3]
    data.set_sort("conflicts")
    assert data.order == [3, 1, 2]
    assert data.rows_of(np.array([1, 3, 99])).tolist() == [1, 0, -1]
    with pytest.raises(ValueError):
        data.set_sort("colour")


@pytest.fixture
def timeline(qtbot) -> TimelineWidget:
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(TimelineWidget.LABEL_WIDTH + 400 + 20, TimelineWidget.HEADER_HEIGHT + 10 * TimelineWidget.LANE_HEIGHT)
    widget.data.set_sort("id")
    widget.data.set_lanes([_lane(t, list(range(100)), [R] * 100) for t in (4, 7, 9)])
    widget.set_frame_count(100)
    widget.show()
    return widget


def test_hit_test_maps_a_point_to_frame_and_track(timeline: TimelineWidget) -> None:
    ppf = timeline.px_per_frame()
    x = round(timeline.LABEL_WIDTH + 37.5 * ppf)
    y = timeline.HEADER_HEIGHT + timeline.LANE_HEIGHT + timeline.LANE_HEIGHT // 2
    assert timeline.hit_test(QPoint(x, y)) == (37, 7)
    assert timeline.hit_test(QPoint(x, 2)) == (37, None)  # the ruler
    below = timeline.HEADER_HEIGHT + 5 * timeline.LANE_HEIGHT
    assert timeline.hit_test(QPoint(x, below)) == (37, None)  # under the last lane


def test_hit_test_follows_zoom_and_scroll(timeline: TimelineWidget) -> None:
    timeline.zoom_by(8.0, timeline.LABEL_WIDTH)
    timeline.horizontalScrollBar().setValue(40)
    frame, track = timeline.hit_test(QPoint(timeline.LABEL_WIDTH + 1, timeline.HEADER_HEIGHT + 1))
    assert (frame, track) == (40, 4)


def test_click_seeks_and_selects(qtbot, timeline: TimelineWidget) -> None:
    x = round(timeline.LABEL_WIDTH + 60.5 * timeline.px_per_frame())
    y = timeline.HEADER_HEIGHT + 2 * timeline.LANE_HEIGHT + 3
    frames, selections = [], []
    timeline.frameRequested.connect(frames.append)
    timeline.tracksSelected.connect(selections.append)
    qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert frames == [60]
    assert selections == [[9]]


def _render(widget: TimelineWidget) -> QImage:
    image = QImage(widget.viewport().size(), QImage.Format.Format_RGB32)
    painter = QPainter(image)
    widget.paint(painter, image.width(), image.height())
    painter.end()
    return image


def test_paint_colours_lanes_by_state_and_links_conflicts(timeline: TimelineWidget) -> None:
    timeline.data.set_lanes([_lane(7, list(range(100)), [S] * 100)])
    timeline.data.set_conflicts([(80, 4, 9)], resolved=[(40, 4, 9)])
    image = _render(timeline)
    ppf = timeline.px_per_frame()
    lane_y = lambda row: timeline.HEADER_HEIGHT + row * timeline.LANE_HEIGHT + timeline.LANE_HEIGHT // 2  # noqa: E731
    assert QColor(image.pixel(timeline.LABEL_WIDTH + 10, lane_y(0))) == QColor(STATE_COLORS[ObjectState.RELIABLE])
    assert QColor(image.pixel(timeline.LABEL_WIDTH + 10, lane_y(1))) == QColor(STATE_COLORS[ObjectState.SUSPICIOUS])
    x = round(timeline.LABEL_WIDTH + 80.5 * ppf)
    assert QColor(image.pixel(x, lane_y(1))) == QColor(CONFLICT_COLOR)  # the link crosses track 7's lane
    x = round(timeline.LABEL_WIDTH + 40.5 * ppf)
    assert QColor(image.pixel(x, lane_y(1))) == QColor(RESOLVED_CONFLICT_COLOR)  # a resolved episode


def test_interpolated_frames_are_dotted_and_hidden_lanes_dimmed(timeline: TimelineWidget) -> None:
    """Key frames (manual) are underlined, interpolated frames between them dotted, engine frames solid."""
    interpolated = [20 <= f < 60 for f in range(100)]
    manual = [f in (19, 60) for f in range(100)]
    timeline.data.set_lanes([_lane(7, list(range(100)), [R] * 100, manual, interpolated)])
    image = _render(timeline)
    y = timeline.HEADER_HEIGHT + timeline.LANE_HEIGHT + timeline.LANE_HEIGHT // 2  # track 7's bar
    x_of = lambda frame: round(timeline.x_of(frame))  # noqa: E731
    reliable = QColor(STATE_COLORS[ObjectState.RELIABLE])
    dotted = [QColor(image.pixel(x, y)) for x in range(x_of(25), x_of(55))]
    assert reliable in dotted and sum(c != reliable for c in dotted) >= len(dotted) // 3  # gaps between dots
    assert all(QColor(image.pixel(x, y)) == reliable for x in range(x_of(65), x_of(95)))  # engine frames: solid
    timeline.set_hidden([7])
    dim = QColor(_render(timeline).pixel(x_of(80), y))
    assert dim != reliable and dim.green() < reliable.green()  # drawn faintly over the lane's background
    assert QColor(_render(timeline).pixel(x_of(80), y - timeline.LANE_HEIGHT)) == reliable  # track 4: as before


def test_load_reads_lanes_and_manual_frames_from_a_document(qtbot) -> None:
    doc = Document.in_memory()
    doc.add_observations(
        [Observation(frame=f, track_id=1, box=(0, 0, 5, 5), state=ObjectState.PENDING) for f in range(5)]
        + [Observation(frame=3, track_id=2, box=(0, 0, 5, 5), source=Source.MANUAL)]
        + [Observation(frame=f, track_id=2, box=(0, 0, 5, 5), source=Source.INTERPOLATED) for f in (4, 5)]
    )
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.load(doc)
    assert widget.data.order == [1, 2]
    assert widget.data.lanes[1].states.tolist() == [P]
    assert widget.data.lanes[2].manual_starts.tolist() == [3]
    assert (widget.data.lanes[2].interpolated_starts.tolist(), widget.data.lanes[2].interpolated_ends.tolist()) == (
        [4], [6])
    doc.add_observations([Observation(frame=9, track_id=2, box=(0, 0, 5, 5), state=ObjectState.LOST)])
    widget.load(doc, [2])
    assert widget.data.lanes[2].ends.tolist() == [6, 10]


def test_repaint_of_500_tracks_of_20000_frames_touches_only_the_visible_lanes(qtbot) -> None:
    """What keeps a repaint fast at any size (its time is measured by ``masklet bench gui``): each paint
    computes the columns of the lanes on screen only, one pixel column per screen column."""
    from app.benchmarks.gui import synthetic_conflicts, synthetic_timelines

    timelines = synthetic_timelines(500, 20_000)
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(1600, 420)
    widget.data.set_lanes([Lane.build(i, "#ff8800", t) for i, t in enumerate(timelines, 1)])
    widget.data.set_conflicts(synthetic_conflicts(timelines, 1000))
    widget.set_frame_count(20_000)
    columns, asked = widget.data.columns, []

    def recorded(rows: range, *args):
        states, manual = columns(rows, *args)
        asked.append((rows, states.shape))
        return states, manual

    widget.data.columns = recorded
    visible = (widget.viewport().height() - widget.HEADER_HEIGHT) // widget.LANE_HEIGHT + 1
    for row in range(0, 400, 40):
        widget.verticalScrollBar().setValue(row * widget.LANE_HEIGHT)
        _render(widget)
    assert len(asked) == 10
    for rows, shape in asked:
        assert 0 < len(rows) <= visible and shape == (len(rows), widget.viewport().width() - widget.LABEL_WIDTH)


def test_selecting_a_track_scrolls_its_lane_into_view(qtbot) -> None:
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(400, TimelineWidget.HEADER_HEIGHT + 5 * TimelineWidget.LANE_HEIGHT)
    widget.show()
    widget.data.set_lanes([_lane(t, [t], [R]) for t in range(1, 41)])
    widget.set_frame_count(50)
    widget.set_selection([30])
    lane = TimelineWidget.LANE_HEIGHT
    shown = [widget.data.order[widget.row_at(widget.HEADER_HEIGHT + i * lane + 1)] for i in range(5)]
    assert 30 in shown[1:4]  # not at an edge
    assert widget.verticalScrollBar().value() % lane == 0  # whole lanes, none cut at the top


def test_an_empty_timeline_is_not_one_blue_cursor(qtbot) -> None:
    widget = TimelineWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 200)
    image = _render(widget)
    pixel = image.pixelColor(300, 150)
    assert pixel.name() == TimelineWidget.BACKGROUND


def test_shift_drag_on_a_lane_selects_a_frame_range(qtbot, timeline: TimelineWidget) -> None:
    ppf = timeline.px_per_frame()
    x_of = lambda frame: round(timeline.LABEL_WIDTH + (frame + 0.5) * ppf)  # noqa: E731
    y = timeline.HEADER_HEIGHT + 2 * timeline.LANE_HEIGHT + 3
    ranges, frames = [], []
    timeline.rangeChanged.connect(ranges.append)
    timeline.frameRequested.connect(frames.append)
    shift = Qt.KeyboardModifier.ShiftModifier
    qtbot.mousePress(timeline.viewport(), Qt.MouseButton.LeftButton, shift, QPoint(x_of(40), y))
    qtbot.mouseMove(timeline.viewport(), QPoint(x_of(20), y))
    qtbot.mouseRelease(timeline.viewport(), Qt.MouseButton.LeftButton, shift, QPoint(x_of(20), y))
    assert timeline.frame_range == FrameRange(9, 20, 41) and ranges[-1] == timeline.frame_range
    assert frames == []  # a range drag does not move the current frame
    assert timeline.frame_range.describe() == "frames 20–40"
    image = _render(timeline)
    lane_y = timeline.HEADER_HEIGHT + 2 * timeline.LANE_HEIGHT + timeline.LANE_HEIGHT // 2
    inside, outside = QColor(image.pixel(x_of(30), lane_y)), QColor(image.pixel(x_of(60), lane_y))
    assert outside == QColor(STATE_COLORS[ObjectState.RELIABLE]) and inside != outside
    qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x_of(60), y))
    assert timeline.frame_range is None and ranges[-1] is None
