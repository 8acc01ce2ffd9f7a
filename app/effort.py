"""The annotator's effort as a number: the actions that turn predictions into the ground truth.

A simulated annotator fixes the predictions with Masklet's own edits. Boxes are matched per frame as
CLEAR MOT (TrackEval) matches them: Hungarian on IoU ≥ 0.5, a match continuing from the previous frame
kept first. Then it counts, per sequence:

- **ID fixes** (reassign / swap from frame N): each change of the matched predicted id along a
  ground-truth track (TrackEval's IDSW), two changes that exchange the same two ids at the same frame
  counting once (one swap), plus each change of the matched ground-truth track along a predicted track
  (a track to split) that no such change at the same frame already fixes;
- **deletions**: runs of a predicted track's consecutive unmatched boxes (one ``DeleteTrack`` range each);
- **additions**: runs of a ground-truth track's consecutive missed boxes, each drawn with box prompts;
- **box fixes**: runs of a ground-truth track's consecutive matched boxes below ``tight_iou`` (0.7), each
  redrawn with box prompts.

Box prompts per run of ``L`` boxes: one where the annotator's correction is propagated (SAM2: the
predictions hold masks), else key frames with interpolation, ``1 + ceil((L - 1) / K)`` (``K`` =
``keyframe_every``, 10; ``K = 1``: every box drawn). The weighted total in seconds uses ``WEIGHTS``:

- ``box`` 7.0 s per drawn box: extreme clicking (Papadopoulos, Uijlings, Keller, Ferrari, *Extreme
  clicking for efficient object annotation*, ICCV 2017: 7 s per box; 35 s under ILSVRC's protocol);
- ``deletion`` 2.7 s and ``id_fix`` 6.0 s: the Keystroke-Level Model (Card, Moran, Newell, *The
  Keystroke-Level Model for user performance time with interactive systems*, CACM 23(7), 1980: mental
  preparation M 1.35 s, pointing P 1.1 s, keystroke K 0.28 s). A deletion is M + P (pick the track) + K;
  an ID fix is M + 2P (the track, the frame) + K (R or W) + M + 3K (type the id, Enter).

Labelling from scratch costs every ground-truth box drawn at the same ``box`` weight. Each action's
seconds lie on the frame where the annotator performs it (``Effort.frame_seconds``): an ID fix at the frame of
the change, a deletion at its run's first frame, each box prompt at its key frame. The review queue's recall
is measured on them (``app.review``).
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from app.document import Document
from tracker.errors import MaskletError
from tracker.geometry import gated_assignment

WEIGHTS: dict[str, float] = {"id_fix": 6.0, "deletion": 2.7, "box": 7.0}
"""Seconds per action (see the module docstring for the sources)."""
COUNTS = ("id_fixes", "id_switches", "swaps", "splits", "deletions", "deleted_boxes", "additions",
          "missed_boxes", "addition_prompts", "box_fixes", "loose_boxes", "box_fix_prompts", "gt_boxes")
_EPS = np.finfo(float).eps


class EffortError(MaskletError):
    """Effort options that cannot be used."""


@dataclass(frozen=True)
class EffortConfig:
    """How the annotator works: match and tight IoU, key-frame interval, propagation, weights."""

    iou: float = 0.5
    tight_iou: float = 0.7
    keyframe_every: int = 10
    propagate: bool | None = None
    """True: a prompt fixes a whole run (SAM2); False: key frames; None: True where the predictions hold masks."""
    weights: dict[str, float] = field(default_factory=lambda: dict(WEIGHTS))

    def keyframes(self, length: int, propagate: bool) -> list[int]:
        """Where in a run of ``length`` boxes the annotator draws: its first box (propagated), or key frames every
        ``keyframe_every`` boxes and the last, ``1 + ceil((length - 1) / K)`` in all."""
        if propagate or length == 1:
            return [0]
        return [*range(0, length - 1, self.keyframe_every), length - 1]


@dataclass
class Effort:
    """Action counts, seconds and the seconds per frame of one sequence (or several, combined)."""

    id_fixes: int = 0
    id_switches: int = 0
    swaps: int = 0
    splits: int = 0
    deletions: int = 0
    deleted_boxes: int = 0
    additions: int = 0
    missed_boxes: int = 0
    addition_prompts: int = 0
    box_fixes: int = 0
    loose_boxes: int = 0
    box_fix_prompts: int = 0
    gt_boxes: int = 0
    seconds: float = 0.0
    scratch_seconds: float = 0.0
    propagate: bool = False
    frame_seconds: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def summary(self) -> dict[str, Any]:
        """The counts and seconds (json-ready; no per-frame array)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "frame_seconds"}
        values["seconds"] = round(self.seconds, 1)
        values["scratch_seconds"] = round(self.scratch_seconds, 1)
        return values

    def __add__(self, other: Effort) -> Effort:
        total = Effort(**{name: getattr(self, name) + getattr(other, name) for name in (*COUNTS, "seconds",
                                                                                      "scratch_seconds")})
        total.propagate = self.propagate and other.propagate
        return total


def parse_weights(text: str) -> dict[str, float]:
    """``id_fix=6,deletion=2.7,box=7`` → the weights with those replaced."""
    weights = dict(WEIGHTS)
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or key.strip() not in WEIGHTS:
            raise EffortError(f"--effort-weights {text!r}: expected NAME=SECONDS with NAME in {', '.join(WEIGHTS)}")
        try:
            weights[key.strip()] = float(value)
        except ValueError:
            raise EffortError(f"--effort-weights {text!r}: {value!r} is not a number of seconds") from None
        if not weights[key.strip()] >= 0:
            raise EffortError(f"--effort-weights {text!r}: seconds must not be negative")
    return weights


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The effort options (``masklet eval --effort``, ``masklet review --gt``)."""
    parser.add_argument("--tight-iou", type=float, default=0.7, metavar="T",
                        help="effort: matched boxes below this IoU need a box fix (0.7)")
    parser.add_argument("--keyframe-every", type=int, default=10, metavar="K",
                        help="effort without propagation: one drawn key frame per K frames of a run (10)")
    parser.add_argument("--propagation", choices=("auto", "yes", "no"), default="auto",
                        help="effort: one prompt fixes a whole run (yes, SAM2), key frames (no), or yes where the "
                             "predictions hold masks (auto)")
    parser.add_argument("--effort-weights", default="", metavar="NAME=S,…",
                        help="effort: seconds per action, e.g. id_fix=6,deletion=2.7,box=7 (the defaults)")


def config_from(args: argparse.Namespace) -> EffortConfig:
    """The effort configuration the command line asks for."""
    if not 0 < args.tight_iou <= 1:
        raise EffortError(f"--tight-iou must be in (0, 1], not {args.tight_iou}")
    if args.keyframe_every < 1:
        raise EffortError(f"--keyframe-every must be at least 1, not {args.keyframe_every}")
    propagate = {"auto": None, "yes": True, "no": False}[args.propagation]
    return EffortConfig(iou=getattr(args, "iou", 0.5), tight_iou=args.tight_iou, keyframe_every=args.keyframe_every,
                        propagate=propagate, weights=parse_weights(args.effort_weights))


def clear_matches(data: dict[str, Any], iou: float = 0.5) -> list[list[tuple[int, int, float]]]:
    """Per frame, the ``(gt_id, tracker_id, iou)`` matches of TrackEval's CLEAR metric on its sequence data
    (``app.commands.eval.sequence_data``): a pair continuing from the previous frame scores 1000 more, pairs
    below ``iou`` are never matched."""
    previous = np.full(data["num_gt_ids"], -1, np.int64)  # tracker matched at the previous frame, per gt id
    matches: list[list[tuple[int, int, float]]] = []
    for gt_ids, tracker_ids, similarity in zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"]):
        continuing = tracker_ids[None, :] == previous[gt_ids][:, None]
        pairs = gated_assignment(1000 * continuing + similarity, similarity >= iou - _EPS)
        found = [(int(gt_ids[r]), int(tracker_ids[c]), float(similarity[r, c])) for r, c in pairs]
        previous[:] = -1
        for g, t, _ in found:
            previous[g] = t
        matches.append(found)
    return matches


def _runs(flags: list[tuple[int, bool]]) -> list[list[int]]:
    """Frames of the maximal runs of consecutive entries (in order) whose flag is set."""
    runs: list[list[int]] = []
    current: list[int] = []
    for frame, flag in flags:
        if flag:
            current.append(frame)
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs


def sequence_effort(data: dict[str, Any], config: EffortConfig, propagate: bool) -> Effort:
    """The effort of turning one sequence's predictions into its ground truth (TrackEval sequence data)."""
    steps, weights = data["num_timesteps"], config.weights
    matches = clear_matches(data, config.iou)
    effort = Effort(propagate=propagate, frame_seconds=np.zeros(steps))
    per_frame = effort.frame_seconds

    def prompts(run: list[int]) -> int:
        frames = [run[i] for i in config.keyframes(len(run), propagate)]
        per_frame[frames] += weights["box"]
        return len(frames)

    gt_flags: dict[int, list[tuple[int, bool]]] = defaultdict(list)  # missed?
    loose_flags: dict[int, list[tuple[int, bool]]] = defaultdict(list)  # matched below the tight IoU?
    pred_flags: dict[int, list[tuple[int, bool]]] = defaultdict(list)  # unmatched?
    last_pred: dict[int, int] = {}
    last_gt: dict[int, int] = {}
    for t, (gt_ids, tracker_ids, found) in enumerate(zip(data["gt_ids"], data["tracker_ids"], matches)):
        of_gt = {g: (p, s) for g, p, s in found}
        matched_pred = {p: g for g, p, _ in found}
        for g in gt_ids.tolist():
            pair = of_gt.get(g)
            gt_flags[g].append((t, pair is None))
            loose_flags[g].append((t, pair is not None and pair[1] < config.tight_iou))
        for p in tracker_ids.tolist():
            pred_flags[p].append((t, p not in matched_pred))
        switches = [(last_pred[g], p) for g, p, _ in found if last_pred.get(g, p) != p]
        exchanged = {frozenset(s) for s in switches if (s[1], s[0]) in switches}
        covered = {p for switch in switches for p in switch}
        splits = [p for g, p, _ in found if last_gt.get(p, g) != g and p not in covered]
        fixes = len(switches) - len(exchanged) + len(splits)
        effort.id_switches += len(switches)
        effort.swaps += len(exchanged)
        effort.splits += len(splits)
        effort.id_fixes += fixes
        per_frame[t] += fixes * weights["id_fix"]
        for g, p, _ in found:
            last_pred[g], last_gt[p] = p, g
    for flags in pred_flags.values():
        for run in _runs(flags):
            effort.deletions += 1
            effort.deleted_boxes += len(run)
            per_frame[run[0]] += weights["deletion"]
    for g, flags in gt_flags.items():
        effort.gt_boxes += len(flags)
        for run in _runs(flags):
            effort.additions += 1
            effort.missed_boxes += len(run)
            effort.addition_prompts += prompts(run)
        for run in _runs(loose_flags[g]):
            effort.box_fixes += 1
            effort.loose_boxes += len(run)
            effort.box_fix_prompts += prompts(run)
    effort.seconds = float(per_frame.sum())
    effort.scratch_seconds = effort.gt_boxes * weights["box"]
    return effort


def propagates(config: EffortConfig, pred: Document) -> bool:
    """Whether a prompt fixes a whole run: as configured, else where the predictions hold masks (SAM2)."""
    if config.propagate is not None:
        return config.propagate
    return pred.has_masks()


def report(efforts: dict[str, Effort], config: EffortConfig) -> dict[str, Any]:
    """The json form: the configuration, per sequence and combined."""
    combined = sum(efforts.values(), Effort(propagate=True)) if efforts else Effort()
    settings = {key: value for key, value in asdict(config).items() if key != "propagate"}
    return {**settings, "sequences": {name: e.summary() for name, e in efforts.items()},
            "combined": combined.summary()}


def format_table(effort: dict[str, Any]) -> str:
    """A text table of the actions and seconds per sequence and combined (``report``'s form)."""
    rows = [*effort["sequences"].items()]
    if len(rows) > 1:
        rows.append(("COMBINED", effort["combined"]))
    columns = ("id_fixes", "deletions", "additions", "addition_prompts", "box_fixes", "box_fix_prompts", "seconds",
               "scratch_seconds")
    heads = ("ID fixes", "deletions", "additions", "(prompts)", "box fixes", "(prompts)", "seconds", "scratch s")
    width = max(len("effort"), *(len(name) for name, _ in rows))
    lines = [f"{'effort':<{width}}" + "".join(f"{h:>11}" for h in heads)]
    lines.append("-" * len(lines[0]))
    for name, values in rows:
        lines.append(f"{name:<{width}}" + "".join(f"{values[c]:>11.0f}" for c in columns))
    return "\n".join(lines)
