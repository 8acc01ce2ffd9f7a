"""What a correction replays from a project: a track's stored prompts, or prompts made from its stored
boxes and masks where none were stored (imported, ByteTrack or older projects). No Qt here."""
from __future__ import annotations

from dataclasses import dataclass

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
    prompts = doc.prompts(track_id, 0, frame)
    start = replay_start(prompts, frame)
    if start is not None:
        return History(prompts[start:], True)
    made = []
    for obs in doc.track_observations(track_id, max(0, frame - RECENT_FRAMES), frame - 1):
        kind = PromptKind.CORRECT if made else PromptKind.ADD
        if obs.mask is not None:
            made.append(Prompt(obs.frame, track_id, kind, mask=obs.mask))
        else:
            made.append(Prompt(obs.frame, track_id, kind, box=tuple(float(v) for v in xywh_to_xyxy(obs.box)[0])))
    return History(made, False)


def next_manual_frame(doc: Document, track_id: int, frame: int) -> int | None:
    """The track's first frame after ``frame`` edited by hand (a manual key frame), if any."""
    return doc.first_frame_after(track_id, frame, Source.MANUAL)
