"""The annotation document and its SQLite project file."""
from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from tracker.video import VideoInfo
from app.document import Document, DocumentError, Observation, Source
from tracker.geometry import decode_mask, encode_mask
from tracker.results import Event, EventKind, FrameResult, ObjectState, TrackedObject

VIDEO = VideoInfo(path=Path("/data/v.mp4"), name="v", frame_count=100, fps=25.0, width=64, height=48)


def _obs(track: int, frame: int, **kw) -> Observation:
    return Observation(frame=frame, track_id=track, box=(frame, track, 10.0, 20.0), **kw)


def test_create_open_roundtrip_keeps_everything(tmp_path: Path) -> None:
    path = tmp_path / "p.masklet"
    mask = np.zeros((48, 64), bool)
    mask[5:9, 10:20] = True
    with Document.create(path, VIDEO) as doc:
        person = doc.category_id("person")
        doc.add_track(7, person, note="child")
        doc.add_observations([_obs(7, 3, state=ObjectState.PENDING, logit=7.5, mask=encode_mask(mask))])
        doc.add_events([Event(3, EventKind.ADDED, 7)])
        doc.set_meta("engine", {"name": "sam2mot"})
    with Document.open(path) as doc:
        assert doc.video == VIDEO
        assert doc.categories() == {person: "person"}
        assert doc.track(7).note == "child"
        (obs,) = doc.observations_at(3)
        assert obs.box == (3.0, 7.0, 10.0, 20.0) and obs.state is ObjectState.PENDING and obs.logit == 7.5
        assert np.array_equal(decode_mask(obs.mask), mask)
        assert doc.events() == [Event(3, EventKind.ADDED, 7)]
        assert doc.get_meta("engine") == {"name": "sam2mot"}


def test_create_refuses_to_overwrite(tmp_path: Path) -> None:
    path = tmp_path / "p.masklet"
    Document.create(path).close()
    with pytest.raises(DocumentError, match="already exists"):
        Document.create(path)


@pytest.mark.parametrize("content", [b"", b"this is not sqlite at all" * 50])
def test_open_rejects_files_that_are_not_projects(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.masklet"
    path.write_bytes(content)
    for read_only in (False, True):
        with pytest.raises(DocumentError, match="not a Masklet project"):
            Document.open(path, read_only=read_only)
    assert path.read_bytes() == content  # refused untouched: an empty file does not become a project
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.masklet"]


def test_open_rejects_foreign_sqlite_and_newer_schema(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.masklet"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")
    with pytest.raises(DocumentError, match="not a Masklet project"):
        Document.open(foreign)
    newer = tmp_path / "newer.masklet"
    Document.create(newer).close()
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(DocumentError, match="newer Masklet"):
        Document.open(newer)


def test_open_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="nope.masklet"):
        Document.open(tmp_path / "nope.masklet")


def test_a_failed_write_frame_leaves_no_category_behind() -> None:
    doc = Document.in_memory(VIDEO)
    broken = TrackedObject(2, (0, 0, "wide", 1), label="bus")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        doc.write_frame(FrameResult(0, [TrackedObject(1, (1, 2, 3, 4), label="car"), broken]))
    assert doc.categories() == {} and doc.tracks() == []
    doc.write_frame(FrameResult(1, [TrackedObject(1, (1, 2, 3, 4), label="car")]))
    assert doc.categories()[doc.track(1).category_id] == "car"


def test_write_frame_creates_tracks_categories_and_events() -> None:
    doc = Document.in_memory(VIDEO)
    doc.write_frame(
        FrameResult(
            frame=4,
            objects=[
                TrackedObject(1, (1, 2, 3, 4), ObjectState.RELIABLE, 0.9, 9.1, label="person"),
                TrackedObject(2, (5, 6, 7, 8), ObjectState.LOST, 0.2, 1.0, label="car"),
            ],
            events=[Event(4, EventKind.CONFLICT, 1, other_id=2, loser_id=2)],
        )
    )
    names = doc.categories()
    assert {names[t.category_id] for t in doc.tracks()} == {"person", "car"}
    assert [o.track_id for o in doc.observations_at(4)] == [1, 2]
    assert doc.observations_at(4)[1].state is ObjectState.LOST
    summaries = {s.id: s for s in doc.track_summaries()}
    assert summaries[1].conflict_count == 1 and summaries[2].conflict_count == 1
    assert summaries[1].first_frame == 4 and summaries[1].frame_count == 1


def test_queries_timeline_range_events() -> None:
    doc = Document.in_memory()
    doc.add_observations(_obs(1, f, state=ObjectState(f % 4)) for f in range(10, 20))
    doc.add_observations([_obs(2, 15, source=Source.MANUAL)])
    doc.add_events([Event(f, EventKind.KEYFRAME, 1) for f in (11, 15, 19)])
    timeline = doc.track_timeline(1)
    assert timeline.frames.tolist() == list(range(10, 20))
    assert timeline.states.tolist() == [f % 4 for f in range(10, 20)]
    assert doc.track_timeline(2).manual.tolist() == [True]
    assert doc.frame_range() == (10, 19)
    assert [e.frame for e in doc.events(12, 20)] == [15, 19]
    assert [o.frame for o in doc.track_observations(1, 12, 14)] == [12, 13]
    assert [(o.frame, o.track_id) for o in doc.iter_observations(15, 16)] == [(15, 1), (15, 2)]
    assert doc.next_track_id() == 3
    assert doc.track_timeline(99).frames.size == 0


def test_failed_transaction_rolls_back() -> None:
    doc = Document.in_memory()
    doc.add_observations([_obs(1, 0)])
    with pytest.raises(RuntimeError):
        with doc.transaction():
            doc.add_observations([_obs(1, 1)])
            raise RuntimeError("boom")
    assert doc.observation_count() == 1


def test_save_as_copies_and_continues_in_new_file(tmp_path: Path) -> None:
    doc = Document.create(tmp_path / "a.masklet", VIDEO)
    doc.add_observations([_obs(1, 0)])
    doc.save_as(tmp_path / "b.masklet")
    doc.add_observations([_obs(1, 1)])
    doc.close()
    assert Document.open(tmp_path / "a.masklet").observation_count() == 1
    assert Document.open(tmp_path / "b.masklet").observation_count() == 2


def test_in_memory_document_saves_to_file(tmp_path: Path) -> None:
    doc = Document.in_memory(VIDEO)
    doc.add_observations([_obs(3, 2)])
    doc.save_as(tmp_path / "m.masklet")
    assert doc.path == tmp_path / "m.masklet"
    assert Document.open(tmp_path / "m.masklet", read_only=True).video == VIDEO  # doc still writes it


def test_listeners_hear_changes() -> None:
    doc = Document.in_memory()
    heard = []
    doc.listeners.append(heard.append)
    doc.write_frame(FrameResult(2, [TrackedObject(5, (0, 0, 1, 1))]))
    assert heard[-1].track_ids == (5,) and heard[-1].start == 2


def test_sigkill_during_writes_keeps_every_committed_edit(tmp_path: Path) -> None:
    """A writer killed with SIGKILL mid-stream: the project reopens with every committed frame."""
    path = tmp_path / "killed.masklet"
    progress = tmp_path / "committed.txt"
    script = textwrap.dedent(
        f"""
        import os, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from app.document import Document
        from tracker.results import FrameResult, TrackedObject
        doc = Document.create({str(path)!r})
        frame = 0
        while True:
            doc.write_frame(FrameResult(frame, [TrackedObject(i, (i, frame, 5, 5)) for i in range(1, 51)]))
            with open({str(progress)!r} + ".tmp", "w") as f:
                f.write(str(frame))
            os.replace({str(progress)!r} + ".tmp", {str(progress)!r})
            frame += 1
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = 200
        while deadline and not (progress.exists() and int(progress.read_text()) >= 50):
            deadline -= 1
            subprocess.run(["sleep", "0.05"])
        assert deadline, "the writer made no progress"
    finally:
        proc.kill()
        proc.wait()
    committed = int(progress.read_text())
    doc = Document.open(path)
    last = doc.frame_range()[1]
    assert last >= committed  # the progress file is written after each commit
    assert doc.observation_count() == (last + 1) * 50
    assert all(len(doc.observations_at(f)) == 50 for f in range(last + 1))
