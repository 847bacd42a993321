"""scripts/import_cycles.py (in ``make lint``): it finds every import cycle among the
modules of a package, type-only imports included, and the package has none; and the
layer contracts of .importlinter break when the API starts a process or the roles
import the API."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import grimp
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "import_cycles.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_cycles", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _graph(imports: list[tuple[str, str]]) -> grimp.ImportGraph:
    graph = grimp.ImportGraph()
    for importer, imported in imports:
        for name in (importer, imported):
            graph.add_module(name)
        graph.add_import(importer=importer, imported=imported, line_number=3, line_contents="x")
    return graph


def test_every_cycle_is_found_and_one_loop_of_each_is_named() -> None:
    script = _script()
    graph = _graph(
        [
            ("p.a", "p.b"),  # a -> b -> c -> a: one cycle of three
            ("p.b", "p.c"),
            ("p.c", "p.a"),
            ("p.c", "p.d"),  # d is imported, imports nothing: outside
            ("p.x", "p.y"),  # x <-> y: another
            ("p.y", "p.x"),
            ("p.z", "p.a"),  # z imports the cycle: outside
        ]
    )
    assert script.cycles(graph, graph.modules) == [["p.a", "p.b", "p.c"], ["p.x", "p.y"]]
    assert script.one_loop(graph, ["p.x", "p.y"]) == ["p.x -> p.y (l.3)", "p.y -> p.x (l.3)"]
    assert script.one_loop(graph, ["p.a", "p.b", "p.c"]) == [
        "p.a -> p.b (l.3)",
        "p.b -> p.c (l.3)",
        "p.c -> p.a (l.3)",
    ]


def test_a_graph_without_cycles_has_none() -> None:
    script = _script()
    graph = _graph([("p.a", "p.b"), ("p.b", "p.c"), ("p.a", "p.c")])
    assert script.cycles(graph, graph.modules) == []


def test_augury_has_no_import_cycle() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "none" in result.stdout


@pytest.mark.parametrize(
    ("path", "line", "broken"),
    [
        ("augury/api/clean_target.py", "import subprocess", "No module of the API"),
        ("augury/web/redirects.py", "import multiprocessing", "No module of the API"),
        ("augury/roles/written.py", "import augury.api.errors", "The roles (augury.roles)"),
        ("augury/roles/observer.py", "import starlette.concurrency", "The roles (augury.roles)"),
        ("augury/identity/login_guard.py", "import augury.roles.errors", "identity stores"),
        ("augury/api/deps.py", "import augury.roles.node", "never import the roles that run"),
    ],
)
def test_the_layer_contracts_break_on_a_forbidden_import(
    tmp_path: Path, path: str, line: str, broken: str
) -> None:
    """A copy of the package with one forbidden import added: lint-imports fails and
    names the contract (each contract here can fail)."""
    lint_imports = Path(sys.executable).parent / "lint-imports"
    if not lint_imports.exists():
        pytest.skip("lint-imports is not installed beside this interpreter")
    shutil.copytree(ROOT / "src" / "augury", tmp_path / "augury")
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    target = tmp_path / path
    target.write_text(target.read_text() + f"\n{line}  # added by the test\n")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "1 broken" in text, result.stdout
    assert broken in text.split(" BROKEN")[0].rsplit(" KEPT", 1)[-1], result.stdout
