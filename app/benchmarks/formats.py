"""``masklet bench formats``: write and read speed of every label format (boxes/s, document included), the
document's share of it, and the time of ``masklet eval`` on the TUD pair."""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from app.document import Document, ObservationArrays
from tracker.results import Rle
from tracker.video_info import VideoInfo

TRACKS = 100
GRID = 10  # TRACKS = GRID²
WIDTH, HEIGHT = 1920, 1080
MASK_FORMATS = ("mots",)
OUTPUT_NAMES = {"mot": "seq", "mot-results": "results.txt", "mots": "mots.txt", "cocovid": "coco.json", "yolo": "yolo",
                "cvat": "cvat.xml"}
MOT_TARGET = 200_000
T = TypeVar("T")
READ_OPTIONS = {"yolo": {"image_size": (WIDTH, HEIGHT)}}


def register(subparsers: argparse._SubParsersAction) -> None:
    from exporters import registry

    parser = subparsers.add_parser("formats", help="label formats: write/read boxes per second; eval time")
    parser.add_argument("--boxes", type=int, default=1_000_000, help="boxes per format (1,000,000)")
    parser.add_argument("--mask-boxes", type=int, default=200_000, help="boxes (with masks) for mots (200,000)")
    parser.add_argument("--formats", nargs="+", choices=registry.names(), default=registry.names())
    parser.add_argument("--no-eval", action="store_true", help="skip the eval timing")
    parser.set_defaults(func=run)


def synthetic_document(count: int, masks: bool = False, seed: int = 0) -> Document:
    """An in-memory document with ``count`` boxes (2 decimals) over ``TRACKS`` tracks, frame-major."""
    rng = np.random.default_rng(seed)
    frames = -(-count // TRACKS)
    frame = np.repeat(np.arange(frames), TRACKS)[:count]
    track_id = np.tile(np.arange(1, TRACKS + 1), frames)[:count]
    cell = np.array([WIDTH / GRID, HEIGHT / GRID])  # each track in its own cell: masks never overlap
    size = (rng.uniform(0.2, 0.9, size=(count, 2)) * cell).round(2)
    offset = np.stack([(track_id - 1) % GRID, (track_id - 1) // GRID], axis=1) * cell
    box = np.concatenate([(offset + rng.uniform(0, 1, size=(count, 2)) * (cell - size)).round(2), size], axis=1)
    rles = None
    if masks:
        from pycocotools import mask as mask_utils

        coco = mask_utils.frPyObjects(box.astype(np.float64), HEIGHT, WIDTH)
        rles = [Rle(HEIGHT, WIDTH, r["counts"]) for r in coco]
    doc = Document.in_memory(VideoInfo(Path("bench.mp4"), "bench", frames, 30.0, WIDTH, HEIGHT))
    with doc.transaction():
        person = doc.category_id("pedestrian")
        for tid in range(1, TRACKS + 1):
            doc.add_track(tid, person)
        doc.add_observation_arrays(ObservationArrays(frame, track_id, box, rng.uniform(0.3, 1, count).round(3),
                                                     np.ones(count), rles))
    return doc


def _timed(function: Callable[..., T], *args: object, **kwargs: object) -> tuple[float, float, T]:
    """(wall seconds, CPU seconds of this process, result): CPU time shows the cost on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_formats(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """Time every format's ``write`` and ``read`` on a synthetic document; print and return the numbers."""
    from exporters import registry

    results: dict[str, dict[str, float]] = {}
    print(f"label formats ({TRACKS} tracks, {WIDTH}×{HEIGHT}; the in-memory document is included in the times)")
    print(f"  {'format':<12}{'boxes':>10}  {'write s (cpu)':>14}{'boxes/s':>10}  {'read s (cpu)':>14}{'boxes/s':>10}"
          f"{'MB':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        documents: dict[bool, Document] = {}
        for name in args.formats:
            masks = name in MASK_FORMATS
            count = args.mask_boxes if masks else args.boxes
            if masks not in documents:
                documents[masks] = synthetic_document(count, masks)
            module = registry.get(name)
            out = Path(tmp) / OUTPUT_NAMES[name]
            write_s, write_cpu, report = _timed(module.write, documents[masks], out)
            read_s, read_cpu, back = _timed(module.read, out, None, **READ_OPTIONS.get(name, {}))
            size_mb = sum(p.stat().st_size for p in ([out] if out.is_file() else out.rglob("*")) if p.is_file()) / 1e6
            assert back.observation_count() == report.boxes == count, (name, back.observation_count(), count)
            back.close()
            results[name] = {"boxes": count, "write_s": write_s, "write_cpu_s": write_cpu, "read_s": read_s,
                             "read_cpu_s": read_cpu}
            print(f"  {name:<12}{count:>10,}  {write_s:>6.2f} ({write_cpu:>5.2f}){count / write_s:>10,.0f}"
                  f"  {read_s:>6.2f} ({read_cpu:>5.2f}){count / read_s:>10,.0f}{size_mb:>7.1f}")
        doc = documents.get(False) or synthetic_document(args.boxes)
        fetch_s, fetch_cpu, rows = _timed(doc.observation_arrays)
        insert_s, insert_cpu, _ = _timed(Document.in_memory().add_observation_arrays, rows)
        results["document"] = {"boxes": len(rows), "fetch_s": fetch_s, "insert_s": insert_s}
        print(f"  document alone: observation_arrays {fetch_s:.2f} s (cpu {fetch_cpu:.2f}), "
              f"add_observation_arrays {insert_s:.2f} s (cpu {insert_cpu:.2f}) for {len(rows):,} boxes")
        if "mot" in results:
            mot = results["mot"]
            rate = min(mot["boxes"] / mot["write_s"], mot["boxes"] / mot["read_s"])
            print(f"  MOT target ≥ {MOT_TARGET:,} boxes/s for write and read: {'met' if rate >= MOT_TARGET else 'NOT met'}"
                  f" ({rate:,.0f} boxes/s wall-clock)")
        for document in documents.values():
            document.close()
    return results


def run_eval() -> float:
    """Seconds to evaluate the TUD pair (read four MOT files, HOTA + CLEAR + Identity)."""
    from app.benchmarks import shared_data
    from app.commands.eval import evaluate, pair_sequences

    campus_gt, campus_pred, mitte_gt, mitte_pred = shared_data(
        "tud/TUD-Campus/gt.txt", "tud/TUD-Campus/test.txt", "tud/TUD-Stadtmitte/gt.txt", "tud/TUD-Stadtmitte/test.txt")
    seconds, _, results = _timed(evaluate, pair_sequences([campus_gt, mitte_gt], [campus_pred, mitte_pred]))
    combined = results["combined"]
    print(f"eval TUD-Campus + TUD-Stadtmitte: {seconds:.2f} s "
          f"(HOTA {combined['HOTA']:.3f}, MOTA {combined['MOTA']:.3f}, IDF1 {combined['IDF1']:.3f})")
    return seconds


def run(args: argparse.Namespace) -> int:
    run_formats(args)
    if not args.no_eval:
        run_eval()
    return 0
