"""Optional compiled build: ``AUGURY_COMPILE=1 pip install .`` compiles the hot modules
of the pure core with mypyc (as black and mypy ship theirs). Without the variable the
package is plain Python; behaviour is identical either way (same tests, same events).
"""

from __future__ import annotations

import os

from setuptools import setup

COMPILED = [
    "src/augury/domain/book.py",
    "src/augury/domain/ledger.py",
    "src/augury/domain/market.py",
    "src/augury/domain/state.py",
    "src/augury/domain/router.py",
    "src/augury/domain/trading.py",
    "src/augury/domain/exchange.py",
    "src/augury/domain/settlement.py",
    "src/augury/domain/units.py",
    "src/augury/domain/limits.py",
]

ext_modules = []
if os.environ.get("AUGURY_COMPILE") == "1":
    from mypyc.build import mypycify

    ext_modules = mypycify(COMPILED, opt_level="3")

setup(ext_modules=ext_modules)
