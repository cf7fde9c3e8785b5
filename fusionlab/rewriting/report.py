"""What ``fusionlab rewrite`` did: the :class:`RewriteReport` and its records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fusionlab.rewriting.options import Requantization

if TYPE_CHECKING:  # pragma: no cover
    from fusionlab.equivalence import Equivalence
    from fusionlab.report import Report


@dataclass
class Change:
    """One rewrite applied.

    Attributes:
        round: the rewrite round (1-based).
        pass_name, code, rule: the pass and its rule.
        nodes: the ONNX nodes of the match it fixed (names in the model of that round).
        description: the rewrite's one-line description.
        stamped: the nodes it created or changed (stamped with ``fusionlab.rewrite``).
        status, check: the diagnostic's status and failed check, when it was missed.
        requantized: what the rewrite quantized (``allow_requantize``): not exact.
    """

    round: int
    pass_name: str
    code: str
    rule: str
    nodes: tuple[str, ...]
    description: str
    stamped: tuple[str, ...]
    status: str
    check: str | None
    requantized: tuple[Requantization, ...] = ()

    def to_json(self) -> dict:
        return {"round": self.round, "pass": self.pass_name, "code": self.code, "rule": self.rule,
                "nodes": list(self.nodes), "description": self.description, "stamped": list(self.stamped),
                "status": self.status, "check": self.check,
                "requantized": [r.to_json() for r in self.requantized]}


@dataclass
class Refusal:
    """A match a pass could not fix without changing the math, with the reason."""

    pass_name: str
    code: str
    rule: str
    nodes: tuple[str, ...]
    check: str | None
    reason: str

    def to_json(self) -> dict:
        return {"pass": self.pass_name, "code": self.code, "rule": self.rule, "nodes": list(self.nodes),
                "check": self.check, "reason": self.reason}


@dataclass
class BuildCount:
    """A live build's engine layers (``--verify``)."""

    builder: str
    version: str | None = None
    layers: int | None = None
    layers_with_nodes: int | None = None
    seconds: float | None = None
    error: str | None = None

    def to_json(self) -> dict:
        return {"builder": self.builder, "version": self.version, "layers": self.layers,
                "layers_with_onnx_nodes": self.layers_with_nodes,
                "seconds": None if self.seconds is None else round(self.seconds, 2), "error": self.error}


@dataclass
class RewriteReport:
    """What ``fusionlab rewrite`` did to one model.

    Attributes:
        model: the input's name.
        target, precision, sm: the analysis options.
        passes: the passes that were selected.
        rounds: analyze -> rewrite rounds run (the last one changes nothing).
        changes: every rewrite applied, in order.
        refused: matches that cannot be fixed without changing the math, with reasons.
        before, after: analyze's reports of the input and of the rewritten model.
        equivalence: the final model against the original (None when not checked).
        checker: ``"full"``, ``"plain"`` (the input fails the full check) or ``None``.
        warnings: loud notes (unchecked model, round limit, ...).
        seconds: wall-clock time of the rewrite and its checks.
        builds: ``{"before": BuildCount, "after": BuildCount}`` with ``verify``.
        allow_requantize: the run allowed requantization (``--allow-requantize``).
        tolerance: when something was requantized and checked: the float outputs'
            ``atol`` / ``rtol`` (the user's) and ``why`` they are the user's.
    """

    model: str
    target: str
    precision: str
    sm: float
    passes: list[str]
    rounds: int
    changes: list[Change]
    refused: list[Refusal]
    before: Report
    after: Report
    equivalence: Equivalence | None
    checker: str | None
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    builds: dict[str, BuildCount] = field(default_factory=dict)
    allow_requantize: bool = False
    tolerance: dict | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def requantized(self) -> list[Requantization]:
        """Every tensor a rewrite quantized (not exact), in order."""
        return [r for c in self.changes for r in c.requantized]

    def counts(self) -> dict[str, int]:
        """Changes per pass."""
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.pass_name] = out.get(c.pass_name, 0) + 1
        return out

    def to_json(self) -> dict:
        return {
            "model": self.model, "target": self.target, "precision": self.precision, "sm": self.sm,
            "passes": self.passes, "rounds": self.rounds, "changed": self.changed,
            "seconds": round(self.seconds, 3),
            "summary": {
                "changes": len(self.changes), "by_pass": self.counts(), "refused": len(self.refused),
                "layers_before": len(self.before.layers), "layers_after": len(self.after.layers),
                "missed_before": len(self.before.missed), "missed_after": len(self.after.missed),
                "max_abs_diff": None if self.equivalence is None else self.equivalence.max_abs,
            },
            "changes": [c.to_json() for c in self.changes],
            "refused": [r.to_json() for r in self.refused],
            "missed_before": [d.to_json() for d in self.before.missed],
            "missed_after": [d.to_json() for d in self.after.missed],
            "checker": self.checker,
            "equivalence": None if self.equivalence is None else self.equivalence.to_json(),
            "builds": {k: v.to_json() for k, v in self.builds.items()},
            "allow_requantize": self.allow_requantize,
            "requantized": [r.to_json() for r in self.requantized],
            "tolerance": self.tolerance,
            "warnings": list(self.warnings),
        }
