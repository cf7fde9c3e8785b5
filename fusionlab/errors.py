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
