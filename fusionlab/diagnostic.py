"""The diagnostic: one record shared by the engine, the CLI, the reports and the tests."""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: Status values. ``predicted``: TensorRT will fuse these nodes. ``missed``: the
#: structure of a fusion is there but a check failed. ``lint``: a layer or Tensor Core
#: performance finding, or an input TensorRT's parser rejects. ``absorbed``: nodes
#: TensorRT folds or erases. ``confirmed`` / ``not-observed`` / ``not-predicted``:
#: verify's comparison with the builder. ``rewritten``: a rewrite pass changed the graph.
STATUSES = ("predicted", "missed", "lint", "absorbed", "confirmed", "not-observed",
            "not-predicted", "rewritten")

#: Severities of a finding, most severe first (SARIF levels ``error`` / ``warning`` /
#: ``note``; GitHub workflow commands ``::error`` / ``::warning`` / ``::notice``).
SEVERITIES = ("error", "warning", "info")
#: Statuses that are findings (reported, counted by ``--fail-on``).
FINDING_STATUSES = ("missed", "lint")


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a set of ONNX nodes.

    Attributes:
        code: the rule's stable code, e.g. ``"TRT101"``.
        rule: the rule's kebab-case name, e.g. ``"conv-relu"``.
        status: one of :data:`STATUSES`.
        nodes: ONNX node names, in topological order.
        check: slug of the failed check (``"single-consumer"``), or ``None``.
        reason: one sentence naming the observed value and the one TensorRT needs.
        cost: 3 high (a Convolution / GEMM / INT8 path loses its fusion), 2 medium,
            1 low (one extra pointwise kernel); orders the report's missed fusions.
        layer: name of the predicted engine layer the nodes ended in, if any.
        rejects: the finding is an input TensorRT's ONNX parser rejects (a ``lint`` of
            a rule with ``rejects``): the build fails before any layer is made. Not a
            key of the diagnostic's JSON: the report lists them as ``parser_rejects``.
        severity: for ``missed`` and ``lint`` findings, one of :data:`SEVERITIES`:
            ``error`` (TensorRT's parser rejects the model), ``warning`` (a missed fusion
            or lint the graph or the build options can fix), ``info`` (builder behaviour
            nothing in the model can change); ``None`` for the other statuses. The rule
            decides (:meth:`fusionlab.rule.Rule.severity_of`).
    """

    code: str
    rule: str
    status: str
    nodes: tuple[str, ...]
    check: str | None
    reason: str
    cost: int = 1
    layer: str | None = None
    rejects: bool = False
    severity: str | None = None

    def to_json(self) -> dict:
        """The JSON record documented in README.md (``nodes`` as a list)."""
        d = asdict(self)
        d["nodes"] = list(self.nodes)
        del d["rejects"]
        return d
