"""A snapshot of ``report.to_json()`` for every report a rule test produces.

As ruff snapshots each code's diagnostics, every rule test case here is a regression
net on the whole report (layers, absorbed nodes, every diagnostic and its reason), not
only on what the test asserts. The autouse fixture ``report_snapshots`` wraps the
``analyze`` the test module imported (``from fusionlab import analyze`` or ``from
fusionlab.analysis import analyze``) and records each report it returns; once the test
body has passed, each report's JSON (sorted keys, 2-space indent) is compared with

    tests/rules/<family>/snapshots/<test module>/<test name>.json      (one report)
    tests/rules/<family>/snapshots/<test module>/<test name>-<N>.json  (N = 0, 1, ...)

A missing or different snapshot fails the test; ``pytest --snapshot-update`` writes
them (and removes the test's stale ones). Review the diff of a written snapshot as you
would a code change.
"""

from __future__ import annotations

import difflib
import glob
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _normalise(report) -> str:
    """The report's JSON as the snapshot stores it: sorted keys, stable formatting, and
    the checkout's path (should a reason ever name a file) replaced by ``<repo>``."""
    text = json.dumps(report.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    return text.replace(str(REPO), "<repo>")


def _stem(name: str) -> str:
    """A file-name-safe test name (parametrized ids keep their text)."""
    return re.sub(r"[^A-Za-z0-9_.\-\[\]]", "_", name)


def _snapshot_dir(item) -> Path:
    path = Path(str(item.path))
    return path.parent / "snapshots" / path.stem


@pytest.fixture(autouse=True)
def report_snapshots(request, monkeypatch):
    """Record every report the test's module-level ``analyze`` returns (see module doc)."""
    reports: list = []
    request.node._report_snapshots = reports
    module = request.module
    original = getattr(module, "analyze", None)
    if original is None:
        return reports

    def recording_analyze(*args, **kwargs):
        report = original(*args, **kwargs)
        reports.append(report)
        return report

    recording_analyze.__wrapped__ = original
    monkeypatch.setattr(module, "analyze", recording_analyze)
    return reports


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem):
    """After a passing test body, compare (or write) its reports' snapshots."""
    result = yield
    reports = getattr(pyfuncitem, "_report_snapshots", None)
    if reports is None:
        return result
    update = pyfuncitem.config.getoption("--snapshot-update")
    folder = _snapshot_dir(pyfuncitem)
    stem = _stem(pyfuncitem.name)
    if len(reports) == 1:
        wanted = {f"{stem}.json": _normalise(reports[0])}
    else:
        wanted = {f"{stem}-{i}.json": _normalise(r) for i, r in enumerate(reports)}
    existing = {p.name for p in folder.glob(f"{glob.escape(stem)}*.json")
                if p.name == f"{stem}.json" or re.fullmatch(re.escape(stem) + r"-\d+\.json", p.name)}
    stale = sorted(existing - set(wanted))
    problems = []
    for name, text in wanted.items():
        path = folder / name
        old = path.read_text(encoding="utf-8") if path.is_file() else None
        if old == text:
            continue
        if update:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        elif old is None:
            problems.append(f"missing snapshot {path.relative_to(REPO)} "
                            "(run pytest --snapshot-update and review the new file)")
        else:
            diff = "".join(difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                                f"{name} (snapshot)", f"{name} (this run)"))
            problems.append(f"report differs from snapshot {path.relative_to(REPO)}:\n{diff}")
    for name in stale:
        if update:
            (folder / name).unlink()
        else:
            problems.append(f"stale snapshot {(folder / name).relative_to(REPO)}: the test made "
                            f"{len(reports)} report(s) (run pytest --snapshot-update)")
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
    return result

