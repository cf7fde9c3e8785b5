"""Every document a source file or a doc cites is in the repo, with the heading it names.

A citation is ``docs/X.md#anchor``, ``X.md#anchor``, ``path/X.md`` or ``X.md`` (an
upper-case Markdown name, as FUSIONS.md / TENSORRT-RTX.md / README.md), written in
``fusionlab/``, ``rules/``, ``README.md`` or ``docs/``; in Markdown also a relative link
``[text](target#anchor)`` or ``[text](#anchor)``. The file must exist and the anchor must
be one GitHub derives from a heading of that file (lower-cased, punctuation dropped,
spaces to hyphens, ``-1``, ``-2``... for repeats), so a citation resolves from a clone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.joinpath("fusionlab").rglob("*.py"), *ROOT.joinpath("rules").rglob("*.py"),
                  ROOT / "README.md", *ROOT.joinpath("docs").rglob("*.md"), *ROOT.joinpath("docs").rglob("*.py")])

#: ``docs/FUSIONS.md#gelu``, ``TENSORRT-RTX.md``, ``models/README.md``: an upper-case .md
#: name, an optional folder path before it, an optional anchor after it.
CITATION = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[A-Z][A-Z0-9_-]*\.md)(?:#([\w-]+))?")
#: A Markdown link with a relative target: ``[text](TENSORRT-RTX.md#parser-rejections)``,
#: ``[text](#gelu)``, ``[text](rtx_probes.py)``.
LINK = re.compile(r"\]\((?!https?:|mailto:)([^)\s#]*)(?:#([^)\s]+))?\)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def github_anchors(markdown: str) -> set[str]:
    """The anchors GitHub gives the headings of ``markdown`` (fenced code skipped).

    GitHub's slugger: strip inline markup, lower-case, drop every character that is not a
    letter, a digit, a space, ``-`` or ``_``, turn each space into ``-``; a repeated slug
    gets ``-1``, ``-2``, ...
    """
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    fenced = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        m = None if fenced else HEADING.match(line)
        if not m:
            continue
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", m.group(2))   # [text](url) -> text
        text = re.sub(r"[`*]", "", text)
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def resolve(name: str, citing: Path) -> Path | None:
    """The file a citation names: relative to the citing file's folder, to ``docs/`` or to
    the repository root (a docstring in ``rules/`` writes ``docs/FUSIONS.md``)."""
    for base in (citing.parent, ROOT / "docs", ROOT):
        path = (base / name).resolve()
        if path.is_file() and ROOT in path.parents:
            return path
    return None


def citations(path: Path) -> list[tuple[int, str, str | None]]:
    """``(line, target, anchor)`` of every citation in ``path``."""
    found = []
    markdown = path.suffix == ".md"
    for no, line in enumerate(path.read_text().splitlines(), 1):
        for m in CITATION.finditer(line):
            found.append((no, m.group(1), m.group(2)))
        if markdown:
            for m in LINK.finditer(line):
                if not CITATION.fullmatch(m.group(1)):   # already found above
                    found.append((no, m.group(1), m.group(2)))
    return found


def dangling(path: Path) -> list[str]:
    """The citations of ``path`` whose file or heading anchor does not exist."""
    bad = []
    for no, target, anchor in citations(path):
        where = f"{path.relative_to(ROOT)}:{no}: {target}{'#' + anchor if anchor else ''}"
        doc = path if target == "" else resolve(target, path)
        if doc is None:
            bad.append(f"{where}: no such file")
        elif anchor and doc.suffix == ".md" and anchor not in github_anchors(doc.read_text()):
            bad.append(f"{where}: no heading with that anchor in {doc.relative_to(ROOT)}")
    return bad


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_citation_resolves(path):
    assert dangling(path) == []


def test_the_cited_documents_are_in_the_repo():
    cited = {resolve(t, p) for p in SOURCES for _, t, _ in citations(p) if t}
    for doc in ("FUSIONS.md", "TENSORRT-RTX.md", "WRITING-RULES.md"):
        assert ROOT / "docs" / doc in cited, f"docs/{doc} is cited nowhere"


def test_github_anchors_follow_githubs_slugger():
    text = ("# Q/DQ Fusion\n## Padding and Convolution/Deconvolution\n### Relu->Relu\n"
            "### `conv-relu` and [link](x.md)\n```\n# not a heading\n```\n### Reduce\n### Reduce\n")
    assert github_anchors(text) == {"qdq-fusion", "padding-and-convolutiondeconvolution", "relu-relu",
                                    "conv-relu-and-link", "reduce", "reduce-1"}


def test_a_dangling_citation_is_reported(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "FUSIONS.md").write_text("# Catalogue\n## GELU\n")
    src = tmp_path / "rule.py"
    src.write_text('"""Source: docs/FUSIONS.md#gelu; docs/FUSIONS.md#l1norm; docs/MISSING.md."""\n'
                   "# see [GELU](docs/FUSIONS.md#gelu) and README.md\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert dangling(src) == ["rule.py:1: docs/FUSIONS.md#l1norm: no heading with that anchor in docs/FUSIONS.md",
                             "rule.py:1: docs/MISSING.md: no such file",
                             "rule.py:2: README.md: no such file"]


def _layout_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Layout")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else None]


def test_readme_layout_names_every_module_and_package():
    """README's Layout lists every fusionlab module, subpackage and rule family."""
    names = set(re.findall(r"`([^`]+)`", _layout_section()))
    expected = {p.name for p in ROOT.joinpath("fusionlab").iterdir()
                if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").exists())}
    for pkg in ("rewriting", "verification", "trt", "trt/artifacts"):
        expected |= {p.name for p in ROOT.joinpath("fusionlab", pkg).glob("*.py") if p.name != "__init__.py"}
    families = {p.name for p in ROOT.joinpath("rules").iterdir() if (p / "__init__.py").exists()}
    mentioned = {n.rstrip("/").split("/")[-1] for n in names}
    missing = [m for m in sorted(expected | families)
               if m not in mentioned and m.removesuffix(".py") not in mentioned]
    assert not missing, f"README's Layout does not name {missing}"


def test_readme_layout_names_nothing_that_is_not_there():
    """Every file or folder README's Layout names exists in the repository."""
    tree = {p.name for p in ROOT.rglob("*") if ".venv" not in p.parts and ".git" not in p.parts}
    named = [n.rstrip("/").split("/")[-1] for n in re.findall(r"`([^`]+)`", _layout_section())
             if re.fullmatch(r"[\w./-]+(\.py|\.md|\.json|/)", n)]
    ghosts = sorted(n for n in named if n not in tree)
    assert not ghosts, f"README's Layout names {ghosts}, which are not in the tree"
