"""Parsers for what TensorRT writes about a built engine: build logs, layer info, profiles.

Everything here reads text or JSON that TensorRT (``trtexec``, the Python API, the
engine inspector or Polygraphy) wrote, and turns it into the same small data model:
one :class:`ObservedLayer` per engine layer (kernel), with the ONNX nodes it holds.
Only the standard library is used (``json``, ``re`` and ``sqlite3``): importing this
package imports no onnx, numpy, networkx nor the engine. One module per format:

* :mod:`.log`: build logs (:func:`parse_log`); :mod:`.polygraphy`: the
  ``polygraphy inspect model`` listings a log may hold;
* :mod:`.layer_info`: ``--exportLayerInfo`` JSON (:func:`parse_layer_info`);
* :mod:`.profile`: ``--exportProfile`` JSON and ``--dumpProfile`` tables
  (:func:`parse_profile`, :func:`match_profile`);
* :mod:`.nsys`: TensorRT's NVTX layer ranges in an ``nsys export --type sqlite`` file
  (:func:`parse_nsys`; :func:`parse_profile` recognises one by its SQLite header);
* :mod:`.names`: ONNX node names from ``Metadata`` and layer names;
* :mod:`.model`: the records (:class:`ObservedLayer`, :class:`BuildLog`...);
* :mod:`.common`: reading files, recognising JSON kinds, versions.

What each TensorRT version writes (checked against real files of TensorRT 8.0.3, 8.2.3,
8.4.1, 10.4.0, 10.14.1, 10.16.2 and TensorRT-RTX 1.7.1):

* Build log (``trtexec --verbose``, or an ILogger kept at VERBOSE), parsed by
  :func:`parse_log`:

  - ``Engine Layer Information:`` then one unprefixed line per layer, at every profiling
    verbosity. TensorRT 8.x: ``Layer(CaskConvolution): Conv-1 + ReLU-2, Tactic:
    0x632674f65e3422ae, tensor-0[Float(-2,1,28,28)] -> tensor-2[Float(-2,32,28,28)]``
    (8.0 and 8.2 print decimal tactics: ``Tactic: -9153228964338181824``). TensorRT 10.x
    and TensorRT-RTX: ``Layer(Myelin): {ForeignNode[node_conv2d...node_relu]}, Tactic:
    0x0000000000000000, x (Float[-1,1,28,28]) -> relu (Float[-1,32,28,28])``.
  - ``Layers:`` then one unprefixed line per layer, at DETAILED profiling verbosity
    (TensorRT 10.x and TensorRT-RTX; also the engine inspector's text since 8.4, without
    ``Metadata``): ``Name: …, LayerType: …, Inputs: [ { Name: …, … } ], Constants: […],
    Outputs: […], TacticName: …, StreamId: N[, EventId: N], Metadata: [ONNX Layer:
    a]\x1f[ONNX Layer: b]`` (``Constants`` and ``EventId`` are TensorRT-RTX's; classic
    10.x has ``Location``, ``ParameterType``, ``TacticValue``... instead).
  - fusion passes: ``ConvReluFusion: Fusing A with B``, ``Running: ConvReluFusion on A``
    (8.4+; 8.2 omits ``on A``, 8.0 prints no ``Running:``), ``Removing L``,
    ``QuantizeDoubleInputNodes: fusing (A and B) into C``, ``Merging layers: A || B``.
    TensorRT-RTX compiles everything with Myelin and logs none of these.
  - layer counts: ``Original: 26 layers``, ``After vertical fusions: 10 layers``...
  - version: ``[TensorRT v8401]`` (trtexec's first line; ``v101401`` for 10.14.1),
    ``TensorRT version: 8.4.1`` (``8003`` in 8.0), ``libnvinfer_builder_resource.so.10.4.0``,
    Polygraphy's ``Loaded Module: tensorrt | Version: 10.16.2.5``. TensorRT-RTX logs
    state none: pass ``version=`` to :func:`parse_log`.
  - ``ForeignNode {ForeignNode[a...b]} metadata: [ONNX Layer: a][ONNX Layer: b]``
    (10.x VERBOSE, while timing Myelin blocks): used to map Myelin layers exactly.

* ``trtexec --exportLayerInfo=layers.json``, parsed by :func:`parse_layer_info`:
  ``{"Layers": [...], "Bindings": [...]}``. With ``--profilingVerbosity=detailed`` each
  layer is an object with ``Name``, ``LayerType``, ``Inputs``, ``Outputs``,
  ``TacticName``/``TacticValue`` and, from 10.x, ``Metadata`` (entries joined by
  ``\x1e``); the 8.2-era schema has no ``Location`` keys. At the default verbosity the
  layers are bare name strings.
* ``trtexec --exportProfile=profile.json``, parsed by :func:`parse_profile`:
  ``[{"count": N}, {"name", "timeMs", "averageMs", "medianMs", "percentage"}, ...]``
  (``medianMs`` since 8.4). ``--dumpProfile`` prints the same as a table in the log.
  The ``--exportTimes`` file (per-inference timestamps) is recognized and refused.
* ``polygraphy inspect model ENGINE``: ``Layer 0 | node_conv2d + node_relu [Op:
  CaskConvolution]`` then its tensors and ``Tactic = 0x...``. A listing of the
  *network* (``==== TensorRT Network ====``, before fusion) is refused.

How a layer is mapped to ONNX nodes (:attr:`ObservedLayer.mapping`):

* ``"metadata"``: from the layer's ``Metadata`` (TensorRT 10.x and TensorRT-RTX, or a
  ``ForeignNode {ForeignNode[…]} metadata: [ONNX Layer: …]`` line of a 10.x VERBOSE log).
  Exact: the ONNX parser stores ``[ONNX Layer: <node name>]`` per network layer and the
  builder concatenates them when it fuses. Entries are separated by ``\\x1e`` (classic
  layer-info JSON), ``\\x1f`` (``Layers:`` dumps) or nothing (``ForeignNode`` lines).
* ``"name-join"``: the layer name split on ``" + "``, ``PWN(...)`` wrappers removed, and
  TensorRT-internal names (``(Unnamed Layer* 12) [Shuffle]``) dropped. Approximate: the
  parts can also be initializer names (``features.0.0.weight``) or TensorRT helper layers
  (``reshape_before_MatMul-9``, ``ONNXTRT_Broadcast``), so intersect them with the ONNX
  graph's node names. A Myelin block ``{ForeignNode[first...last]}`` gives only its two
  endpoint names: the nodes between them are not named anywhere in the layer name.
* ``"none"``: the layer holds no ONNX node (reformat copies, Myelin shape calls, an empty
  ``Metadata``).

Every file-reading function raises :class:`~fusionlab.errors.ArtifactError` with a
one-line message naming the file and the problem; log lines that cannot be parsed are
skipped and counted, never fatal.
"""

from __future__ import annotations

from fusionlab.trt.artifacts.layer_info import parse_layer_info
from fusionlab.trt.artifacts.log import parse_log, parse_log_text
from fusionlab.trt.artifacts.model import (
    BuildLog,
    FusionEvent,
    LayerInfo,
    LayerTiming,
    NodeMapping,
    ObservedLayer,
    Profile,
)
from fusionlab.trt.artifacts.names import parse_metadata, split_layer_name
from fusionlab.trt.artifacts.nsys import parse_nsys
from fusionlab.trt.artifacts.profile import match_profile, parse_profile

__all__ = [
    "BuildLog",
    "FusionEvent",
    "LayerInfo",
    "LayerTiming",
    "NodeMapping",
    "ObservedLayer",
    "Profile",
    "match_profile",
    "parse_layer_info",
    "parse_log",
    "parse_log_text",
    "parse_metadata",
    "parse_nsys",
    "parse_profile",
    "split_layer_name",
]
