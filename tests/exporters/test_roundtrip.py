"""Document → format → document keeps what each format can hold (property tests), and what writers
select, clip and leave out."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.document import Document, Observation
from exporters import registry
from exporters.base import WriteReport, read_report
from tracker.geometry import encode_mask, mask_to_xywh
from tracker.video import VideoInfo

WIDTH, HEIGHT = 64, 48
VIDEO = VideoInfo(Path("/videos/clip.mp4"), "clip", 30, 25.0, WIDTH, HEIGHT)
CATEGORIES = {1: "person", 2: "car", 3: "bicycle"}
PROPERTY = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def documents(draw: st.DrawFn, masks: bool = False) -> Document:
    """A document over ``VIDEO``: 1–4 tracks (ids < 1000, a category or none), boxes inside the image
    (any float), scores and visibilities; with ``masks``, random masks and boxes that fit them."""
    doc = Document.in_memory(VIDEO)
    for cid, name in CATEGORIES.items():
        doc.add_category(name, cid)
    track_ids = draw(st.lists(st.integers(1, 999), min_size=1, max_size=4, unique=True))
    observations = []
    for track_id in track_ids:
        doc.add_track(track_id, draw(st.sampled_from([None, *CATEGORIES])))
        for frame in draw(st.lists(st.integers(0, VIDEO.frame_count - 1), min_size=1, max_size=5, unique=True)):
            w = draw(st.floats(1, WIDTH, allow_nan=False))
            h = draw(st.floats(1, HEIGHT, allow_nan=False))
            box = (draw(st.floats(0, WIDTH - w)), draw(st.floats(0, HEIGHT - h)), w, h)
            mask = None
            if masks:
                rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
                pixels = rng.random((HEIGHT, WIDTH)) < draw(st.floats(0.01, 0.5))
                pixels[rng.integers(HEIGHT), rng.integers(WIDTH)] = True
                mask, box = encode_mask(pixels), mask_to_xywh(pixels)
            observations.append(Observation(
                frame=frame, track_id=track_id, box=box, mask=mask,
                score=draw(st.sampled_from([0.0, 1.0]) | st.floats(0.01, 1)),
                visibility=draw(st.floats(0, 1)),
            ))
    doc.add_observations(observations)
    return doc


def _content(doc: Document) -> dict[tuple[int, int], Observation]:
    return {(obs.frame, obs.track_id): obs for obs in doc.iter_observations()}


def _roundtrip(doc: Document, name: str, out: str, **options: object) -> tuple[Document, WriteReport]:
    module = registry.get(name)
    with tempfile.TemporaryDirectory() as tmp:
        report = module.write(doc, Path(tmp) / out)
        return module.read(Path(tmp) / out, None, **options), report


def _categories(doc: Document) -> dict[int, int | None]:
    return {t.id: t.category_id for t in doc.tracks()}


def _names(doc: Document) -> dict[int, str | None]:
    return {t.id: doc.track_label(t.id) for t in doc.tracks()}


@PROPERTY
@given(documents())
def test_mot_keeps_boxes_ids_frames_scores_visibility_classes_and_video(doc: Document) -> None:
    back, report = _roundtrip(doc, "mot", "seq")
    before, after = _content(doc), _content(back)
    assert report.boxes == len(before) and after.keys() == before.keys()
    for key, obs in before.items():
        assert after[key].box == obs.box  # exact: floats are written shortest-exact
        assert (after[key].score, after[key].visibility) == (obs.score, obs.visibility)
    assert _names(back) == _names(doc)  # person is not a MOTChallenge class: gt/labels.txt names them
    assert back.video is not None
    assert (back.video.name, back.video.frame_count, back.video.fps, back.video.width, back.video.height) == (
        "clip", 30, 25.0, WIDTH, HEIGHT)
    assert read_report(back).frame_base == 1


@PROPERTY
@given(documents())
def test_mot_results_keeps_boxes_ids_frames_and_conf(doc: Document) -> None:
    back, report = _roundtrip(doc, "mot-results", "results.txt")
    before = {key: obs for key, obs in _content(doc).items() if obs.score != 0}  # ignored regions are no predictions
    after = _content(back)
    assert after.keys() == before.keys() and report.skipped == doc.observation_count() - len(before)
    assert all(after[k].box == obs.box and after[k].score == obs.score for k, obs in before.items())


MOTS_MAP = {"person": "pedestrian", "*": "car"}


@PROPERTY
@given(documents(masks=True))
def test_mots_keeps_masks_ids_frames_and_mapped_classes(doc: Document) -> None:
    module = registry.get("mots")
    with tempfile.TemporaryDirectory() as tmp:
        report = module.write(doc, Path(tmp) / "m.txt", class_map=MOTS_MAP)
        back = module.read(Path(tmp) / "m.txt")
    before, after = _content(doc), _content(back)
    assert report.skipped == 0 and after.keys() == before.keys()
    for key, obs in before.items():
        assert after[key].mask == obs.mask
        assert after[key].box == pytest.approx(obs.box)
    assert _names(back) == {tid: "pedestrian" if name == "person" else "car" for tid, name in _names(doc).items()}


@PROPERTY
@given(documents(masks=True) | documents())
def test_cocovid_keeps_boxes_masks_ids_frames_scores_and_categories(doc: Document) -> None:
    back, _ = _roundtrip(doc, "cocovid", "labels.json")
    before, after = _content(doc), _content(back)
    assert after.keys() == before.keys()
    for key, obs in before.items():
        assert (after[key].box, after[key].mask, after[key].score) == (obs.box, obs.mask, obs.score)
    assert _categories(back) == _categories(doc)
    assert all(back.categories()[cid] == name for cid, name in doc.categories().items() if cid in back.categories())


@PROPERTY
@given(documents())
def test_cvat_keeps_boxes_ids_frames_visibility_and_names(doc: Document) -> None:
    back, _ = _roundtrip(doc, "cvat", "a.xml")
    before, after = _content(doc), _content(back)
    assert after.keys() == before.keys()
    for key, obs in before.items():  # CVAT stores corners: sizes come back within rounding
        assert after[key].box == pytest.approx(obs.box, abs=1e-9) and after[key].visibility == obs.visibility
    assert _names(back) == {tid: name or "object" for tid, name in _names(doc).items()}


@PROPERTY
@given(documents())
def test_yolo_keeps_normalised_boxes_ids_frames_and_category_names(doc: Document) -> None:
    back, _ = _roundtrip(doc, "yolo", "yolo", image_size=(WIDTH, HEIGHT))
    before, after = _content(doc), _content(back)
    assert after.keys() == before.keys()
    assert all(after[k].box == pytest.approx(obs.box, abs=1e-9) for k, obs in before.items())
    names_before = {t.id: doc.categories().get(t.category_id, "object") for t in doc.tracks()}
    assert read_report(back).detections == 0  # track ids come back from the track_ids/ files
    assert {t.id: back.categories()[t.category_id] for t in back.tracks()} == names_before


# --------------------------------------------------------------------------- selection and validation
def _small_document() -> Document:
    doc = Document.in_memory(VIDEO)
    doc.add_category("person", 1)
    doc.add_category("car", 2)
    doc.add_track(1, 1)
    doc.add_track(2, 2)
    doc.add_track(3, 1)  # no observations
    doc.add_observations([Observation(frame=f, track_id=t, box=(10.0 + f, 5.0, 8.0, 9.0))
                          for f in range(10) for t in (1, 2)])
    return doc


@pytest.mark.parametrize("name, out", [("mot", "seq"), ("mot-results", "r.txt"), ("cocovid", "c.json"), ("yolo", "y"),
                                       ("cvat", "a.xml")])
def test_writers_select_frames_tracks_and_categories(tmp_path: Path, name: str, out: str) -> None:
    module = registry.get(name)
    report = module.write(_small_document(), tmp_path / out, frames=(2, 6), track_ids=[1, 2], category_ids=[2])
    back = module.read(tmp_path / out, None, image_size=(WIDTH, HEIGHT))
    assert report.boxes == 4
    assert sorted((o.frame, o.track_id) for o in back.iter_observations()) == [(f, 2) for f in range(2, 6)]


def test_boxes_are_clipped_or_dropped_and_empty_tracks_left_out(tmp_path: Path) -> None:
    doc = _small_document()
    doc.add_observations([
        Observation(frame=0, track_id=4, box=(-5.0, 40.0, 20.0, 20.0)),  # partly outside: clipped
        Observation(frame=1, track_id=4, box=(100.0, 10.0, 5.0, 5.0)),  # entirely outside: dropped
        Observation(frame=2, track_id=4, box=(1.0, 1.0, 0.0, 5.0)),  # no area: dropped
    ])
    given = registry.get("mot-results").write(doc, tmp_path / "given.txt")  # default: boxes as they are
    assert (given.boxes, given.clipped, given.dropped) == (22, 0, 1)
    assert registry.get("mot-results").read(tmp_path / "given.txt").observation(4, 0).box == (-5.0, 40.0, 20.0, 20.0)
    report = registry.get("mot-results").write(doc, tmp_path / "r.txt", clip=True)
    assert (report.boxes, report.clipped, report.dropped, report.empty_tracks) == (21, 1, 2, 1)
    assert len(report.warnings) == 4
    clipped = registry.get("mot-results").read(tmp_path / "r.txt").observation(4, 0)
    assert clipped is not None and clipped.box == (0.0, 40.0, 15.0, 8.0)


def test_mots_skips_observations_without_masks(tmp_path: Path) -> None:
    doc = _small_document()
    doc.add_observations([Observation(frame=0, track_id=5, box=(0, 0, 2, 2), mask=encode_mask(np.ones((HEIGHT, WIDTH))))])
    report = registry.get("mots").write(doc, tmp_path / "m.txt", class_map={"person": "pedestrian", "*": "car"})
    assert (report.boxes, report.skipped) == (1, 20)


def test_reading_into_a_document_with_tracks_shifts_colliding_ids(tmp_path: Path) -> None:
    registry.get("mot-results").write(_small_document(), tmp_path / "r.txt")
    doc = _small_document()
    registry.get("mot-results").read(tmp_path / "r.txt", doc)
    report = read_report(doc)
    assert report is not None and report.id_offset == 3
    assert {t.id for t in doc.tracks()} == {1, 2, 3, 4, 5}
    assert doc.observation_count() == 40
