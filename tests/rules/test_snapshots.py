"""Every snapshot under tests/rules/<family>/snapshots/ belongs to a test that exists
(a renamed or deleted test must not leave its snapshots behind), and the snapshots are
plain, deterministic JSON (no absolute paths)."""

import ast
import json
import re
from pathlib import Path

RULES = Path(__file__).resolve().parent


def functions_in(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def test_every_snapshot_belongs_to_an_existing_test():
    snapshots = sorted(RULES.glob("*/snapshots/*/*.json"))
    assert len(snapshots) > 300  # one or more per rule test case
    orphans = []
    for snap in snapshots:
        module = snap.parents[2] / f"{snap.parent.name}.py"
        test = re.sub(r"(\[.*\])?(-\d+)?\.json$", "", snap.name)
        if not module.is_file() or test not in functions_in(module):
            orphans.append(str(snap.relative_to(RULES)))
    assert orphans == []


def test_snapshots_are_sorted_json_without_machine_paths():
    for snap in sorted(RULES.glob("*/snapshots/*/*.json")):
        text = snap.read_text(encoding="utf-8")
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", snap
        assert str(RULES.parents[1]) not in text and "/tmp/" not in text, snap
