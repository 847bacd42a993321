#!/usr/bin/env python3
"""Generate the synchronous SDK client from the asynchronous one (as httpcore does).

``src/augury/client/_async.py`` is the source of truth; ``src/augury/client/_client.py``
is written from it by the ``unasync`` package (``async``/``await`` dropped, the names in
``REPLACEMENTS`` swapped token by token), then the few docstrings in ``DOCSTRINGS`` are
swapped, a header is put on top and the result is fixed and formatted with ruff.

    python scripts/unasync.py           # regenerate _client.py (``make unasync``)
    python scripts/unasync.py --check   # exit 1 if _client.py is stale (``make lint``)
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

# This script is named like the package it uses (as httpcore's is): drop its own folder
# from the path so that the import finds the package (untyped, hence Any), not this file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
unasync: Any = importlib.import_module("unasync")

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "augury" / "client" / "_async.py"
TARGET = ROOT / "src" / "augury" / "client" / "_client.py"

HEADER = "# generated from _async.py by scripts/unasync.py; do not edit\n"

# Names (whole tokens) of the async client and what the sync client calls them.
REPLACEMENTS = {
    "AsyncClient": "Client",
    "AsyncBaseTransport": "BaseTransport",
    "AsyncSubscription": "Subscription",
    "aclose": "close",
    "asyncio": "time",
    "_awalk": "_walk",
}

# Whole docstrings (text between the quotes) that say "async" in prose.
DOCSTRINGS = {
    "The asynchronous client: the same methods as :class:`~augury.client.Client`, awaited.": (
        "The synchronous client: one method per API operation, typed answers, typed errors."
    ),
    "An asynchronous Augury client (``async with AsyncClient(...) as client``).": (
        "A synchronous Augury client (``with Client(...) as client``)."
    ),
}


def generate() -> str:
    """The sync client's source, as it should be on disk."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "_async" / "client.py"
        src.parent.mkdir()
        src.write_text(SOURCE.read_text(encoding="utf-8"), encoding="utf-8")
        rule = unasync.Rule("/_async/", "/_sync/", additional_replacements=REPLACEMENTS)
        unasync.unasync_files([str(src)], rules=[rule])
        text = (Path(tmp) / "_sync" / "client.py").read_text(encoding="utf-8")
    for old, new in DOCSTRINGS.items():
        if old not in text:
            raise SystemExit(f"scripts/unasync.py: docstring not found in _async.py: {old!r}")
        text = text.replace(old, new)
    return ruff_format(HEADER + text)


def ruff_format(text: str) -> str:
    """``text`` with ruff's fixes (import order, ``yield from``) applied, then formatted,
    with the project's settings (pyproject.toml)."""
    text = _ruff(text, "check", "--fix-only", "--exit-zero")
    # ``yield from`` is only possible once the generator is sync (an "unsafe" fix in ruff).
    text = _ruff(text, "check", "--fix-only", "--exit-zero", "--unsafe-fixes", "--select=UP028")
    return _ruff(text, "format")


def _ruff(text: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ruff", *args, "--stdin-filename", str(TARGET), "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise SystemExit(f"scripts/unasync.py: ruff {args[0]} failed:\n{done.stderr}")
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if _client.py is stale")
    args = parser.parse_args()
    wanted = generate()
    current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
    if current == wanted:
        return 0
    name = str(TARGET.relative_to(ROOT))
    if args.check:
        diff = difflib.unified_diff(
            current.splitlines(keepends=True), wanted.splitlines(keepends=True), name, name
        )
        sys.stdout.writelines(diff)
        print(f"{name} is stale: run `make unasync` (never edit it by hand)", file=sys.stderr)
        return 1
    TARGET.write_text(wanted, encoding="utf-8")
    print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
