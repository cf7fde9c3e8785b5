"""TensorRT side of fusionlab: build engines and read what TensorRT reports about them.

* :mod:`fusionlab.trt.build`: build an ONNX model with TensorRT-RTX or classic TensorRT
  in a subprocess and keep the full log.
* :mod:`fusionlab.trt.artifacts`: parse build logs, ``--exportLayerInfo`` layer info and
  ``--exportProfile`` profiles into :class:`ObservedLayer` records (re-exported here;
  standard library only, so importing this package never imports TensorRT).
"""

from fusionlab.trt.artifacts import (
    BuildLog,
    FusionEvent,
    LayerInfo,
    LayerTiming,
    ObservedLayer,
    Profile,
    match_profile,
    parse_layer_info,
    parse_log,
    parse_log_text,
    parse_metadata,
    parse_profile,
    split_layer_name,
)

__all__ = [
    "BuildLog",
    "FusionEvent",
    "LayerInfo",
    "LayerTiming",
    "ObservedLayer",
    "Profile",
    "match_profile",
    "parse_layer_info",
    "parse_log",
    "parse_log_text",
    "parse_metadata",
    "parse_profile",
    "split_layer_name",
]
