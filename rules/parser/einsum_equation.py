"""TRT607 einsum-equation."""

from fusionlab.pattern import Op
from fusionlab.rule import Rule, check

#: The characters the parser's Einsum importer takes besides the letters a-z.
ALLOWED = frozenset("->., ")


def invalid_characters(equation: str) -> list[str]:
    """The characters of ``equation`` the parser refuses (anything but a-z and ``->., ``),
    each once, in order."""
    return list(dict.fromkeys(c for c in equation if not ("a" <= c <= "z") and c not in ALLOWED))


class EinsumEquation(Rule):
    """An Einsum whose equation uses upper-case letters (or other characters): the parser rejects it.

    What it fuses: nothing; a parser check on every Einsum.
    Why it matters: the parser's Einsum importer takes only the letters a-z and ``-``,
    ``>``, ``.``, ``,`` and spaces, and stops with "Invalid character(s) in Einsum
    equation: B,G,H,I,D" otherwise; no engine is built. ONNX allows upper-case labels,
    and PyTorch writes them (torchvision's MaxViT: ``BGHID,BGHJD->BGHIJ``).
    Conditions: `lowercase-labels` -- the equation holds only a-z and ``->., ``. The
    reason names the node, the equation and the characters; fix it by renaming the labels
    to lower case (the same equation), or by writing the product as MatMul / Transpose.
    TensorRT-RTX rejects it the same way (measured with TensorRT-RTX 1.7 on torchvision's
    maxvit_t: "Invalid character(s) in Einsum equation: B,G,H,I,D,...").
    Severity: error -- the parser rejects the model.
    Source: onnx-tensorrt ``builtin_op_importers.cpp`` and ``onnxOpCheckers.cpp``
    (Einsum: the character check before ``addEinsum``); the live build above.
    """

    code = "TRT607"
    name = "einsum-equation"
    kind = "lint"
    level = "onnx"  # the parser imports every node
    pattern = Op("Einsum", name="einsum")
    phase = 90
    cost = 3
    rejects = True

    @check("lowercase-labels")
    def lowercase(self, einsum, ctx):
        equation = einsum.attr("equation")
        if not isinstance(equation, str):
            return None
        bad = invalid_characters(equation)
        if not bad:
            return None
        return (f"{einsum.name} (Einsum) has the equation {equation!r} with {', '.join(map(repr, bad))}: "
                "TensorRT's parser takes only a-z and '->., ' (\"Invalid character(s) in Einsum equation\") "
                f"and rejects it; write the labels in lower case ({equation.lower()!r})")
