"""The rule catalogue: every rule documented, tested, and listed in README.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fusionlab.catalogue import BEGIN, END, catalogue_markdown
from fusionlab.engine import discover_rules
from fusionlab.rule import DOC_SECTIONS, TARGETS

ROOT = Path(__file__).resolve().parents[1]
RULES = discover_rules()


def test_there_is_a_rule_for_every_fusions_md_row():
    names = {r.name for r in RULES}
    for row in ("conv-relu", "conv-gelu", "conv-clip", "fc-relu", "fc-gelu", "scale-activation",
                "conv-eltwise", "pad-conv", "shuffle-reduce", "shuffle-shuffle", "scale-noop",
                "conv-scale", "conv-generic-activation", "reduce-to-pool", "conv-pool",
                "depthwise-separable", "softmax-log", "softmax-topk", "fc-as-conv", "relu-relu",
                "gelu-erf", "gelu-tanh", "l1norm", "sum-of-squares", "l2norm", "logsum", "logsumexp",
                "mlp", "pointwise", "qdq-zero-point", "qdq-weighted", "qdq-nonweighted", "qdq-commute",
                "qdq-insert", "qdq-erase", "tc-align", "fc-int8", "gather-axis", "reduce-tail", "topk",
                "batch-size", "shuffle-identity"):
        assert row in names, f"docs/FUSIONS.md row {row} has no rule"


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_rule_is_documented_and_tested(rule):
    assert re.fullmatch(r"TRT\d{3}", rule.code)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9.]+)*", rule.name)
    assert set(rule.targets) <= set(TARGETS) and rule.targets
    sections = rule.doc_sections()
    for title in DOC_SECTIONS:
        assert sections.get(title), f"{rule.code} docstring lacks '{title}:'"
    module = rule.__module__.split(".")[-1]
    family = rule.__module__.split(".")[-2]
    test_file = ROOT / "tests" / "rules" / family / f"test_{module}.py"
    assert test_file.is_file(), f"{rule.code} has no {test_file.name}"
    text = test_file.read_text()
    for slug, _, _ in rule.checks():
        assert f'"{slug}"' in text, f"{rule.code}: no test asserts check {slug!r}"


def test_readme_catalogue_is_generated_from_the_rules():
    readme = (ROOT / "README.md").read_text()
    inside = readme.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert inside == catalogue_markdown().strip(), "run: python -m fusionlab.catalogue --write README.md"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```", 2)[1].strip().splitlines()
    assert len(block) == 2, "README's top block holds exactly two commands"
    assert "fusionlab analyze models/" in block[0]
    assert block[1] in (ROOT / ".ci" / "run").read_text()
