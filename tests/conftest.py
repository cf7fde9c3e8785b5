"""Shared test configuration.

Options:
    --snapshot-update: write the per-rule-test snapshots of ``report.to_json()`` (see
        tests/rules/conftest.py) instead of failing on a missing or different one.
"""

from __future__ import annotations


def pytest_addoption(parser):
    parser.addoption("--snapshot-update", action="store_true", default=False,
                     help="write tests/rules/<family>/snapshots/... instead of comparing")
