"""The rewrite passes: every rule that has a rewrite, by pass name."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from fusionlab import engine  # engine.discover_rules: tests replace it
from fusionlab.errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from fusionlab.rule import Rule


def available_passes() -> dict[str, type[Rule]]:
    """Pass name -> rule, for every rule that has a rewrite (sorted by rule code)."""
    found: dict[str, type] = {}
    for rule in engine.discover_rules():
        name = rule.rewrite_pass()
        if name is not None:
            found[name] = rule
    return found


def select_passes(passes: Sequence[str] | None) -> dict[str, type[Rule]]:
    """The passes named in ``passes`` (pass names, rule names or codes); all when None.

    Raises:
        InputError: a name that is no pass.
    """
    available = available_passes()
    if passes is None:
        return available
    chosen: dict[str, type] = {}
    for want in passes:
        hit = [(n, r) for n, r in available.items() if want in (n, r.name, r.code)]
        if not hit:
            raise InputError(f"unknown rewrite pass {want!r}; passes: {', '.join(available) or 'none'}")
        chosen.update(hit)
    return {n: r for n, r in available.items() if n in chosen}
