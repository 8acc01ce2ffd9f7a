"""``masklet bench TOPIC``: benchmarks that print numbers (see ``app.benchmarks``)."""
from __future__ import annotations

import argparse
import importlib

from app.benchmarks import BENCH_MODULES


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="run a benchmark and print its numbers")
    topics = parser.add_subparsers(dest="topic", metavar="TOPIC", required=True)
    for name in BENCH_MODULES:
        importlib.import_module(f"app.benchmarks.{name}").register(topics)
