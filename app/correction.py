"""What a correction replays from a project: a track's stored prompts, or prompts made from its stored
boxes and masks where none were stored (imported, ByteTrack or older projects). No Qt here."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from app.document import Document, Source
from tracker.correction import replay_start
from tracker.geometry import xywh_to_xyxy
from tracker.results import Prompt, PromptKind

RECENT_FRAMES = 6
"""Stored frames prompted when a track has no stored prompts: the memory SAM2 attends (num_maskmem - 1)."""


@dataclass(frozen=True)
class History:
    """The prompts that rebuild a track's memory at a frame; ``stored``: False when made from its stored
    boxes and masks (they are then new prompts, stored with the correction)."""

    prompts: list[Prompt]
    stored: bool


def correction_history(doc: Document, track_id: int, frame: int) -> History:
    """The prompts a correction of ``track_id`` at ``frame`` replays (see ``tracker.correction``)."""
    prompts = doc.prompts(track_id, 0, frame + 1)
    start = replay_start(prompts, frame)
    if start is not None:
        return History(prompts[start:], True)
    made = []
    for obs in doc.track_observations(track_id, max(0, frame - RECENT_FRAMES), frame):
        kind = PromptKind.CORRECT if made else PromptKind.ADD
        if obs.mask is not None:
            made.append(Prompt(obs.frame, track_id, kind, mask=obs.mask))
        else:
            made.append(Prompt(obs.frame, track_id, kind, box=tuple(float(v) for v in xywh_to_xyxy(obs.box)[0])))
    return History(made, False)


def next_manual_frame(doc: Document, track_id: int, frame: int) -> int | None:
    """The track's first frame after ``frame`` edited by hand (a manual key frame), if any."""
    return doc.nearest_frame(track_id, frame, Source.MANUAL, after=True)


def previous_manual_frame(doc: Document, track_id: int, frame: int) -> int | None:
    """The track's last frame before ``frame`` edited by hand (a manual key frame), if any."""
    return doc.nearest_frame(track_id, frame, Source.MANUAL, after=False)


class Reach(str, Enum):
    """How far a correction propagates forward."""

    NEXT_KEYFRAME = "next key frame"
    END = "end"
    FRAME = "frame"


def last_forward_frame(
    doc: Document, track_id: int, frame: int, reach: Reach, last: int, to_frame: int | None = None
) -> int:
    """The last frame a correction at ``frame`` propagates to: up to frame ``to_frame`` (``Reach.FRAME``),
    before the track's next manual key frame (``NEXT_KEYFRAME``) or to ``last`` (``END``); never past
    ``last`` nor before ``frame``."""
    reached = last
    if reach is Reach.FRAME and to_frame is not None:
        reached = min(to_frame, last)
    elif reach is Reach.NEXT_KEYFRAME:
        manual = next_manual_frame(doc, track_id, frame)
        reached = last if manual is None else min(last, manual - 1)
    return max(reached, frame)


def backward_start(doc: Document, track_id: int, frame: int) -> int:
    """The first frame a backward propagation from ``frame`` reaches: after the track's previous manual
    key frame, else the video's start."""
    manual = previous_manual_frame(doc, track_id, frame)
    return 0 if manual is None else manual + 1


INTERACTIVE_SIZE = 512
"""SAM2's input size for corrections when no SAM2 run chose one: a preview within a second on a CPU."""
SLOW_SECONDS = 60.0
"""A correction's ETA on the CPU above which a faster setting is proposed."""
FAST_SETTING = ("tiny", INTERACTIVE_SIZE)


def faster_setting(model: str, image_size: int | None, device: str, seconds_left: float) -> tuple[str, int] | None:
    """A faster (model, input size) to propose when a correction on the CPU will take long, if there is one."""
    fast_model, fast_size = FAST_SETTING
    if device.lower() != "cpu" or seconds_left < SLOW_SECONDS:
        return None
    if model == fast_model and image_size is not None and image_size <= fast_size:
        return None
    return fast_model, min(fast_size, image_size or fast_size)
