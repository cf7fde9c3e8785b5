"""``polygraphy inspect model`` listings: the layers of an engine (a listing of the
network, before fusion, is recognised and refused by :func:`~.log.parse_log`)."""

from __future__ import annotations

import re

from fusionlab.trt.artifacts.model import ObservedLayer
from fusionlab.trt.artifacts.names import _observed

_POLY_TITLE = re.compile(r"^==== TensorRT (?P<kind>Engine|Network) ====$")
_POLY_SECTION = re.compile(r"^---- \d+ Layer\(s\) ----$")
_POLY_LAYER = re.compile(r"^Layer \d+\s+\| (?P<name>.*) \[Op: (?P<type>[^\]]*)\]$")
_POLY_IO = re.compile(r"^\{(?P<ins>.*)\}\s*->\s*\{(?P<outs>.*)\}$")
_POLY_TENSOR = re.compile(r"\s*(?P<name>.+?) \[dtype=[^\]]*\](?:,|$)")


class _PolygraphyScan:
    """The Polygraphy part of the log scan (:class:`~.log._LogScan` inherits it): buffers
    the lines of one ``Layer N | name [Op: type]`` entry and turns them into a layer."""

    def __init__(self) -> None:
        self.poly_kind: str | None = None  # "Engine" or "Network", from the listing's title
        self.poly_layers: list[ObservedLayer] = []
        self.poly_network_layers = 0
        self.poly_pending: list[str] = []

    def _poly_line(self, prefixed: bool, message: str) -> bool:
        if prefixed or _POLY_TITLE.match(message.strip()):
            self._poly_flush()
            return False
        if _POLY_LAYER.match(message.strip()):
            self._poly_flush()
        if message.strip():
            self.poly_pending.append(message.strip())
        return True

    def _poly_flush(self) -> None:
        """Turn the buffered lines of one Polygraphy layer into an ObservedLayer."""
        lines, self.poly_pending = self.poly_pending, []
        header = _POLY_LAYER.match(lines[0]) if lines else None
        if not header:
            return
        if self.poly_kind == "Network":
            self.poly_network_layers += 1
            return
        attributes = next((i for i, x in enumerate(lines) if x.startswith("---- Attributes")), len(lines))
        io = _POLY_IO.match(" ".join(lines[1:attributes]))
        tactic = next((x.partition("=")[2].strip() for x in lines[attributes:] if x.startswith("Tactic =")), None)
        inputs = _poly_tensors(io["ins"]) if io else ()
        outputs = _poly_tensors(io["outs"]) if io else ()
        self.poly_layers.append(
            _observed(header["name"], header["type"], tactic=tactic, inputs=inputs, outputs=outputs)
        )

    # -- result


def _poly_tensors(text: str) -> tuple[str, ...]:
    return tuple(m["name"] for m in _POLY_TENSOR.finditer(text))
