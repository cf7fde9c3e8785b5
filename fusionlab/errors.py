"""Errors fusionlab raises for bad input, each with its own process exit code.

Every error the command line can meet is a :class:`FusionlabError`: the CLI prints
``fusionlab: error: <message>`` on one line of stderr and exits with ``exit_code``.
Nothing else escapes as a traceback.

Exit codes (stable, documented in README.md):

* 0 analyzed / verified / rewritten
* 1 ``--fail-on`` matched diagnostics
* 2 bad input or usage (:class:`InputError`, :class:`ArtifactError`)
* 3 the TensorRT builder failed, crashed or timed out (:class:`BuildError`)
* 4 a rewrite changed the model's outputs beyond tolerance (:class:`EquivalenceError`)
* 5 the TensorRT builder needed is not installed (:class:`BuilderUnavailable`)

Every exception class fusionlab defines lives here (standard library only), so
``from fusionlab import InputError, NotRunnable, CannotRewrite, ...`` imports no onnx,
numpy or networkx; the modules that raise them re-export them under their old homes
(``fusionlab.equivalence.NotRunnable``, ``fusionlab.rewriting.CannotRewrite``,
``fusionlab.engine.CyclicMerge``).
"""

from __future__ import annotations


class FusionlabError(Exception):
    """Base of every error fusionlab reports to the user as one line.

    Attributes:
        exit_code: the process exit code the CLI uses for this error.
    """

    exit_code = 2

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InputError(FusionlabError):
    """The ONNX model, a path or an option is unusable (exit code 2)."""

    exit_code = 2


class ArtifactError(FusionlabError):
    """A TensorRT log, layer-info or profile file cannot be read (exit code 2)."""

    exit_code = 2


class BuildError(FusionlabError):
    """The TensorRT builder rejected the model, crashed or timed out (exit code 3)."""

    exit_code = 3


class EquivalenceError(FusionlabError):
    """A rewritten model's outputs differ from the original's beyond tolerance (exit code 4)."""

    exit_code = 4


class BuilderUnavailable(FusionlabError):
    """Neither ``tensorrt_rtx`` nor ``tensorrt`` can be imported for the target (exit code 5)."""

    exit_code = 5


class NotRunnable(InputError):
    """ONNX Runtime cannot load or run the original model: the check cannot be made
    (exit code 2; ``--no-check`` writes the rewritten model unchecked). Raised by
    :func:`fusionlab.equivalence.check`."""


class CannotRewrite(Exception):
    """Raised by a rule's ``rewrite`` when the match cannot be fixed without changing the
    model's math; ``reason`` names what blocks it (reported, never silently changed).
    Raise it before editing the graph. Never reaches the user as an error: the rewrite
    driver reports the match as refused (:class:`fusionlab.rewriting.Refusal`)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class CyclicMerge(RuntimeError):
    """A rule asked to merge layers that a path through another layer connects (A -> B
    -> C, merging A and C without B): the merged layer would be its own producer.

    An internal error (a bug of the rule named), not bad input: the CLI exits 70.
    Attributes: ``code`` (the rule's code), ``nodes`` (the ONNX nodes of the refused
    merge), ``path`` (ONNX nodes of one path that leaves the merge and comes back).
    Raised by :mod:`fusionlab.engine`.
    """

    def __init__(self, code: str, name: str, nodes: list[str], path: list[str]):
        self.code, self.nodes, self.path = code, nodes, path
        super().__init__(
            f"rule {code} {name} merges {', '.join(nodes)} into one layer, but "
            f"{' -> '.join(path)} leaves that layer and comes back: the layer graph would "
            "have a cycle (torch.fx's validate_partition refuses the same)")
