"""Playback: the current frame, play/pause at the video's rate (skipping frames when display lags),
and the frames themselves, read ahead while playing and kept seekable while scrubbing."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Signal

from tracker.opencv import cv2
from tracker.video import VideoSource

_log = logging.getLogger(__name__)

READ_AHEAD = 12
"""Frames decoded ahead of the current one during playback."""
SEQUENTIAL_REACH = 4
"""A frame at most this far after the decoder's last frame is decoded forward (cheaper than a JPEG)."""
SCRUB_BUDGET_BYTES = 512 * 2**20
SCRUB_QUALITY = 92
SPEEDS = (0.25, 0.5, 1.0, 1.5, 2.0, 4.0)
"""Playback speeds offered, as multiples of the video's frame rate."""


class FrameReader:
    """Frames of the open video for display.

    In a video file a seek decodes from the previous keyframe, which takes hundreds of milliseconds
    when keyframes are far apart. So a background thread decodes the file once, sequentially, and
    keeps every frame as a JPEG (a constant ~10 ms to decode) up to ``scrub_budget`` bytes: random
    access (clicks on the timeline, the slider, conflict jumps) reads those; frames just after the
    decoder's last frame come from the decoder; during playback the next frames are decoded ahead
    into the source's LRU cache.
    """

    def __init__(self, source: VideoSource, scrub_budget: int = SCRUB_BUDGET_BYTES) -> None:
        self.source = source
        self._decoded: int | None = None
        """The last frame read from the decoder."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="read-ahead")
        self._pending: Future | None = None
        self._jpegs: dict[int, bytes] = {}
        self._budget = scrub_budget
        self._stop = threading.Event()
        self.scrub_done = threading.Event()
        """Set once the scrub cache holds every frame it will hold."""
        self.scrub_seconds = 0.0
        """How long filling the scrub cache took."""
        self._filler = threading.Thread(target=self._fill, name="scrub-cache", daemon=True)
        if source.path.is_file():
            self._filler.start()
        else:
            self.scrub_done.set()  # image folders: every frame is an image already

    def __getitem__(self, frame: int) -> np.ndarray:
        jpeg = self._jpegs.get(frame)
        near = self._decoded is not None and 0 <= frame - self._decoded <= SEQUENTIAL_REACH
        if jpeg is not None and not near:
            rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
            rgb.flags.writeable = False
            return rgb
        self._decoded = frame
        return self.source[frame]

    @property
    def scrub_frames(self) -> int:
        """Frames in the scrub cache."""
        return len(self._jpegs)

    def _fill(self) -> None:
        used, begin = 0, time.perf_counter()
        try:
            with VideoSource.open(self.source.path, cache_size=0) as video:
                for index, rgb in video.frames():
                    if self._stop.is_set() or used >= self._budget:
                        break
                    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                                            [cv2.IMWRITE_JPEG_QUALITY, SCRUB_QUALITY])
                    if ok:
                        self._jpegs[index] = data.tobytes()
                        used += data.nbytes
        except Exception:  # the cache only speeds seeks up; the decoder still serves every frame
            _log.warning("scrub cache of %s stopped", self.source.path, exc_info=True)
        finally:
            self.scrub_seconds = time.perf_counter() - begin
            self.scrub_done.set()

    def read_ahead(self, frame: int, count: int = READ_AHEAD) -> None:
        """Decode frames after ``frame`` unless a read-ahead is still running."""
        if self._pending is not None and not self._pending.done():
            return
        frames = range(frame + 1, min(frame + 1 + count, self.source.frame_count))
        self._pending = self._executor.submit(lambda: [self.source[i] for i in frames])

    def close(self) -> None:
        """Stop the background threads (the source itself belongs to the session)."""
        self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)
        if self._filler.is_alive():
            self._filler.join(timeout=5)


class Playback(QObject):
    """The current frame and playback. ``frameChanged`` asks the window to display a frame; while
    playing, the frame shown follows the wall clock at ``speed`` × the video's rate, so slow display
    skips frames instead of drifting. ``fpsChanged`` reports the frames actually shown per second."""

    frameChanged = Signal(int)
    playingChanged = Signal(bool)
    fpsChanged = Signal(float)
    speedChanged = Signal(float)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.frame_count = 0
        self.fps = 30.0
        self.frame = 0
        self.speed = 1.0
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._tick)
        self._clock_start = 0.0
        self._frame_start = 0
        self._shown: deque[float] = deque(maxlen=30)

    def set_video(self, frame_count: int, fps: float) -> None:
        self.pause()
        self.frame_count, self.fps = frame_count, fps if fps > 0 else 30.0
        self.frame = -1
        self.seek(0)

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def seek(self, frame: int) -> None:
        """Show ``frame`` (clamped to the video)."""
        if self.frame_count == 0:
            return
        frame = min(max(int(frame), 0), self.frame_count - 1)
        if frame != self.frame:
            self.frame = frame
            self.frameChanged.emit(frame)
        if self.playing:
            self._clock_start, self._frame_start = time.perf_counter(), frame

    def step(self, delta: int) -> None:
        self.pause()
        self.seek(self.frame + delta)

    def play(self) -> None:
        if self.playing or self.frame_count == 0:
            return
        if self.frame >= self.frame_count - 1:
            self.seek(0)
        self._clock_start, self._frame_start = time.perf_counter(), self.frame
        self._shown.clear()
        self._shown.append(self._clock_start)  # the frame shown when playing starts counts
        self._timer.start(self._interval_ms())
        self.playingChanged.emit(True)

    def _interval_ms(self) -> int:
        return max(1, round(1000 / (self.fps * self.speed)))

    def set_speed(self, speed: float) -> None:
        """Play at ``speed`` × the video's rate (from ``SPEEDS[0]`` to ``SPEEDS[-1]``); playing goes on from
        the frame shown, and the measured rate starts over."""
        if not SPEEDS[0] <= speed <= SPEEDS[-1]:
            raise ValueError(f"speed must be from {SPEEDS[0]} to {SPEEDS[-1]}, not {speed}")
        self.speed = float(speed)
        if self.playing:
            self._clock_start, self._frame_start = time.perf_counter(), self.frame
            self._shown.clear()
            self._shown.append(self._clock_start)
            self._timer.setInterval(self._interval_ms())
        self.speedChanged.emit(self.speed)

    def step_speed(self, direction: int) -> None:
        """The next faster (1) or slower (-1) of ``SPEEDS``."""
        faster = [s for s in SPEEDS if s > self.speed]
        slower = [s for s in SPEEDS if s < self.speed]
        if direction > 0 and faster:
            self.set_speed(faster[0])
        elif direction < 0 and slower:
            self.set_speed(slower[-1])

    def pause(self) -> None:
        if self.playing:
            self._timer.stop()
            self.playingChanged.emit(False)

    def toggle(self) -> None:
        if self.playing:
            self.pause()
        else:
            self.play()

    def _tick(self) -> None:
        target = self._frame_start + int((time.perf_counter() - self._clock_start) * self.fps * self.speed)
        if target <= self.frame:
            return
        self.frame = min(target, self.frame_count - 1)
        self.frameChanged.emit(self.frame)
        self._shown.append(time.perf_counter())
        if self._shown[-1] > self._shown[0]:
            self.fpsChanged.emit((len(self._shown) - 1) / (self._shown[-1] - self._shown[0]))
        if self.frame == self.frame_count - 1:
            self.pause()  # after the last rate: a stopped player shows none
