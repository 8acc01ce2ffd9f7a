"""``masklet bench engines``: tracking quality and speed of the detector-based engines on real sequences.

Each engine configuration runs over every frame of each shared sequence with ground truth (TUD-Campus,
TUD-Stadtmitte, KITTI-17, MOT16-11; class ``person``) with the same detector; its results go into a project
that ``masklet eval`` scores (HOTA, IDF1, MOTA, IDSW) against the sequence's ``gt/gt.txt``: MOT16's ground
truth with MOTChallenge's preprocessing (pedestrians only, predictions on distractors removed), the MOT15
sequences' as they are. frames/s counts the engine's ``process`` calls only (decoding is not timed; the first
frame of each sequence is a warm-up).

``--scaling`` instead times SMOT per frame with 5 to 50 live tracks (``restore`` with that many boxes, then one
frame), stage by stage: the detector's cost does not depend on the tracks, re-detection and motion are
vectorised over them.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.benchmarks import shared_data, shared_model

SEQUENCES = ("TUD-Campus", "TUD-Stadtmitte", "KITTI-17", "MOT16-11")
MOTCHALLENGE = ("MOT16-11",)  # ground truth with MOTChallenge classes: evaluated with its preprocessing
CONFIGURATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "bytetrack": ("bytetrack", {}),
    "botsort": ("botsort", {}),
    "smot": ("smot", {"link": False, "motion": False}),
    "smot+motion": ("smot", {"link": False}),
    "smot+link": ("smot", {"motion": False}),
    "smot+motion+link": ("smot", {}),
}


@dataclass(frozen=True)
class Row:
    configuration: str
    sequence: str
    metrics: dict[str, Any]
    frames: int
    seconds: float

    @property
    def fps(self) -> float:
        return self.frames / self.seconds


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("engines", help="HOTA/IDF1/MOTA/IDSW and frames/s of the detector-based engines "
                                   "on the shared sequences with ground truth")
    parser.add_argument("--sequences", default=",".join(SEQUENCES), metavar="A,B",
                        help=f"sequences of shared data/sequences (default: {','.join(SEQUENCES)})")
    parser.add_argument("--engines", default=",".join(CONFIGURATIONS), metavar="A,B",
                        help=f"configurations (default: {','.join(CONFIGURATIONS)})")
    parser.add_argument("--detector", type=Path, help="Ultralytics weights (default: the shared detector)")
    parser.add_argument("--frames", type=int, help="only the first N frames of each sequence")
    parser.add_argument("--device", default="cpu", help="detector device (default: cpu)")
    parser.add_argument("--scaling", action="store_true", help="time SMOT per frame with 5–50 tracks instead")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    weights = args.detector or shared_model()
    if args.scaling:
        print(scaling(weights, args.device))
        return 0
    unknown = set(args.engines.split(",")) - set(CONFIGURATIONS)
    if unknown:
        from tracker.errors import MaskletError

        raise MaskletError(f"bench engines: unknown configuration(s) {', '.join(sorted(unknown))}")
    rows = []
    for sequence in args.sequences.split(","):
        folder = shared_data(f"sequences/{sequence}")[0]
        for name in args.engines.split(","):
            rows.append(evaluate_configuration(name, folder, weights, args.device, args.frames))
            print(format_row(rows[-1]), flush=True)
    print(f"engines benchmark: detector {Path(weights).name}, classes person, device {args.device}")
    print(format_table(rows))
    return 0


def evaluate_configuration(name: str, folder: Path, weights: Path, device: str, frames: int | None) -> Row:
    """Track one sequence with one configuration into a temporary project and score it with ``masklet eval``."""
    from app.commands.eval import SequenceInput, evaluate
    from app.document import Document
    from tracker.engine_options import EngineOptions
    from tracker.engines import build_engine
    from tracker.video import VideoSource

    engine_name, options = CONFIGURATIONS[name]
    engine = build_engine(EngineOptions(engine_name, detector=str(weights), classes=("person",), device=device,
                                        **options))
    with tempfile.TemporaryDirectory() as tmp, VideoSource.open(folder) as source:
        project = Path(tmp) / f"{folder.name}.masklet"
        end = source.frame_count if frames is None else min(frames, source.frame_count)
        seconds, timed = 0.0, 0
        with Document.create(project, source.info()) as doc:
            engine.set_video_length(len(source))
            for index, rgb in source.frames(0, end):
                begin = time.perf_counter()
                result = engine.process(index, rgb)
                if index > 0:
                    seconds += time.perf_counter() - begin
                    timed += 1
                doc.write_frame(result)
        preprocess = "motchallenge" if folder.name in MOTCHALLENGE else "plain"
        pair = (folder.name, SequenceInput(folder.name, folder), SequenceInput(folder.name, project))
        metrics = evaluate([pair], preprocess=preprocess, notes=lambda _: None)["combined"]
    return Row(name, folder.name, metrics, timed, seconds)


def format_row(row: Row) -> str:
    m = row.metrics
    return (f"{row.sequence:<16}{row.configuration:<18}{m['HOTA']:>7.3f}{m['IDF1']:>7.3f}{m['MOTA']:>7.3f}"
            f"{m['IDSW']:>6d}{row.fps:>9.2f}")


def format_table(rows: list[Row]) -> str:
    """One row per sequence and configuration, then each configuration over all sequences (metrics from the
    summed counts: IDF1 and MOTA pooled, HOTA the mean over sequences) with frames/s as a ratio to ByteTrack's."""
    header = f"{'sequence':<16}{'engine':<18}{'HOTA':>7}{'IDF1':>7}{'MOTA':>7}{'IDSW':>6}{'frames/s':>9}"
    lines = [header, "-" * len(header), *(format_row(r) for r in rows), "-" * len(header)]
    baseline = None
    for name in dict.fromkeys(r.configuration for r in rows):
        own = [r for r in rows if r.configuration == name]
        idtp, idfp, idfn = (sum(r.metrics[k] for r in own) for k in ("IDTP", "IDFP", "IDFN"))
        tp, fp, fn, idsw = (sum(r.metrics[k] for r in own) for k in ("TP", "FP", "FN", "IDSW"))
        fps = sum(r.frames for r in own) / sum(r.seconds for r in own)
        baseline = fps if name == "bytetrack" else baseline
        ratio = f"  ({fps / baseline:.2f}× bytetrack)" if baseline and name != "bytetrack" else ""
        lines.append(
            f"{'all':<16}{name:<18}{np.mean([r.metrics['HOTA'] for r in own]):>7.3f}"
            f"{2 * idtp / max(2 * idtp + idfp + idfn, 1):>7.3f}{1 - (fn + fp + idsw) / max(tp + fn, 1):>7.3f}"
            f"{idsw:>6d}{fps:>9.2f}{ratio}"
        )
    return "\n".join(lines)


def scaling(weights: Path, device: str, counts: tuple[int, ...] = (5, 10, 20, 50), repeats: int = 5) -> str:
    """SMOT's time per frame by stage with ``counts`` live tracks (MOT16-11, 1920×1080)."""
    from tracker.engine_options import EngineOptions
    from tracker.results import TrackedObject
    from tracker.smot import build
    from tracker.video import VideoSource

    engine = build(EngineOptions("smot", detector=str(weights), classes=("person",), device=device))
    rng = np.random.default_rng(0)
    lines = [f"SMOT time per frame (ms) by live tracks, MOT16-11, detector {Path(weights).name}, device {device}",
             f"{'tracks':>7}{'total':>9}{'detector':>10}{'motion':>9}{'redetect':>10}{'other':>8}"]
    with VideoSource.open(shared_data("sequences/MOT16-11")[0]) as source:
        frames = [source[i] for i in range(repeats + 1)]
        height, width = frames[0].shape[:2]
        engine.process(0, frames[0])  # warm-up
        for count in counts:
            engine.timings.clear()
            for i in range(repeats):
                xy = rng.uniform([0, 0], [width - 200, height - 400], size=(count, 2))
                wh = rng.uniform([40, 100], [200, 400], size=(count, 2))
                objects = [TrackedObject(k + 1, (*map(float, xy[k]), *map(float, wh[k])), label="person")
                           for k in range(count)]
                engine.restore(i, frames[i], objects, count + 1)
                engine.process(i + 1, frames[i + 1])
            t = {key: 1e3 * value / repeats for key, value in engine.timings.items()}
            other = t["total"] - t["detector"] - t["motion"] - t["redetect"]
            lines.append(f"{count:>7}{t['total']:>9.1f}{t['detector']:>10.1f}{t['motion']:>9.1f}"
                         f"{t['redetect']:>10.1f}{other:>8.1f}")
    return "\n".join(lines)
