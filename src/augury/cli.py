"""The ``augury`` command line (for now: the core demo)."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="augury", description="Augury prediction exchange")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the terminal demo of the exchange core")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from augury.demo import run_demo

        return run_demo()
    return 2


if __name__ == "__main__":
    sys.exit(main())
