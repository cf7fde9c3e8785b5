"""TensorRT side of fusionlab: build engines and read what TensorRT reports about them.

* :mod:`fusionlab.trt.build`: build an ONNX model with TensorRT-RTX or classic TensorRT
  in a subprocess and keep the full log.
* :mod:`fusionlab.trt.artifacts` (one module per format): parse build logs, ``--exportLayerInfo`` layer info and
  ``--exportProfile`` profiles into :class:`ObservedLayer` records (re-exported here;
  standard library only, so importing this package never imports TensorRT).
* :mod:`fusionlab.trt.profiler`: :class:`LayerProfiler`, an ``IProfiler`` for the user's
  runtime that writes ``--exportProfile`` JSON (loaded on first use, with TensorRT).
"""

from fusionlab.lazy import lazy_exports
from fusionlab.trt import artifacts
from fusionlab.trt.artifacts import *  # noqa: F401,F403  (the public parser API, re-exported)

#: public name -> the submodule that defines it (imported on first use).
_LAZY = dict.fromkeys(("LayerProfiler", "LayerTimes", "layer_profiler_class"), "profiler")

__all__ = list(artifacts.__all__) + list(_LAZY)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
