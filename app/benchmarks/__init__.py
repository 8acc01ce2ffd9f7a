"""Benchmarks behind ``masklet bench``: scripts that print numbers, one module per topic.

Each module defines ``register(subparsers)`` like the command modules in ``app.commands``.
"""

BENCH_MODULES = ("io", "engine", "track", "gui")
