"""Compare analyze's predicted layers with the layers a TensorRT builder really made.

Everything is compared as sets of ONNX node names, because the builder's layer list is
not a partition of the ONNX graph: one ONNX node may be credited to several kernels (a
conv and its bias epilogue; a Softmax split in two), Metadata order is not topological,
and nodes the builder absorbed (folded Pads, inverse Transpose pairs, Reshapes, redundant
Q->DQ pairs) appear in no layer. See ``docs/TENSORRT-RTX.md#comparing-kernels-with-predictions``.

Definitions (``O`` = the ONNX nodes named by any observed layer):

* a *predicted fusion* (predicted layer of 2+ nodes) is ``confirmed`` when one observed
  layer holds all of its nodes that are in ``O``; ``unverifiable`` when fewer than two of
  its nodes are in ``O``; else ``not-observed``;
* an *observed fusion* (observed layer naming 2+ nodes of the model) is ``predicted``
  when one predicted layer holds all of them, else ``not-predicted``;
* the *fused-edge score*: over producer -> consumer edges of the ONNX graph whose two
  nodes are both in ``O``, an edge is observed fused when one observed layer holds both
  nodes, predicted fused when one predicted layer holds both; precision, recall and F1
  of the prediction over those edges (1.0 when there is nothing to get wrong);
  over 0 such edges the score is *not scored* (``None``), never 1.0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Protocol

from fusionlab.graph import Graph
from fusionlab.report import Report


class ObservedLike(Protocol):
    name: str
    type: str | None
    nodes: tuple[str, ...]


@dataclass
class EdgeScore:
    """Precision / recall / F1 of predicted fused edges (see module doc).

    Over 0 edges (no ONNX edge whose two nodes the engine names) nothing was scored:
    ``scored`` is False and precision, recall and F1 are None, never 1.0.
    """

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def edges(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def scored(self) -> bool:
        """True when at least one edge was compared."""
        return self.edges > 0

    @property
    def precision(self) -> float | None:
        if not self.scored:
            return None
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float | None:
        if not self.scored:
            return None
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float | None:
        if not self.scored:
            return None
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_json(self) -> dict:
        """``precision``, ``recall``, ``f1`` (null when not scored), ``scored``, ``edges`` and the counts."""
        def rnd(x):
            return None if x is None else round(x, 4)

        return {"precision": rnd(self.precision), "recall": rnd(self.recall),
                "f1": rnd(self.f1), "scored": self.scored, "edges": self.edges,
                "tp": self.tp, "fp": self.fp, "fn": self.fn, "tn": self.tn}


@dataclass
class Comparison:
    """Outcome of comparing a :class:`Report` with observed layers.

    Attributes:
        fusions: ``(status, nodes, predicted layer name)`` per predicted fusion, status
            ``confirmed`` / ``not-observed`` / ``unverifiable``.
        observed_fusions: ``(status, nodes, observed layer name)``, status ``predicted`` /
            ``not-predicted``.
        builder_absorbed: ONNX nodes in no observed layer.
        unknown_nodes: node names the builder reported that the model does not have.
        score: the fused-edge score.
    """

    fusions: list[tuple[str, tuple[str, ...], str]]
    observed_fusions: list[tuple[str, tuple[str, ...], str]]
    builder_absorbed: list[str]
    unknown_nodes: list[str]
    score: EdgeScore
    edge_errors: list[tuple[str, str, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "score": self.score.to_json(),
            "fusions": [{"status": s, "nodes": list(n), "layer": name} for s, n, name in self.fusions],
            "observed_fusions": [{"status": s, "nodes": list(n), "layer": name}
                                 for s, n, name in self.observed_fusions],
            "builder_absorbed": self.builder_absorbed,
            "unknown_nodes": self.unknown_nodes,
            "edge_errors": [{"producer": a, "consumer": b, "error": e} for a, b, e in self.edge_errors],
        }


def compare(graph: Graph, report: Report, observed: Iterable[ObservedLike]) -> Comparison:
    """Compare ``report`` (analyze's prediction for ``graph``) with ``observed`` layers."""
    observed = list(observed)
    known = graph.nodes
    order = {n: node.index for n, node in known.items()}
    obs_sets = [frozenset(n for n in layer.nodes if n in known) for layer in observed]
    in_obs = frozenset().union(*obs_sets) if obs_sets else frozenset()
    unknown = sorted({n for layer in observed for n in layer.nodes if n not in known})
    pred_of = {n: i for i, layer in enumerate(report.layers) for n in layer.nodes}
    obs_of: dict[str, list[int]] = {}
    for i, s in enumerate(obs_sets):
        for n in s:
            obs_of.setdefault(n, []).append(i)

    def sort(nodes):
        return tuple(sorted(nodes, key=order.__getitem__))

    fusions = []
    for layer in report.layers:
        if len(layer.nodes) < 2:
            continue
        seen = frozenset(layer.nodes) & in_obs
        if len(seen) < 2:
            status = "unverifiable"
        elif any(seen <= s for s in obs_sets):
            status = "confirmed"
        else:
            status = "not-observed"
        fusions.append((status, tuple(layer.nodes), layer.name))
    observed_fusions = []
    for layer, s in zip(observed, obs_sets):
        if len(s) < 2:
            continue
        homes = {pred_of.get(n) for n in s}
        status = "predicted" if len(homes) == 1 and None not in homes else "not-predicted"
        observed_fusions.append((status, sort(s), layer.name))
    tp = fp = fn = tn = 0
    errors = []
    for u, v in graph.nx.edges():
        if u not in in_obs or v not in in_obs:
            continue
        obs = bool(set(obs_of[u]) & set(obs_of[v]))
        pred = u in pred_of and pred_of.get(u) == pred_of.get(v)
        if obs and pred:
            tp += 1
        elif pred:
            fp += 1
            errors.append((u, v, "predicted fused, built apart"))
        elif obs:
            fn += 1
            errors.append((u, v, "built fused, predicted apart"))
        else:
            tn += 1
    absorbed = [n for n in known if n not in in_obs]
    return Comparison(fusions, observed_fusions, absorbed, unknown, EdgeScore(tp, fp, fn, tn), errors)
