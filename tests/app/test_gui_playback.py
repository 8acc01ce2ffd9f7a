"""Playback speed: frames follow the clock at speed × the video's rate, the shown rate is measured."""
from __future__ import annotations

import pytest

from app.gui import playback as playback_module
from app.gui.playback import SPEEDS, Playback


class _Clock:
    """``time.perf_counter`` stand-in moved by the test."""

    def __init__(self) -> None:
        self.now = 128.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch) -> _Clock:
    clock = _Clock()
    monkeypatch.setattr(playback_module.time, "perf_counter", clock)
    return clock


def test_speed_scales_the_frames_shown_and_the_shown_rate_is_reported(qtbot, clock: _Clock) -> None:
    playback = Playback()
    playback.set_video(1000, 32.0)
    rates, speeds = [], []
    playback.fpsChanged.connect(rates.append)
    playback.speedChanged.connect(speeds.append)
    playback.set_speed(2.0)
    playback.play()
    for _ in range(3):
        clock.now += 0.125
        playback._tick()
    assert playback.frame == 24  # 0.375 s at 2 × 32 fps
    assert rates == pytest.approx([8.0] * 3)  # one frame shown every 0.125 s, from the first tick on
    playback.set_speed(0.25)  # goes on from the frame shown, no jump
    clock.now += 0.5
    playback._tick()
    assert playback.frame == 24 + 4
    clock.now += 0.5
    playback._tick()
    assert playback.frame == 24 + 8 and rates[-1] == pytest.approx(2.0)  # the new speed's rate, not an average
    assert speeds == [2.0, 0.25]
    playback.step_speed(-1)
    assert playback.speed == 0.25  # the slowest
    playback.step_speed(1)
    assert playback.speed == 0.5
    with pytest.raises(ValueError):
        playback.set_speed(SPEEDS[-1] * 2)
    playback.pause()


def test_the_rate_of_a_short_video_is_reported_before_playback_stops(qtbot, clock: _Clock) -> None:
    """Played to the end in one tick (slow display): one rate, then the stop; no rate after it."""
    playback = Playback()
    playback.set_video(4, 32.0)
    events = []
    playback.fpsChanged.connect(lambda fps: events.append(("fps", fps)))
    playback.playingChanged.connect(lambda playing: events.append(("playing", playing)))
    playback.play()
    clock.now += 0.5
    playback._tick()
    assert playback.frame == 3 and not playback.playing
    assert events == [("playing", True), ("fps", 2.0), ("playing", False)]
