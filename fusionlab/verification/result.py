"""What ``fusionlab verify`` found: :class:`Verification` and :class:`MissedCost`."""

from __future__ import annotations

from dataclasses import dataclass, field

from fusionlab.compare import Comparison
from fusionlab.report import Report


@dataclass
class MissedCost:
    """Time spent in engine layers that hold the nodes of one missed fusion.

    Attributes:
        code, rule, check: the missed fusion's diagnostic.
        nodes: its ONNX nodes.
        layers: names of the engine layers holding any of those nodes.
        ms: their summed average time per inference (milliseconds).
        percent: ``ms`` as a share of the profile's total (percent).
    """

    code: str
    rule: str
    check: str | None
    nodes: tuple[str, ...]
    layers: list[str]
    ms: float
    percent: float

    def to_json(self) -> dict:
        return {"code": self.code, "rule": self.rule, "check": self.check, "nodes": list(self.nodes),
                "layers": self.layers, "ms": round(self.ms, 5), "percent": round(self.percent, 3)}


@dataclass
class Verification:
    """analyze's report, the observed layers, their comparison and profile costs.

    Attributes:
        report: analyze's :class:`~fusionlab.report.Report`.
        observed: observed engine layers (``name``, ``type``, ``nodes``, ``mapping``).
        comparison: the :class:`~fusionlab.compare.Comparison`.
        source: "live TensorRT-RTX 1.7.1.116 build", "layer info X.json", ...
        mapping: how observed layers were mapped to ONNX nodes ("metadata" or "name-join").
        builder_version: the builder's version, when known.
        build_seconds: wall-clock time of a live build.
        profile_total_ms: the profile's mean inference time, when a profile was given.
        layer_ms: per observed layer name, its average time (ms).
        missed_costs: the cost of each missed fusion (profile required).
        unmatched_profile: profile layer names absent from the layer information.
        warnings: one-line notes (names-only layer info, unknown versions, skipped lines).
    """

    report: Report
    observed: list
    comparison: Comparison
    source: str
    mapping: str
    builder_version: str | None = None
    build_seconds: float | None = None
    profile_total_ms: float | None = None
    layer_ms: dict[str, float] = field(default_factory=dict)
    missed_costs: list[MissedCost] = field(default_factory=list)
    unmatched_profile: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def not_paired(self) -> tuple[int, str]:
        """How many ONNX nodes no observed engine layer names, and why (one sentence).

        When nothing could be scored (0 paired edges) the reason asks whether the
        observed layers come from a build of this model; otherwise those nodes are the
        ones the builder folded or absorbed (constants, erased Reshapes, Q/DQ pairs).
        """
        count = len(self.comparison.builder_absorbed)
        unknown = len(self.comparison.unknown_nodes)
        if self.comparison.score.scored:
            return count, f"{count} ONNX nodes are in no engine layer (folded or absorbed by the builder)"
        paired = self.report.nodes - count
        if paired:
            return count, (f"no producer -> consumer edge joins two of the {paired} ONNX nodes the engine "
                           f"names ({count} are in no engine layer)")
        named = (f"; the engine names {unknown} nodes this model does not have" if unknown
                 else "" if any(o.nodes for o in self.observed) else "; no engine layer names any ONNX node")
        origin = "the engine" if self.source.startswith("live") else f"the {self.source}"
        return count, (f"{count} ONNX nodes have no engine layer naming them{named}: "
                       f"is {origin} from a build of this model?")

    def to_json(self) -> dict:
        """analyze's JSON plus ``observed_layers``, ``score`` and the comparison."""
        data = self.report.to_json()
        cmp = self.comparison.to_json()
        data.update({
            "source": self.source,
            "mapping": self.mapping,
            "builder_version": self.builder_version,
            "build_seconds": None if self.build_seconds is None else round(self.build_seconds, 2),
            "observed_layers": [{"name": o.name, "type": o.type, "nodes": list(o.nodes)} for o in self.observed],
            "score": cmp.pop("score"),
            "not_paired": dict(zip(("count", "reason"), self.not_paired())),
            "profile": None if self.profile_total_ms is None else {
                "total_ms": round(self.profile_total_ms, 5),
                "layer_ms": {k: round(v, 5) for k, v in self.layer_ms.items()},
                "missed_cost": [c.to_json() for c in self.missed_costs],
                "unmatched_layers": self.unmatched_profile,
            },
            "warnings": self.warnings,
        })
        data.update(cmp)
        return data
