"""``masklet eval``: HOTA, CLEAR (MOTA…) and Identity (IDF1…) metrics of predictions against ground truth,
computed by TrackEval's metric classes on data built from Masklet documents.

Inputs (``--gt``/``--pred``, pairs in order): MOT txt files or sequence folders, COCO-VID json (each video a
sequence), ``.masklet`` projects, or folders of those (sequence folders / ``<sequence>.txt`` results),
matched by sequence name. Every input is read with the format registry into a document first.

Evaluation modes (``--preprocess``):

- ``plain`` (default; what py-motmetrics does with MOT txt): every prediction counts; ground-truth rows
  with score 0 (MOT conf 0, COCO ``iscrowd``) are ignored; ``--classes`` keeps those categories (predictions
  without a category are kept).
- ``motchallenge``: TrackEval's MOT17 rules — only ``pedestrian`` ground truth is evaluated, and predictions
  matching (IoU ≥ 0.5) a distractor box (person_on_vehicle, static_person, distractor, reflection) are removed.

``--iou`` is the match threshold of CLEAR and Identity; HOTA averages over thresholds 0.05–0.95.

``--effort`` also counts the annotator's actions that turn the predictions into the ground truth and their
seconds, next to labelling from scratch (``app.effort``; json key ``effort``).

Frame numbering of text predictions: ``--frame-base 0|1`` gives it; otherwise it is detected (a frame 0 row
means 0-based) and printed with its evidence, and a detected numbering under which the predictions match the
ground truth worse than shifted by one frame is refused (give ``--frame-base``). Prediction rows past the
sequence's length are reported. In ``motchallenge`` mode MOT ground truth is read with MOTChallenge's class
numbering; in ``plain`` mode a note suggests that mode when the ground truth has distractor classes.
"""
from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app import effort
from app.document import PROJECT_SUFFIX, Document, ObservationArrays
from exporters.base import frame_limit
from tracker.errors import MaskletError
from tracker.files import is_temp_name
from tracker.geometry import box_iou, xywh_to_xyxy

_log = logging.getLogger(__name__)

PREPROCESS_MODES = ("plain", "motchallenge")
GENERIC_STEMS = frozenset({"gt", "det", "test", "pred", "preds", "predictions", "results", "tracker"})
DISTRACTOR_CLASSES = ("person_on_vehicle", "static_person", "distractor", "reflection")
TABLE_COLUMNS = ("HOTA", "DetA", "AssA", "MOTA", "MOTP", "IDF1", "IDP", "IDR", "IDSW", "FP", "FN", "MT", "PT", "ML",
                 "Frag")


class EvalError(MaskletError):
    """Inputs that cannot be evaluated together."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "eval", help="HOTA, MOTA, IDF1… of predictions against ground truth (TrackEval)",
        description="Compute HOTA (DetA, AssA), CLEAR (MOTA, MOTP, IDSW, FP, FN, MT, ML…) and Identity (IDF1, IDP, "
                    "IDR) per sequence and combined. --gt and --pred take files or folders, paired in order.",
    )
    parser.add_argument("--gt", type=Path, nargs="+", required=True,
                        help="ground truth: MOT txt / sequence folder, COCO-VID json, .masklet, or a folder of sequences")
    parser.add_argument("--pred", type=Path, nargs="+", required=True,
                        help="predictions, one per --gt (a folder: <sequence>.txt files or sequence folders)")
    parser.add_argument("--iou", type=float, default=0.5, help="IoU threshold of a match for CLEAR and Identity (0.5)")
    parser.add_argument("--classes", nargs="+", metavar="CLASS", help="evaluate only these category names or ids")
    parser.add_argument("--preprocess", choices=PREPROCESS_MODES, default="plain",
                        help="plain: every row counts (default); motchallenge: TrackEval's MOT17 distractor rules")
    parser.add_argument("--frame-base", type=int, choices=(0, 1),
                        help="frame numbering of text predictions (default: detected, printed, checked against the GT)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the metrics to this json file")
    parser.add_argument("--effort", action="store_true",
                        help="also count the annotator's actions (ID fixes, deletions, additions, box fixes) and seconds")
    effort.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 0 < args.iou <= 1:
        raise EvalError(f"--iou must be in (0, 1], not {args.iou}")
    if args.json is not None:
        from exporters.base import check_destination

        check_destination(args.json)  # before the evaluation, not after it
    pairs = pair_sequences(args.gt, args.pred)
    config = effort.config_from(args) if args.effort else None
    results = evaluate(pairs, iou=args.iou, classes=args.classes, preprocess=args.preprocess,
                       frame_base=args.frame_base, notes=print, effort_config=config)
    print(format_table(results))
    if config is not None:
        print(effort.format_table(results["effort"]))
    if args.json is not None:
        from exporters.base import write_text

        report = {"iou": args.iou, "preprocess": args.preprocess, "classes": args.classes, **results}
        write_text(args.json, json.dumps(report, indent=2) + "\n")
    return 0


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True)
class SequenceInput:
    """One sequence of an input: a project, a label file or folder, or one video of a COCO-VID json."""

    name: str
    path: Path
    video_name: str | None = None

    def load(self, **options: Any) -> Document:
        """The sequence as a document (reader ``options`` for label files)."""
        if self.path.suffix == PROJECT_SUFFIX:
            return Document.open(self.path, read_only=True)
        from exporters import registry

        if self.video_name is not None:
            options["video_name"] = self.video_name
        return registry.get(registry.guess_format(self.path)).read(self.path, None, **options)


def find_sequences(path: Path, role: str) -> list[SequenceInput]:
    """The sequences of one ``--gt`` (role ``gt``) or ``--pred`` (role ``pred``) argument: a file (each video
    of a COCO-VID json), a sequence folder, or a folder of sequence folders (and, for predictions,
    ``<sequence>.txt`` files)."""
    if not path.exists():
        raise EvalError(f"{path}: no such file or folder")
    if path.is_file():
        return _file_sequences(path)
    own = _sequence_file(path, role)
    if own is not None:
        return [SequenceInput(path.name, own)]
    found: list[SequenceInput] = []
    for child in sorted(path.iterdir()):
        if is_temp_name(child.name):  # an unfinished export, not a sequence
            continue
        if child.is_dir() and (file := _sequence_file(child, role)) is not None:
            found.append(SequenceInput(child.name, file))
        elif role == "pred" and child.suffix == ".txt":
            found.append(SequenceInput(child.stem, child))
    if not found:
        raise EvalError(f"{path}: no sequences found (expected label files or sequence folders)")
    return found


def _file_sequences(path: Path) -> list[SequenceInput]:
    if path.suffix == ".json":
        from exporters.cocovid import video_names

        names = video_names(path)
        if len(names) > 1:
            return [SequenceInput(name, path, name) for name in names]
        return [SequenceInput(names[0] if names else path.stem, path)]
    return [SequenceInput(_sequence_name(path), path)]


def _sequence_name(path: Path) -> str:
    """``MOT17-02/gt/gt.txt`` and ``TUD-Campus/test.txt`` → the folder's name; ``MOT17-02.txt`` → its stem."""
    if path.parent.name in ("gt", "det"):
        return path.parent.parent.name
    return path.parent.name if path.stem in GENERIC_STEMS else path.stem


def _sequence_file(folder: Path, role: str) -> Path | None:
    """A folder's own sequence: ground truth (``gt/gt.txt``, ``gt.txt``) or its one results txt."""
    from exporters.mot import sequence_file

    if role == "gt":
        return sequence_file(folder)
    candidates = [p for p in folder.glob("*.txt") if p.name not in ("gt.txt", "det.txt")]
    return candidates[0] if len(candidates) == 1 else sequence_file(folder)


def pair_sequences(gt: Sequence[Path], pred: Sequence[Path]) -> list[tuple[str, SequenceInput, SequenceInput]]:
    """(name, gt, pred) for every sequence: argument pairs in order, sequences inside them matched by name."""
    if len(gt) != len(pred):
        raise EvalError(f"give one --pred per --gt ({len(gt)} --gt, {len(pred)} --pred)")
    pairs: list[tuple[str, SequenceInput, SequenceInput]] = []
    for gt_path, pred_path in zip(gt, pred):
        gts, preds = find_sequences(gt_path, "gt"), find_sequences(pred_path, "pred")
        if len(gts) == len(preds) == 1:
            pairs.append((gts[0].name, gts[0], preds[0]))
            continue
        by_name = {s.name: s for s in preds}
        missing = [s.name for s in gts if s.name not in by_name]
        if missing:
            raise EvalError(f"{pred_path}: no predictions for {', '.join(missing)}")
        extra = sorted(set(by_name) - {s.name for s in gts})
        if extra:
            _log.warning("%s: no ground truth for %s; left out", pred_path, ", ".join(extra))
        pairs.extend((s.name, s, by_name[s.name]) for s in gts)
    names = [name for name, _, _ in pairs]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise EvalError(f"several sequences named {', '.join(repeated)}")
    return pairs


# --------------------------------------------------------------------------- evaluation
def evaluate(
    pairs: Sequence[tuple[str, SequenceInput, SequenceInput]],
    *,
    iou: float = 0.5,
    classes: Sequence[str] | None = None,
    preprocess: str = "plain",
    frame_base: int | None = None,
    notes: Callable[[str], object] = _log.info,
    effort_config: effort.EffortConfig | None = None,
) -> dict[str, Any]:
    """``{"sequences": {name: metrics}, "combined": metrics}`` (see ``summarise`` for the keys), with
    ``effort_config`` also ``"effort"`` (``app.effort.report``); what was decided about the inputs (frame
    numbering, rows past the end, distractors) goes to ``notes``."""
    from trackeval.metrics import CLEAR, HOTA, Identity

    metrics = [HOTA(), CLEAR({"THRESHOLD": iou, "PRINT_CONFIG": False}),
               Identity({"THRESHOLD": iou, "PRINT_CONFIG": False})]
    raw: dict[str, dict[str, dict[str, Any]]] = {}
    efforts: dict[str, effort.Effort] = {}
    gt_options = {"classes": "mot17"} if preprocess == "motchallenge" else {}
    for name, gt_input, pred_input in pairs:
        with gt_input.load(**gt_options) as gt, pred_input.load(frame_base=frame_base) as pred:
            check_inputs(name, gt, pred, forced=frame_base is not None, preprocess=preprocess, notes=notes)
            data = sequence_data(gt, pred, classes=classes, preprocess=preprocess, name=name)
            if effort_config is not None:
                efforts[name] = effort.sequence_effort(data, effort_config, effort.propagates(effort_config, pred))
        raw[name] = {metric.get_name(): metric.eval_sequence(data) for metric in metrics}
    combined = {m.get_name(): m.combine_sequences({n: r[m.get_name()] for n, r in raw.items()}) for m in metrics}
    results = {"sequences": {name: summarise(result) for name, result in raw.items()}, "combined": summarise(combined)}
    if effort_config is not None:
        results["effort"] = effort.report(efforts, effort_config)
    return results


def check_inputs(name: str, gt: Document, pred: Document, *, forced: bool, preprocess: str,
                 notes: Callable[[str], object]) -> None:
    """Say how the predictions' frames were numbered and why; refuse a detected numbering that fits the ground
    truth worse than a one-frame shift; report rows past the sequence; suggest MOTChallenge preprocessing."""
    from exporters.base import read_report

    report = read_report(pred)
    if report is not None and report.frame_base is not None:
        notes(f"{name}: predictions {report.path}: frames {report.frame_base}-based ({report.frame_evidence})")
        if not forced:
            matches = {shift: _matches(gt, pred, shift) for shift in (-1, 0, 1)}
            best = max(matches, key=lambda shift: matches[shift])
            if best != 0 and matches[best] > matches[0]:
                raise EvalError(
                    f"{report.path}: read as {report.frame_base}-based, the predictions fit the ground truth better "
                    f"shifted by {best:+d} frame ({matches[best]} boxes match, {matches[0]} unshifted); give "
                    "--frame-base 0 or 1")
    video = gt.video
    if video is not None:
        past = int((pred.observation_arrays(video.frame_count).frame >= video.frame_count).sum())
        if past:
            notes(f"{name}: {past} predicted boxes lie past the sequence's {video.frame_count} frames "
                  "(they count as false positives)")
    from exporters.categories import MOT17_CLASSES, placeholder_id

    names = {MOT17_CLASSES.get(placeholder_id(n) or 0, n) for n in gt.categories().values()}  # class N: MOT's N
    if preprocess == "plain" and names & set(DISTRACTOR_CLASSES):
        notes(f"{name}: the ground truth has distractor classes; MOTChallenge evaluates with --preprocess motchallenge")


def _matches(gt: Document, pred: Document, shift: int) -> int:
    """Predicted boxes with IoU ≥ 0.5 to a ground-truth box of their frame moved by ``shift``."""
    gt_rows, pred_rows = gt.observation_arrays(), pred.observation_arrays()
    gt_boxes, pred_boxes = xywh_to_xyxy(gt_rows.box), xywh_to_xyxy(pred_rows.box)
    count = 0
    for frame in np.intersect1d(np.unique(gt_rows.frame), np.unique(pred_rows.frame + shift)).tolist():
        similarity = box_iou(gt_boxes[gt_rows.frame == frame], pred_boxes[pred_rows.frame + shift == frame])
        count += int((similarity.max(axis=0, initial=0) >= 0.5).sum())
    return count


def summarise(raw: dict[str, dict[str, Any]]) -> dict[str, float | int]:
    """TrackEval's fields under the usual names: ratios as fractions (HOTA family averaged over its
    thresholds), counts as ints."""
    hota, clear, identity = raw["HOTA"], raw["CLEAR"], raw["Identity"]
    result: dict[str, float | int] = {
        key: float(np.mean(hota[key])) for key in ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA")
    }
    result |= {"MOTA": clear["MOTA"], "MOTP": clear["MOTP"], "MODA": clear["MODA"],
               "Recall": clear["CLR_Re"], "Precision": clear["CLR_Pr"]}
    result |= {"IDF1": identity["IDF1"], "IDP": identity["IDP"], "IDR": identity["IDR"]}
    result = {key: float(value) for key, value in result.items()}
    counts = {"IDSW": clear["IDSW"], "FP": clear["CLR_FP"], "FN": clear["CLR_FN"], "TP": clear["CLR_TP"],
              "MT": clear["MT"], "PT": clear["PT"], "ML": clear["ML"], "Frag": clear["Frag"],
              "GT": clear["MT"] + clear["PT"] + clear["ML"], "IDTP": identity["IDTP"], "IDFP": identity["IDFP"],
              "IDFN": identity["IDFN"]}
    return result | {key: int(value) for key, value in counts.items()}


def sequence_data(
    gt: Document,
    pred: Document,
    *,
    classes: Sequence[str] | None = None,
    preprocess: str = "plain",
    name: str = "",
) -> dict[str, Any]:
    """TrackEval's per-sequence data (ids relabelled 0…n-1, IoU similarities per frame) from two documents."""
    gt_rows, pred_rows = gt.observation_arrays(), pred.observation_arrays()
    gt_category, pred_category = _row_categories(gt, gt_rows), _row_categories(pred, pred_rows)
    gt_keep = gt_rows.score != 0
    pred_keep = np.ones(len(pred_rows), bool)
    if classes:
        gt_keep &= np.isin(gt_category, _category_ids(gt, classes, name, required=True))
        pred_keep &= (pred_category < 0) | np.isin(pred_category, _category_ids(pred, classes, name))
    if preprocess == "motchallenge":
        pedestrian = _category_ids(gt, ["pedestrian"], name, required=True)
        distractors = _category_ids(gt, DISTRACTOR_CLASSES, name)
    elif preprocess != "plain":
        raise EvalError(f"unknown preprocessing {preprocess!r} ({', '.join(PREPROCESS_MODES)})")
    video = gt.video
    last = max([int(r.frame.max()) for r in (gt_rows, pred_rows) if len(r)], default=-1)
    steps = max(last + 1, video.frame_count if video is not None else 0)
    if steps > frame_limit(video):  # a project's frame number, never a reason to loop or allocate without bound
        raise EvalError(f"{name}: frame {last} is beyond the {frame_limit(video)} frames a sequence may have here")
    gt_index, pred_index = _frame_slices(gt_rows.frame, steps), _frame_slices(pred_rows.frame, steps)
    gt_boxes, pred_boxes = xywh_to_xyxy(gt_rows.box), xywh_to_xyxy(pred_rows.box)
    per_step: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for t in range(steps):
        g = np.arange(*gt_index[t])
        p = np.arange(*pred_index[t])
        p = p[pred_keep[p]]
        similarity = box_iou(gt_boxes[g], pred_boxes[p])
        if preprocess == "motchallenge":
            removed = _matched_to(similarity, np.isin(gt_category[g], distractors))
            p, similarity = p[~removed], similarity[:, ~removed]
            keep = gt_keep[g] & np.isin(gt_category[g], pedestrian)
        else:
            keep = gt_keep[g]
        per_step.append((g[keep], p, similarity[keep]))
    gt_ids, num_gt_ids = _relabel(gt_rows.track_id, [g for g, _, _ in per_step])
    pred_ids, num_pred_ids = _relabel(pred_rows.track_id, [p for _, p, _ in per_step])
    return {
        "seq": name, "num_timesteps": steps,
        "gt_ids": [gt_ids[g] for g, _, _ in per_step], "tracker_ids": [pred_ids[p] for _, p, _ in per_step],
        "similarity_scores": [s for _, _, s in per_step],
        "num_gt_dets": sum(len(g) for g, _, _ in per_step), "num_tracker_dets": sum(len(p) for _, p, _ in per_step),
        "num_gt_ids": num_gt_ids, "num_tracker_ids": num_pred_ids,
    }


def _frame_slices(frames: np.ndarray, steps: int) -> np.ndarray:
    """``(start, end)`` row range of each frame 0…steps-1 in frame-sorted rows."""
    bounds = np.searchsorted(frames, np.arange(steps + 1))
    return np.stack([bounds[:-1], bounds[1:]], axis=1)


def _relabel(track_ids: np.ndarray, kept: list[np.ndarray]) -> tuple[np.ndarray, int]:
    """Per row, the index of its track among the tracks of the kept rows (TrackEval wants ids 0…n-1),
    and the number of those tracks."""
    labels = np.full(len(track_ids), -1, np.int64)
    rows = np.concatenate(kept) if kept else np.empty(0, np.int64)
    used, labels[rows] = np.unique(track_ids[rows], return_inverse=True)
    return labels, len(used)


def _matched_to(similarity: np.ndarray, gt_mask: np.ndarray) -> np.ndarray:
    """Predictions matched (Hungarian, IoU ≥ 0.5) to a ground-truth box where ``gt_mask`` is set."""
    from scipy.optimize import linear_sum_assignment

    removed = np.zeros(similarity.shape[1], bool)
    if not similarity.size or not gt_mask.any():
        return removed
    scores = np.where(similarity >= 0.5 - np.finfo(float).eps, similarity, 0.0)
    rows, cols = linear_sum_assignment(-scores)
    matched = scores[rows, cols] > np.finfo(float).eps
    removed[cols[matched & gt_mask[rows]]] = True
    return removed


def _row_categories(doc: Document, rows: ObservationArrays) -> np.ndarray:
    """Each row's track category id (-1: none)."""
    category = {t.id: -1 if t.category_id is None else t.category_id for t in doc.tracks()}
    return np.array([category.get(t, -1) for t in rows.track_id.tolist()], np.int64)


def _category_ids(doc: Document, classes: Sequence[str], sequence: str, required: bool = False) -> np.ndarray:
    """Ids of the document's categories named (or numbered) in ``classes``; with ``required``, every one
    must exist (the ground truth's)."""
    names = doc.categories()
    by_name = {name: cid for cid, name in names.items()}
    ids = [int(c) if c.lstrip("-").isdigit() else by_name.get(c) for c in classes]
    missing = [c for c, cid in zip(classes, ids) if cid is None or cid not in names]
    if required and missing:
        raise EvalError(f"{sequence}: the ground truth has no class {', '.join(missing)} "
                        f"(its classes: {', '.join(names.values()) or 'none'})")
    return np.array([cid for cid in ids if cid is not None], np.int64)


# --------------------------------------------------------------------------- output
def format_table(results: dict[str, Any]) -> str:
    """A text table: one row per sequence and a COMBINED row; ratios as fractions, counts as ints."""
    rows = [*results["sequences"].items(), ("COMBINED", results["combined"])]
    width = max(len("sequence"), *(len(name) for name, _ in rows))
    header = f"{'sequence':<{width}}" + "".join(f"{column:>7}" for column in TABLE_COLUMNS)
    lines = [header, "-" * len(header)]
    for name, metrics in rows:
        cells = [f"{metrics[c]:7.3f}" if isinstance(metrics[c], float) else f"{metrics[c]:7d}" for c in TABLE_COLUMNS]
        lines.append(f"{name:<{width}}" + "".join(cells))
    return "\n".join(lines)
