"""Which build of Augury a benchmark ran: ``"compiled"`` (the hot modules are mypyc
extension modules, ``AUGURY_COMPILE=1 pip install .``, ``make compiled``) or ``"plain"``.

The hot modules are the ones setup.py compiles (read from its ``COMPILED`` list, so the
two never disagree). ``"mixed"`` means some are compiled and some are not, which no
build produces: a source tree on ``PYTHONPATH`` shadowing part of an install, say.
A benchmark that starts a server (bench/service.py) starts it with this interpreter and
environment, so the server runs the same build.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
from pathlib import Path

SETUP = Path(__file__).resolve().parent.parent / "setup.py"


def hot_modules() -> list[str]:
    """The dotted names of the modules setup.py compiles (``src/augury/x.py`` -> ``augury.x``)."""
    for node in ast.walk(ast.parse(SETUP.read_text())):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets
        ):
            paths: list[str] = ast.literal_eval(node.value)
            return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths]
    raise RuntimeError(f"no COMPILED list in {SETUP}")


def is_compiled(module: str) -> bool:
    path = getattr(importlib.import_module(module), "__file__", None) or ""
    return path.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def build() -> str:
    """``"compiled"``, ``"plain"`` or ``"mixed"``: what this interpreter imports."""
    compiled = [is_compiled(m) for m in hot_modules()]
    if all(compiled):
        return "compiled"
    return "mixed" if any(compiled) else "plain"


if __name__ == "__main__":
    print(build())
