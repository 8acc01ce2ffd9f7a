"""Engines in the GUI's background worker: real ByteTrack and a random-init SAM2MOT fill the document,
pause/resume/stop keep finished frames, prompts re-propagate with undo, errors become explanations,
and the window closes cleanly mid-run."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

from app.conflicts import conflicting_pairs  # noqa: E402
from app.document import Document, Observation, Source  # noqa: E402
from PySide6.QtWidgets import QDialog, QFileDialog  # noqa: E402

from app.gui import runs  # noqa: E402
from app.gui.run_dialog import RunDialog  # noqa: E402
from app.gui.errors import Remedy, explain  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402
from app.gui.tracking_worker import TrackingController  # noqa: E402
from app.gui.undo import EditStack  # noqa: E402
from tracker.engine_options import EngineOptions  # noqa: E402
from tracker.errors import CheckpointError, DetectorError, VideoError  # noqa: E402
from tracker.results import Event, EventKind, PromptKind  # noqa: E402
from tracker.video import VideoSource  # noqa: E402

pytestmark = pytest.mark.slow
TIMEOUT_MS = 180_000
SAM2_TEST = {"model": "tiny", "device": "cpu", "random_init": True, "image_size": 128}


@pytest.fixture
def highway(shared_data: Path) -> Path:
    return shared_data / "highway" / "highway.mp4"


def make_controller(qtbot, video: Path) -> tuple[TrackingController, Document, list]:
    """A controller on an in-memory project of ``video``; the list collects (kind, error) reports."""
    with VideoSource.open(video) as source:
        doc = Document.in_memory(source.info())
    stack = EditStack(lambda exc: pytest.fail(f"edit refused: {exc}"))
    stack.set_document(doc)
    controller = TrackingController(stack)
    controller.set_document(doc, video)
    reported: list = []
    controller.error.connect(lambda kind, exc: reported.append((kind, exc)))
    return controller, doc, reported


def make_window(qtbot, tmp_path: Path) -> MainWindow:
    window = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    window.preferences.data_dir = tmp_path
    window.preferences.projects_beside_video = False
    qtbot.addWidget(window)
    window.show()
    return window


def wait_idle(qtbot, controller: TrackingController) -> None:
    qtbot.waitUntil(lambda: not controller.busy, timeout=TIMEOUT_MS)


def test_gui_worker_bytetrack_fills_the_document_and_continues(qtbot, highway: Path,
                                                               openvino_detector_path: Path) -> None:
    controller, doc, reported = make_controller(qtbot, highway)
    finished, progress, devices = [], [], []
    controller.finished.connect(lambda kind, completed: finished.append((kind, completed)))
    controller.progress.connect(lambda done, total, left: progress.append((done, total)))
    controller.deviceChanged.connect(devices.append)
    options = {"detector": str(openvino_detector_path), "device": "auto"}
    assert controller.start_tracking(EngineOptions("bytetrack", **options), 0, 5)
    assert not controller.start_tracking(EngineOptions("bytetrack", **options), 0, 5)  # one job at a time
    wait_idle(qtbot, controller)
    assert reported == [] and finished == [("tracking", True)]
    assert progress[-1] == (5, 5)
    assert devices == ["cpu"]  # what "auto" became, not "auto"
    assert doc.frame_range() == (0, 4)
    assert len(doc.observations_at(4)) >= 2  # cars on the motorway
    assert doc.get_meta("tracking") == {"start": 0, "end": 5, "next_frame": 5}
    assert doc.get_meta("engine")["name"] == "bytetrack"
    before = {o.track_id for o in doc.observations_at(4)}
    assert controller.start_tracking(EngineOptions("bytetrack", **options), 5, 8)  # continues from the stored frame 4
    wait_idle(qtbot, controller)
    assert doc.frame_range() == (0, 7)
    assert before & {o.track_id for o in doc.observations_at(5)}  # identities carry over


def test_gui_continuing_a_stopped_run_loads_its_saved_state_and_equals_an_uninterrupted_run(
        qtbot, highway: Path, shared_data: Path, tmp_path: Path) -> None:
    """Running the stopped run's engine again from its next frame continues it as ``masklet track --resume`` does:
    from the engine state saved with the last frame, so the export equals an uninterrupted run's (restoring
    ByteTrack from the stored boxes does not: ``tests/reliability/test_resume.py``). Other options start a new run
    from the stored boxes."""
    from app.tracking_run import TrackingRun
    from exporters import mot_results

    options = EngineOptions("bytetrack", detector=str(shared_data / "highway" / "det.txt"))
    uninterrupted, full, _ = make_controller(qtbot, highway)
    assert uninterrupted.start_tracking(options, 0, 30)
    wait_idle(qtbot, uninterrupted)
    controller, doc, reported = make_controller(qtbot, highway)
    assert controller.start_tracking(options, 0, 12)
    wait_idle(qtbot, controller)
    assert doc.get_meta("engine_state")["frame"] == 11  # the state is saved with each frame, as on the command line
    assert controller.start_tracking(options.with_changes(device="cpu"), 12, 30)  # the device may change
    wait_idle(qtbot, controller)
    assert reported == []
    mot_results.write(full, tmp_path / "full.txt")
    mot_results.write(doc, tmp_path / "continued.txt")
    assert (tmp_path / "continued.txt").read_bytes() == (tmp_path / "full.txt").read_bytes()
    assert TrackingRun.load(doc) == TrackingRun(options, 0, 30, 30)  # one run, as uninterrupted
    assert controller.start_tracking(options.with_changes(conf=0.5), 30, 32)  # another run
    wait_idle(qtbot, controller)
    assert TrackingRun.load(doc) == TrackingRun(options.with_changes(conf=0.5), 30, 32, 32)


def test_gui_worker_new_tracks_do_not_reuse_existing_ids(qtbot, highway: Path, openvino_detector_path: Path) -> None:
    """A run from frame 0 on a project that already has tracks (say, imported labels) numbers its tracks above them."""
    controller, doc, reported = make_controller(qtbot, highway)
    doc.add_observations([Observation(frame=100, track_id=tid, box=(0, 0, 5, 5)) for tid in (1, 2, 40)])
    options = EngineOptions("bytetrack", detector=str(openvino_detector_path), device="cpu")
    assert controller.start_tracking(options, 0, 3)
    wait_idle(qtbot, controller)
    assert reported == []
    new_ids = {o.track_id for o in doc.iter_observations(0, 3)}
    assert new_ids and min(new_ids) > 40


def test_gui_worker_random_sam2mot_stores_masks_states_and_events(qtbot, highway: Path,
                                                                  openvino_detector_path: Path) -> None:
    controller, doc, reported = make_controller(qtbot, highway)
    options = {"detector": str(openvino_detector_path), "device": "cpu", "random_init": True, "image_size": 128}
    assert controller.start_tracking(EngineOptions("sam2mot", **options), 0, 5)
    wait_idle(qtbot, controller)
    assert reported == []
    observations = list(doc.iter_observations())
    assert {o.frame for o in observations} == set(range(5))
    assert all(o.mask is not None and o.logit is not None for o in observations)
    assert doc.events(kind=EventKind.ADDED)
    assert controller.sam2 == SAM2_TEST | {"model": "tiny"}  # corrections use the run's SAM2


def test_gui_worker_pause_resume_and_stop_keep_finished_frames(qtbot, highway: Path,
                                                               openvino_detector_path: Path) -> None:
    controller, doc, _ = make_controller(qtbot, highway)
    finished = []
    controller.finished.connect(lambda kind, completed: finished.append(completed))
    done = []
    controller.progress.connect(lambda count, total, left: done.append(count))
    controller.start_tracking(EngineOptions("bytetrack", detector=str(openvino_detector_path), device="cpu"), 0,
                              200)
    qtbot.waitUntil(lambda: done and done[-1] >= 2, timeout=TIMEOUT_MS)
    controller.pause()
    assert controller.paused
    for _ in range(10):  # the frame in flight still arrives, however slow the machine is
        settled = done[-1]
        qtbot.wait(1000)
        if done[-1] == settled:
            break
    paused_at = done[-1]
    qtbot.wait(700)
    assert done[-1] == paused_at
    controller.resume()
    qtbot.waitUntil(lambda: done[-1] > paused_at, timeout=TIMEOUT_MS)
    controller.stop()
    wait_idle(qtbot, controller)
    assert finished == [False]
    last = done[-1]
    assert doc.frame_range() == (0, last - 1)
    assert doc.get_meta("tracking")["next_frame"] == last


def test_gui_worker_prompt_creates_a_track_and_is_undoable(qtbot, shared_data: Path) -> None:
    controller, doc, reported = make_controller(qtbot, shared_data / "mot17-mini" / "MOT17-09-FRCNN")
    controller.sam2 = dict(SAM2_TEST)
    assert controller.correct(1, None, box=[700.0, 400.0, 900.0, 800.0])
    wait_idle(qtbot, controller)
    assert reported == []
    track = doc.tracks()[0].id
    prompt = doc.observation(track, 1)
    assert prompt is not None and prompt.source == Source.MANUAL and prompt.mask is not None
    assert [e.kind for e in doc.events()] == [EventKind.PROMPT]
    frames = doc.track_timeline(track).frames.tolist()
    assert frames[0] == 1 and set(frames) <= {1, 2, 3}  # re-propagated forward, never backward
    stack = controller.stack
    assert stack.count() == 1 and stack.undoText().startswith("New track")
    stack.undo()
    assert doc.track(track) is None and doc.events() == []
    stack.redo()
    assert doc.track_timeline(track).frames.tolist() == frames


def test_gui_worker_correction_replays_prompts_and_keeps_manual_boxes(qtbot, shared_data: Path) -> None:
    """A click on an existing track replays its stored prompts, stops before the next manual key frame,
    never overwrites it, and is one undo step (prompts included)."""
    controller, doc, reported = make_controller(qtbot, shared_data / "mot17-mini" / "MOT17-09-FRCNN")
    controller.sam2 = dict(SAM2_TEST)
    assert controller.correct(0, None, box=[700.0, 400.0, 900.0, 800.0], stop=4)
    wait_idle(qtbot, controller)
    track = doc.tracks()[0].id
    [started] = doc.prompts(track)
    assert started.kind is PromptKind.CORRECT and started.frame == 0
    manual = Observation(frame=3, track_id=track, box=(1.0, 2.0, 30.0, 40.0), source=Source.MANUAL)
    doc.add_observations([manual])
    before = [doc.observation(track, f) for f in range(4)]
    assert controller.correct(1, track, points=np.array([[800.0, 600.0]], np.float32), labels=np.array([1]))
    assert controller._running.worker.job.stop == 3  # stops before the manual key frame
    wait_idle(qtbot, controller)
    assert reported == []
    assert doc.observation(track, 3) == manual
    assert [(p.kind, p.frame, p.points) for p in doc.prompts(track)] == [
        (PromptKind.CORRECT, 0, None), (PromptKind.CORRECT, 1, ((800.0, 600.0),))]
    assert doc.observation(track, 1).source == Source.MANUAL and doc.observation(track, 1) != before[1]
    controller.correct(1, track, points=np.array([[750.0, 500.0]], np.float32), labels=np.array([0]), stop=4)
    wait_idle(qtbot, controller)
    assert doc.observation(track, 3) == manual  # also when propagating past it
    controller.stack.undo()
    controller.stack.undo()
    assert [doc.observation(track, f) for f in range(4)] == before and doc.prompts(track) == [started]


def test_gui_worker_correction_recomputes_the_conflicts_of_the_frames_it_writes(qtbot, shared_data: Path) -> None:
    """After a re-propagation the track's conflicts at the written frames are what its stored boxes and masks
    give (a stale conflict with a far-away track is gone); undo brings the old ones back."""
    controller, doc, reported = make_controller(qtbot, shared_data / "mot17-mini" / "MOT17-09-FRCNN")
    controller.sam2 = dict(SAM2_TEST)
    assert controller.correct(1, None, box=[700.0, 400.0, 900.0, 800.0], stop=4)
    wait_idle(qtbot, controller)
    track = doc.tracks()[0].id
    far = track + 1
    doc.add_observations(Observation(f, far, (0.0, 0.0, 4.0, 4.0)) for f in range(4))
    stale = [Event(f, EventKind.CONFLICT, far, other_id=track, detail="stale") for f in (1, 2, 3)]
    doc.add_events(stale)
    assert controller.repropagate(track, 1)
    wait_idle(qtbot, controller)
    assert reported == []
    for frame in (1, 2, 3):
        recorded = {tuple(sorted((e.track_id, e.other_id))) for e in doc.events(frame, frame + 1, EventKind.CONFLICT)}
        assert recorded == set(conflicting_pairs(doc.observations_at(frame)))
    controller.stack.undo()
    assert doc.events(kind=EventKind.CONFLICT) == stale


def test_gui_worker_missing_checkpoint_is_reported_with_a_remedy(qtbot, highway: Path) -> None:
    controller, doc, reported = make_controller(qtbot, highway)
    options = EngineOptions("sam2mot", sam2="/nowhere/sam2.1_hiera_tiny.pt", device="cpu")
    assert controller.start_tracking(options, 0, 5)
    wait_idle(qtbot, controller)
    [(kind, exc)] = reported
    assert kind == "tracking" and isinstance(exc, CheckpointError)
    assert explain(exc).remedy is Remedy.CHOOSE_CHECKPOINT
    assert doc.observation_count() == 0


def test_gui_window_run_error_offers_a_way_forward(qtbot, tmp_path: Path, highway: Path,
                                                   openvino_detector_path: Path, monkeypatch) -> None:
    """A missing detector becomes a dialog whose "Choose detector…" reruns the same frames with the chosen file."""
    shown = []
    monkeypatch.setattr(runs, "show_error", lambda parent, exc: shown.append(exc) or Remedy.CHOOSE_DETECTOR)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(openvino_detector_path), ""))
    monkeypatch.setattr(RunDialog, "exec", lambda self: QDialog.DialogCode.Accepted)
    monkeypatch.setattr(RunDialog, "frame_range", lambda self: (0, 3))
    window = make_window(qtbot, tmp_path)
    window.preferences.run_options = {"detector": "/nowhere/weights.pt", "device": "cpu"}
    assert window.sessions.open_path(highway)
    window.run_actions["bytetrack"].trigger()
    doc = window.session.doc
    qtbot.waitUntil(lambda: doc.frame_range() == (0, 2) and not window.tracking.busy, timeout=TIMEOUT_MS)
    [error] = shown
    assert isinstance(error, DetectorError) and "/nowhere/weights.pt" in str(error)
    assert doc.get_meta("engine")["options"]["detector"] == str(openvino_detector_path)
    window.close()


def test_gui_errors_explain_memory_video_and_unexpected_failures() -> None:
    oom = explain(RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    assert oom.title == "Out of GPU memory" and "smaller SAM2 model" in oom.advice
    video = explain(VideoError("/data/clip.mp4: cannot be opened as a video"))
    assert video.remedy is Remedy.OPEN_VIDEO and "/data/clip.mp4" in video.text
    try:
        raise KeyError("boom")
    except KeyError as exc:
        unexpected = explain(exc)
    assert unexpected.title == "Unexpected error" and "Traceback" in unexpected.details


def test_gui_window_closes_cleanly_mid_run(qtbot, tmp_path: Path, highway: Path, openvino_detector_path: Path,
                                           monkeypatch) -> None:
    shown = []
    monkeypatch.setattr(runs, "show_error", lambda parent, exc: shown.append(exc) or Remedy.NONE)
    window = make_window(qtbot, tmp_path)
    assert window.sessions.open_path(highway)
    project = window.session.doc.path
    done = []
    window.tracking.progress.connect(lambda count, total, left: done.append(count))
    options = EngineOptions("bytetrack", detector=str(openvino_detector_path), device="cpu")
    window.tracking.start_tracking(options, 0, 249)
    qtbot.waitUntil(lambda: done and done[-1] >= 2, timeout=TIMEOUT_MS)
    assert window.progress.isVisible() and not window.run_actions["bytetrack"].isEnabled()
    window.close()
    assert not window.tracking.busy and window.session is None and shown == []
    with Document.open(project) as doc:
        next_frame = doc.get_meta("tracking")["next_frame"]
        assert 249 > next_frame >= done[-1] >= 2  # closing stopped the run
        assert doc.frame_range() == (0, next_frame - 1)  # every finished frame is in the project


def test_eta_leaves_paused_time_out() -> None:
    from app.gui.tracking_worker import _Running

    running = _Running("tracking", worker=None, total=10, started=0.0)
    running.pause(2.0)
    running.resume(12.0)  # ten seconds paused
    running.done = 2
    assert running.seconds_left(14.0) == pytest.approx(4.0 / 2 * 8)
    running.pause(15.0)
    assert running.seconds_left(20.0) == pytest.approx(5.0 / 2 * 8)  # still paused: the clock stands


def test_gui_worker_a_full_disk_stops_the_run_with_one_report(qtbot, highway: Path, shared_data: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Frames that cannot be saved stop the run: the earlier ones are kept, one error is reported (one dialog)."""
    from app.tracking_run import TrackingRun
    from tracker.errors import DiskFullError

    record = TrackingRun.record

    def fill_up(run: TrackingRun, doc: Document, result, state=None) -> TrackingRun:
        if result.frame >= 3:
            raise DiskFullError("p.masklet: disk full, the change is not saved (every earlier one is)")
        return record(run, doc, result, state)

    monkeypatch.setattr(TrackingRun, "record", fill_up)
    controller, doc, reported = make_controller(qtbot, highway)
    finished = []
    controller.finished.connect(lambda kind, completed: finished.append(completed))
    controller.start_tracking(EngineOptions("bytetrack", detector=str(shared_data / "highway" / "det.txt")), 0, 200)
    wait_idle(qtbot, controller)
    assert finished == [False] and [(kind, type(exc)) for kind, exc in reported] == [("tracking", DiskFullError)]
    assert doc.frame_range() == (0, 2) and doc.get_meta("tracking")["next_frame"] == 3
    assert explain(reported[0][1]).title == "Disk full"
