"""The ``masklet`` command line. Sub-commands live in ``app.commands``.

The one error boundary of every command: errors the user can act on (``MaskletError``, and any ``OSError``:
permissions, full disks, read-only media) become one line on stderr and exit code 2; anything else is a bug,
logged with its traceback (``app.error_log``) and reported in one line that says where the log is, exit 1."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys

from app.commands import COMMAND_MODULES
from tracker.errors import MaskletError, os_error

EXIT_UNEXPECTED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered sub-command."""
    parser = argparse.ArgumentParser(
        prog="masklet",
        description="Pre-label multi-object tracking ground truth with SAM2-based trackers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one ``masklet`` command and return its exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except MaskletError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(str(os_error(exc, action="cannot read or write")))
    except KeyboardInterrupt:
        print("masklet: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: its traceback goes to the log, not to the user
        from app.error_log import unexpected_message

        print(f"masklet: {unexpected_message(exc)}", file=sys.stderr)
        return EXIT_UNEXPECTED


def _fail(message: str) -> int:
    """Print a user-fixable error as one line; its exit code."""
    print(f"masklet: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_USER_ERROR


if __name__ == "__main__":
    sys.exit(main())
