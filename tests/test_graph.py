"""The graph layer: order, producers/consumers, constants, shapes on a light copy."""

import numpy as np
from onnx import TensorProto, helper

from fusionlab.analysis import analyze
from fusionlab.graph import load_graph
from fusionlab.testing import GraphBuilder


def test_nodes_out_of_file_order_are_sorted_topologically():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    model = g.model([y])
    nodes = list(model.graph.node)
    del model.graph.node[:]
    model.graph.node.extend(reversed(nodes))  # relu1 before conv1 in the file
    graph = load_graph(model)
    assert [n.name for n in sorted(graph.nodes.values(), key=lambda n: n.index)] == ["conv1", "relu1"]
    assert graph.nx.edges["conv1", "relu1"]["tensors"] == ["conv1_out"]
    assert analyze(model).layers[0].nodes == ("conv1", "relu1")


def test_unnamed_and_duplicate_names_get_stable_unique_names():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])
    y = helper.make_tensor_value_info("z", TensorProto.FLOAT, [4])
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Relu", ["a"], ["b"], name="r"),
             helper.make_node("Neg", ["b"], ["z"], name="r")]
    graph = load_graph(helper.make_model(helper.make_graph(nodes, "g", [x], [y])))
    assert sorted(graph.nodes) == ["Relu_0", "r", "r_2"]
    assert graph.consumers["a"] == ["r"] and graph.producer["z"] == "r_2"


def test_shapes_are_inferred_without_serializing_the_weights():
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 64, name="conv1")
    y = g.node("Reshape", [y, g.const(np.array([1, -1], np.int64))], name="flat")
    graph = load_graph(g.model([y]))
    assert graph.shape("conv1_out") == (1, 64, 8, 8)
    assert graph.shape("flat_out") == (1, 64 * 8 * 8)  # the small int constant was kept
    assert graph.dtype("flat_out") == TensorProto.FLOAT
    w = graph.nodes["conv1"].inputs[1]
    assert graph.is_constant(w) and graph.const_value(w).shape == (64, 32, 3, 3)
