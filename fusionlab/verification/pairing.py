"""Pair the node names a TensorRT engine reports with fusionlab's ONNX node names.

The ONNX parser (onnx-tensorrt ``getNodeName``) names a node by its ``name``, and an
unnamed node ``node_of_<first output name>``; fusionlab names an unnamed node
``<op_type>_<index>`` (:func:`fusionlab.graph.node_names`). Both spellings are paired
here. Seen in a live TensorRT-RTX 1.7.1 build of models/resnet18.onnx with every
``node.name`` cleared: ``Metadata: [ONNX Layer: node_of_/conv1/Conv_output_0]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from fusionlab.graph import Graph

#: prefix the ONNX parser puts before the first output name of an unnamed node.
PARSER_UNNAMED_PREFIX = "node_of_"


def parser_aliases(graph: Graph) -> dict[str, str]:
    """Every name a TensorRT engine may give a node of ``graph`` -> fusionlab's name.

    Keys: fusionlab's own name, the node's name in the file (when set), and for an
    unnamed node ``node_of_<first output>``. A name the file gives two nodes maps to
    the first; fusionlab's own names win over the parser spellings.
    """
    aliases: dict[str, str] = {}
    for name, node in graph.nodes.items():
        proto_name = node.proto.name
        if proto_name:
            aliases.setdefault(proto_name, name)
        elif node.outputs and node.outputs[0]:
            aliases.setdefault(PARSER_UNNAMED_PREFIX + node.outputs[0], name)
    aliases.update({name: name for name in graph.nodes})
    return aliases


def pair_layers(graph: Graph, observed: Iterable) -> list:
    """``observed`` layers with their ``nodes`` renamed to fusionlab's node names.

    Names that pair with no node of ``graph`` are kept as written (the comparison
    reports them as unknown). Layers are copied with :func:`dataclasses.replace`.
    """
    aliases = parser_aliases(graph)
    paired = []
    for layer in observed:
        nodes = []
        for n in layer.nodes:
            m = aliases.get(n, n)
            if m not in nodes:
                nodes.append(m)
        paired.append(replace(layer, nodes=tuple(nodes)) if tuple(nodes) != tuple(layer.nodes) else layer)
    return paired
