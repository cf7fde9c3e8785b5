"""TensorRT side of fusionlab: build engines and read what TensorRT reports about them.

* :mod:`fusionlab.trt.build`: build an ONNX model with TensorRT-RTX or classic TensorRT
  in a subprocess and keep the full log.
* :mod:`fusionlab.trt.artifacts` (one module per format): parse build logs, ``--exportLayerInfo`` layer info and
  ``--exportProfile`` profiles into :class:`ObservedLayer` records (re-exported here;
  standard library only, so importing this package never imports TensorRT).
"""

from fusionlab.trt import artifacts
from fusionlab.trt.artifacts import *  # noqa: F401,F403  (the public parser API, re-exported)

__all__ = list(artifacts.__all__)
