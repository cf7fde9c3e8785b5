"""The package's structure (issue 7): every module imports alone, nothing but the entry
point imports the CLI, no import cycles at module level, and the fast commands import no
onnx, numpy or networkx. Each check runs in a fresh interpreter."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("onnx", "numpy", "networkx", "onnx_graphsurgeon", "onnxruntime")


def _modules() -> dict[str, Path]:
    """Every module of fusionlab and of the built-in rule pack, by dotted name."""
    found = {}
    for base, package in ((ROOT / "fusionlab", "fusionlab"), (ROOT / "rules", "fusionlab.rules")):
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(base).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", sorted(m for m in MODULES if not m.endswith("_build_worker")))
def test_every_module_imports_alone(module):
    done = _run(f"import {module}")
    assert done.returncode == 0, done.stderr


def _top_level_imports(module: str, path: Path) -> set[str]:
    """fusionlab modules ``module`` imports at module level (not inside functions, not
    under ``if TYPE_CHECKING``)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                names = [f"{base}.{node.module}" if node.module else base]
            else:
                names = [node.module or ""]
            names += [f"{names[0]}.{a.name}" for a in node.names]
        else:
            continue
        found.update(n for n in names if n in MODULES and n != module)
    return found


def test_no_library_module_imports_the_cli():
    importers = [m for m, p in MODULES.items() if m != "fusionlab.cli"
                 and "fusionlab.cli" in p.read_text().replace("fusionlab.cli`", "")
                 and any("fusionlab.cli" in line and ("import" in line)
                         for line in p.read_text().splitlines())]
    assert importers == []


def test_no_import_cycles_among_modules():
    graph = nx.DiGraph()
    for module, path in MODULES.items():
        graph.add_node(module)
        for target in _top_level_imports(module, path):
            # importing a package's submodule also runs the package: an edge to the package
            graph.add_edge(module, target)
    cycles = list(nx.simple_cycles(graph))
    assert cycles == [], cycles[:3]


def _heavy_after(args: list[str]) -> list[str]:
    code = ("import sys, json\n"
            "from fusionlab.cli import main\n"
            f"code = main({args!r})\n"
            f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n")
    done = _run(code)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("args", [["--help"], ["--version"], ["rules"], ["rules", "--format", "json"],
                                  ["rules", "TRT103", "--target", "tensorrt-rtx"]])
def test_fast_commands_import_no_onnx_numpy_or_networkx(args):
    assert _heavy_after(args) == []


def test_a_usage_error_imports_nothing_heavy():
    code = ("import sys, json\nfrom fusionlab.cli import main\n"
            "rc = main(['analyze', '--no-such-option'])\n"
            f"print(rc, json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n")
    done = _run(code)
    rc, mods = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert rc == "2" and json.loads(mods) == []


def test_the_build_worker_imports_only_the_standard_library():
    worker = ROOT / "fusionlab" / "trt" / "_build_worker.py"
    tree = ast.parse(worker.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported - {"__future__"} <= set(sys.stdlib_module_names), imported
