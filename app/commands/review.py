"""``masklet review PROJECT [--gt GT]``: the review queue, most risky first (``app.review``); with ground
truth, the share of the annotator's effort (``app.effort``) in the first 10/20/50 % of the frames the queue
leads to, next to reviewing in frame order and to the best possible order (frames sorted by their effort,
known only with the ground truth)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from app import effort
from app.document import PROJECT_SUFFIX, Document
from app.review import RECALL_AT, ReviewItem, queue_frames, recall, review_queue
from tracker.errors import MaskletError


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "review", help="the review queue of a project, most risky first; with --gt, how much effort it finds early",
        description="Print the items of PROJECT still to review (conflicts, lost/suspicious/pending runs, short "
                    "tracks, gaps, box jumps, births and deaths away from the border) by risk. With --gt, also the "
                    "share of the effort of fixing PROJECT into GT that lies in the first 10/20/50 %% of the frames "
                    "in queue order, next to frame order.",
    )
    parser.add_argument("project", type=Path, help="a .masklet project")
    parser.add_argument("--gt", type=Path, help="ground truth of the project's video (MOT txt or sequence folder, "
                                                "COCO-VID json, .masklet)")
    parser.add_argument("--preprocess", choices=("plain", "motchallenge"), default="plain",
                        help="ground truth rules, as masklet eval (plain; motchallenge: MOT17 pedestrians)")
    parser.add_argument("--limit", type=int, default=30, metavar="N", help="print the first N items (0: all; 30)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="also write the queue (and recall) to this json file")
    effort.add_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.project.suffix != PROJECT_SUFFIX:
        raise MaskletError(f"{args.project}: not a {PROJECT_SUFFIX} project")
    config = effort.config_from(args) if args.gt is not None else None
    with Document.open(args.project, read_only=True) as doc:
        items = review_queue(doc)
        print(format_queue(items, args.limit))
        result: dict = {"queue": [vars(item) for item in items]}
        if config is not None:
            result["effort"], result["recall"] = _evidence(args, doc, items, config)
    if args.json is not None:
        from exporters.base import write_text

        write_text(args.json, json.dumps(result, indent=2) + "\n")
    return 0


def _evidence(args: argparse.Namespace, doc: Document, items: list[ReviewItem],
              config: effort.EffortConfig) -> tuple[dict, dict]:
    """The effort of fixing the project into the ground truth, and the recall of the queue and of frame order."""
    from app.commands.eval import find_sequences, sequence_data

    sequences = find_sequences(args.gt, "gt")
    if len(sequences) != 1:
        raise MaskletError(f"{args.gt}: {len(sequences)} sequences; give the ground truth of the project's video")
    options = {"classes": "mot17"} if args.preprocess == "motchallenge" else {}
    with sequences[0].load(**options) as gt:
        data = sequence_data(gt, doc, preprocess=args.preprocess, name=sequences[0].name)
    cost = effort.sequence_effort(data, config, effort.propagates(config, doc))
    frames = len(cost.frame_seconds)
    by_queue = recall(cost.frame_seconds, queue_frames(items, frames))
    by_frame = recall(cost.frame_seconds, queue_frames([], frames))
    best = recall(cost.frame_seconds, np.argsort(-cost.frame_seconds, kind="stable"))
    print(effort.format_table(effort.report({sequences[0].name: cost}, config)))
    print(f"effort found in the first {', '.join(f'{f:.0%}' for f in RECALL_AT)} of {frames} frames:")
    print("  queue order: " + ", ".join(f"{r:.0%}" for r in by_queue))
    print("  frame order: " + ", ".join(f"{r:.0%}" for r in by_frame))
    print("  best possible (frames by their effort): " + ", ".join(f"{r:.0%}" for r in best))
    return cost.summary(), {"at": list(RECALL_AT), "queue": by_queue, "frame_order": by_frame, "best": best}


def format_queue(items: list[ReviewItem], limit: int) -> str:
    """The queue as a text table (the first ``limit`` items; 0: all)."""
    shown = items if limit <= 0 else items[:limit]
    lines = [f"{len(items)} items to review" + (f" (first {len(shown)})" if len(shown) < len(items) else ""),
             f"{'#':>4} {'risk':>5}  {'reason':<11}{'tracks':<12}frames"]
    for rank, item in enumerate(shown, 1):
        tracks = " & ".join(map(str, item.tracks))
        lines.append(f"{rank:>4} {item.risk:5.2f}  {item.reason:<11}{tracks:<12}{item.start}–{item.end - 1}")
    return "\n".join(lines)
