#!/usr/bin/env python3
"""Fail if any module of Augury imports itself through other modules (``make lint``).

``.importlinter``'s contracts say which layer may import which; this says more simply
that no two modules of ours depend on each other, however long the way round. Every
import counts, as for the contracts: at the top of a module, inside a function, or under
``TYPE_CHECKING`` (a cycle of type-only imports is still two modules that cannot be read,
tested or moved one without the other; name what one uses of the other as a
``typing.Protocol`` instead). A package's ``__init__`` is a module like any other.

Cycles between packages whose modules do not form one (``augury.api`` and
``augury.web``; ``augury.domain.resolution`` and its sibling modules of the domain) are
not module cycles and are not refused here.

    python scripts/import_cycles.py              # exit 1 and name each cycle, or say none
    python scripts/import_cycles.py --package augury
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from itertools import pairwise

import grimp


def cycles(graph: grimp.ImportGraph, modules: Iterable[str]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm,
    without recursion), each sorted, sorted by their first module."""
    names = sorted(modules)
    inside = set(names)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in names:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root) & inside)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            module, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    imported = graph.find_modules_directly_imported_by(child) & inside
                    work.append((child, iter(sorted(imported))))
                elif child in on_stack:
                    low[module] = min(low[module], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[module])
            if low[module] == index[module]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == module:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return sorted(found)


def one_loop(graph: grimp.ImportGraph, component: list[str]) -> list[str]:
    """A shortest way from the component's first module back to itself, as lines
    ``a -> b (l.12)``."""
    start = component[0]
    members = set(component)
    best: tuple[str, ...] | None = None
    for first in sorted(graph.find_modules_directly_imported_by(start) & members):
        back = graph.find_shortest_chain(importer=first, imported=start)
        if back is not None and (best is None or len(back) + 1 < len(best)):
            best = (start, *back)
    assert best is not None, component
    lines = []
    for importer, imported in pairwise(best):
        details = graph.get_import_details(importer=importer, imported=imported)
        where = ", ".join(f"l.{d['line_number']}" for d in details)
        lines.append(f"{importer} -> {imported}" + (f" ({where})" if where else ""))
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="augury", help="The package to check.")
    args = parser.parse_args(argv)
    graph = grimp.build_graph(args.package, cache_dir=None)
    found = cycles(graph, graph.modules)
    if not found:
        print(f"import cycles among the modules of {args.package}: none")
        return 0
    for component in found:
        print(f"import cycle among {len(component)} modules: {', '.join(component)}")
        for line in one_loop(graph, component):
            print(f"    {line}")
    print(f"{len(found)} import cycle(s) among the modules of {args.package}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
