"""A correction on an object's own SAM2 memory: rebuild it from the object's recorded prompts, refine
one frame with clicks or a box, propagate on.

Why replay rather than keep the tracking run's engine alive: a project outlives the process that
tracked it (runs stop and resume, projects are reopened days later), and the run's engine keeps only
a bounded correction window. Every prompt the engines give SAM2 is recorded (``SAM2Engine.take_prompts``,
stored with each frame's result), so an object's memory at any frame ``t`` is rebuilt exactly by giving
SAM2 the object's prompts again, from its first one (its last ``ADD`` before ``t``) up to ``t``, with
the model options the run used. Objects do not interact in SAM2, so the object is replayed alone: with
one object per forward pass the replay equals ``SAM2VideoPredictor`` fed the same prompts bit for bit;
when the run batched objects the replay differs from what it computed by float rounding (about 1e-6).

At ``t`` the clicks accumulate as in SAM2's ``add_new_points_or_box(clear_old_points=False)``: every
click so far, with the object's previous mask logits at ``t``; a box replaces the points. Only the
decoder runs per click (the frame's features and the memory are kept). ``propagate`` then re-tracks the
object forward, causally: later key frames of the object are not attended. ``propagate_backward`` tracks
it towards earlier frames as SAM2's reverse tracking does (memories at frame distances, in reverse order),
from the corrected mask at ``frame`` alone: a second engine on the same model is fed the frames in reverse.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence

import numpy as np

from tracker.results import Prompt, PromptKind
from tracker.sam2_engine import Frames, ObjectOutput, SAM2Engine


def replay_start(prompts: Sequence[Prompt], frame: int) -> int | None:
    """Index of the prompt the replay to ``frame`` starts from: the last ``ADD`` at or before it, else
    the object's first prompt (an annotator's correction that started it) when at or before it."""
    starts = [i for i, p in enumerate(prompts) if p.kind is PromptKind.ADD and p.frame <= frame]
    if starts:
        return starts[-1]
    return 0 if prompts and prompts[0].frame <= frame else None


class Correction:
    """One correction of ``obj_id`` at ``frame`` on ``engine`` (its objects are dropped; the model is
    reused). ``history``: the object's prompts, in the order given, from its ``ADD`` on (later ones are
    ignored); empty for an object that has none (a new object starts at ``frame``)."""

    def __init__(
        self, engine: SAM2Engine, frames: Frames, num_frames: int, obj_id: int, frame: int, history: Sequence[Prompt]
    ) -> None:
        for other in engine.object_ids:
            engine.remove_object(other)
        engine.num_frames = num_frames
        engine.take_prompts()
        self.engine, self.frames, self.obj_id, self.frame = engine, frames, obj_id, frame
        start = replay_start(history, frame)
        self._history = [] if start is None else [p for p in history[start:] if p.frame <= frame]
        self.before: ObjectOutput | None = None
        """The object at ``frame`` before the correction (None: not tracked there)."""
        self.output: ObjectOutput | None = None
        """The object at ``frame`` after the prompts so far."""
        self._points: list[tuple[float, float]] = []
        self._labels: list[int] = []
        self._box: tuple[float, float, float, float] | None = None

    @property
    def points(self) -> list[tuple[float, float]]:
        """The clicks at ``frame`` so far (since the last box)."""
        return list(self._points)

    @property
    def labels(self) -> list[int]:
        """Their labels: 1 positive, 0 negative."""
        return list(self._labels)

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        """The box prompt at ``frame`` (xyxy), if any."""
        return self._box

    @property
    def replay_frames(self) -> int:
        """How many frames ``replay`` steps through."""
        return self.frame - (self._history[0].frame if self._history else self.frame) + 1

    def replay(self) -> Iterator[int]:
        """Rebuild the object's memory up to ``frame``, one frame per iteration (yields the frame)."""
        engine, by_frame = self.engine, defaultdict(list)
        for prompt in self._history:
            by_frame[prompt.frame].append(prompt)
        first = self._history[0].frame if self._history else self.frame
        for f in range(first, self.frame + 1):
            outputs = engine.step(f, self.frames(f))
            self.before = outputs.get(self.obj_id)
            for prompt in by_frame[f]:
                self.before = engine.apply(prompt) or self.before
            yield f
        engine.take_prompts()  # stored already
        self.output = self.before

    def click(self, x: float, y: float, positive: bool) -> ObjectOutput:
        """Add a click (with every earlier one at this frame) and segment the frame again."""
        self._points.append((float(x), float(y)))
        self._labels.append(1 if positive else 0)
        return self._prompt()

    def set_box(self, xyxy: Sequence[float]) -> ObjectOutput:
        """Prompt a box; as in SAM2 it clears the earlier clicks (later clicks add to it)."""
        self._box = tuple(float(v) for v in np.asarray(xyxy).reshape(4))
        self._points, self._labels = [], []
        return self._prompt()

    def set_mask(self, mask: np.ndarray) -> ObjectOutput:
        """Prompt a mask (bool H×W), which becomes the object's mask at this frame."""
        self.output = self.engine.correct(self.obj_id, self.frame, mask=mask)
        return self.output

    def _prompt(self) -> ObjectOutput:
        points = np.array(self._points, np.float32).reshape(-1, 2) if self._points else None
        labels = np.array(self._labels, np.int32) if self._labels else None
        self.output = self.engine.correct(self.obj_id, self.frame, points=points, labels=labels, box=self._box)
        return self.output

    def propagate(self, end: int) -> Iterator[tuple[int, ObjectOutput | None]]:
        """Re-track the object through frames ``frame + 1 .. end`` (inclusive)."""
        if end <= self.frame:
            return
        for f, outputs in self.engine.repropagate_from(self.frame, self.frames, end):
            yield f, outputs.get(self.obj_id)

    def propagate_backward(self, start: int) -> Iterator[tuple[int, ObjectOutput | None]]:
        """Track the object from its corrected mask at ``frame`` back through frames ``frame - 1 .. start``
        (descending). The reversed engine's prompts are not recorded (they are not the object's history)."""
        if self.output is None or start >= self.frame:
            return
        source = self.engine
        engine = SAM2Engine(source.sam, str(source.device), fill_hole_area=source.fill_hole_area,
                            max_conditioning_frames=source.max_conditioning_frames, max_batch=source.max_batch,
                            num_frames=self.frame + 1)
        engine.step(0, self.frames(self.frame))
        engine.add_object(self.obj_id, mask=self.output.mask)
        for step in range(1, self.frame - start + 1):
            yield self.frame - step, engine.step(step, self.frames(self.frame - step)).get(self.obj_id)

    def take_prompts(self) -> list[Prompt]:
        """The prompts this correction gave SAM2 (to store with its results)."""
        return self.engine.take_prompts()

