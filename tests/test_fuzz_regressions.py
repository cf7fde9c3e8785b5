"""Regressions the fuzzer (tests/test_fuzz.py) found, each rebuilt as the smallest model
that shows it: before the fix each was an internal error (exit 70) or two stderr lines;
now each is refused at load (fusionlab/graph.py) with one line naming the node, exit 2.

- a name that is not valid UTF-8 (protobuf hands it to Python as ``bytes``:
  UnicodeDecodeError in shape inference and onnx-graphsurgeon);
- a node with fewer or more inputs or outputs than its ONNX schema allows (a Constant
  turned QuantizeLinear with no input: IndexError in the engine);
- an attribute of another type than its ONNX schema's (Gather ``axis`` as a string:
  ValueError in the rules), or with the UNDEFINED type tag;
- rewrite on a model ONNX Runtime cannot load printed the reason twice (a warning line,
  then the same error line): tests/test_rewrite.py checks it is one line now.
"""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from fusionlab.errors import InputError
from fusionlab.graph import load_graph
from fusionlab.testing import GraphBuilder

from test_bad_input import assert_one_line_error

MARK = "MARKMARKMARKMARK"


def relu_model(name: str = "relu1") -> onnx.ModelProto:
    """``x [1, 4] -> relu1 -> y``, valid: the base every case below breaks in one way."""
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [1, 4])], name=name)
    return g.model([y])


def with_invalid_utf8(where: str) -> bytes:
    """``relu_model`` serialized with the name at ``where`` replaced by 16 bytes that are
    not UTF-8 (same length, so every protobuf length stays right)."""
    model = relu_model()
    if where == "node name":
        model.graph.node[0].name = MARK
    elif where == "tensor name":
        model.graph.node[0].input[0] = MARK
        model.graph.input[0].name = MARK
    elif where == "graph name":
        model.graph.name = MARK
    elif where == "dim_param":
        model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = MARK
    elif where == "op domain":
        model.graph.node[0].domain = MARK
    return model.SerializeToString().replace(MARK.encode(), b"\xff\xfe" * 8)


UTF8_CASES = {
    "node name": "the name of node 0 is not valid UTF-8",
    "tensor name": "a tensor name of node 0 is not valid UTF-8",
    "graph name": "the graph name is not valid UTF-8",
    "dim_param": "is not valid UTF-8",
    "op domain": "the domain of node 0 is not valid UTF-8",
}


@pytest.mark.parametrize("where", sorted(UTF8_CASES))
@pytest.mark.parametrize("command", [("analyze", "--format", "full"), ("analyze", "--format", "json"),
                                     ("rewrite", "--dry-run")])
def test_invalid_utf8_name_is_one_line(cli, tmp_path, where, command):
    path = tmp_path / "model.onnx"
    path.write_bytes(with_invalid_utf8(where))
    code, out, err = cli(command[0], path, *command[1:])
    assert_one_line_error(code, err, "model.onnx", UTF8_CASES[where], "\\xff\\xfe")
    assert out == ""


def test_invalid_utf8_through_the_api_is_input_error():
    model = onnx.ModelProto()
    model.ParseFromString(with_invalid_utf8("node name"))
    with pytest.raises(InputError, match="not valid UTF-8"):
        load_graph(model)


def _node_model(op_type, inputs, outputs=("y",), attrs=(), check=False):
    """One node ``n1`` of ``op_type`` on float inputs a, b, c [1, 4] (``inputs`` names
    which), outputs ``outputs`` (the first is the graph output)."""
    node = helper.make_node(op_type, list(inputs), list(outputs), name="n1")
    node.attribute.extend(attrs)
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(t, TensorProto.FLOAT, [1, 4]) for t in ("a", "b", "c")],
        [helper.make_tensor_value_info(outputs[0], TensorProto.FLOAT, [1, 4])] if outputs else [])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    if check:
        onnx.checker.check_model(model)
    return model


def _undefined(name: str) -> onnx.AttributeProto:
    attr = helper.make_attribute(name, 1)
    attr.type = onnx.AttributeProto.UNDEFINED
    return attr


SCHEMA_CASES = {
    "quantize-no-input": (("QuantizeLinear", [], ["y"]), "(QuantizeLinear) has 0 inputs, ONNX QuantizeLinear takes 2 to 3"),
    "relu-three-inputs": (("Relu", ["a", "b", "c"], ["y"]), "(Relu) has 3 inputs, ONNX Relu takes 1"),
    "add-one-input": (("Add", ["a"], ["y"]), "(Add) has 1 inputs, ONNX Add takes 2"),
    "relu-two-outputs": (("Relu", ["a"], ["y", "z"]), "(Relu) has 2 outputs, ONNX Relu takes 1"),
    "concat-no-input": (("Concat", [], ["y"], [helper.make_attribute("axis", 0)]), "takes 1 or more"),
    "gather-axis-string": (("Gather", ["a", "b"], ["y"], [helper.make_attribute("axis", "[/]")]),
                           "attribute axis must be of type INT, found type STRING"),
    "softmax-axis-float": (("Softmax", ["a"], ["y"], [helper.make_attribute("axis", 1.5)]),
                           "attribute axis must be of type INT, found type FLOAT"),
    "softmax-axis-undefined": (("Softmax", ["a"], ["y"], [_undefined("axis")]),
                               "attribute 'axis' has type tag 0, which is no ONNX attribute type"),
}


@pytest.mark.parametrize("case", sorted(SCHEMA_CASES))
@pytest.mark.parametrize("command", [("analyze", "--format", "concise"), ("rewrite", "--dry-run")])
def test_node_outside_its_onnx_schema_is_one_line(cli, save_model, case, command):
    args, fragment = SCHEMA_CASES[case]
    path = save_model(_node_model(*args))
    code, out, err = cli(command[0], path, *command[1:])
    assert_one_line_error(code, err, "node 'n1'", fragment)
    assert out == ""


@pytest.mark.parametrize("args", [
    ("Add", ["a", "b"]),
    ("Concat", ["a", "b", "c"], ["y"], [helper.make_attribute("axis", 1)]),
    ("Clip", ["a", "", "c"]),  # an omitted optional input, spelled ""
    ("Softmax", ["a"], ["y"], [helper.make_attribute("axis", -1)]),
])
def test_nodes_inside_their_schema_still_analyze(cli, save_model, args):
    path = save_model(_node_model(*args, check=True))
    code, out, err = cli("analyze", path, "--format", "json")
    assert code == 0, err
    assert '"n1"' in out


def test_unknown_op_and_unknown_domain_are_not_schema_checked(cli, save_model):
    """Ops ONNX has no schema for keep their notes (README): only default-domain ops
    with a schema are held to it."""
    model = _node_model("MyOp", ["a", "b", "c"])
    model.graph.node[0].domain = "com.example"
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    code, out, err = cli("analyze", save_model(model), "--format", "json")
    assert code == 0, err
    assert "com.example" in out


def _quantize_without_inputs(opset):
    """``QuantizeLinear`` with no inputs (a fuzzed Constant) in a model of ``opset``
    (``None``: no default-domain opset import at all)."""
    model = _node_model("QuantizeLinear", [])
    del model.opset_import[:]
    if opset is not None:
        model.opset_import.append(helper.make_opsetid("", opset))
    return model


@pytest.mark.parametrize("opset, fragment", [
    (None, "imports no opset of the default ONNX domain"),
    (0, "imports opset 0 of the default ONNX domain"),
    (-1, "imports opset -1 of the default ONNX domain"),
    # QuantizeLinear is younger than opset 9: held to its newest schema
    (9, "(QuantizeLinear) has 0 inputs, ONNX QuantizeLinear takes 2 to 3"),
    (999, "(QuantizeLinear) has 0 inputs"),
])
def test_schema_check_has_an_opset_to_check_against(cli, save_model, opset, fragment):
    code, out, err = cli("analyze", save_model(_quantize_without_inputs(opset)), "--format", "concise")
    assert_one_line_error(code, err, fragment)


def test_model_of_other_domains_only_needs_no_onnx_opset(cli, save_model):
    model = _node_model("MyOp", ["a"])
    model.graph.node[0].domain = "com.example"
    del model.opset_import[:]
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    code, _, err = cli("analyze", save_model(model), "--format", "json")
    assert code == 0, err


def _with_bias(data_type=None, elem_type=None):
    """``y = a + bias`` (bias an initializer) with the bias's ``data_type`` or the graph
    input's ``elem_type`` overwritten."""
    g = GraphBuilder()
    y = g.node("Add", [g.input("a", [1, 4]), g.const([1.0, 2.0, 3.0, 4.0], name="bias")], name="n1")
    model = g.model([y])
    if data_type is not None:
        next(t for t in model.graph.initializer if t.name == "bias").data_type = data_type
    if elem_type is not None:
        model.graph.input[0].type.tensor_type.elem_type = elem_type
    return model


@pytest.mark.parametrize("kwargs, fragment", [
    ({"data_type": 40}, "initializer 'bias' has data_type 40, which is no ONNX tensor data type"),
    ({"data_type": 0}, "initializer 'bias' has data_type 0"),
    ({"elem_type": 99}, "graph input 'a' has elem_type 99, which is no ONNX tensor data type"),
    ({"elem_type": -1}, "graph input 'a' has elem_type -1"),
])
@pytest.mark.parametrize("command", [("analyze", "--format", "json"), ("rewrite", "--dry-run", "--format", "json")])
def test_undefined_data_type_is_one_line(cli, save_model, kwargs, fragment, command):
    """Before: KeyError in onnx-graphsurgeon (rewrite), exit 70."""
    code, out, err = cli(command[0], save_model(_with_bias(**kwargs)), *command[1:])
    assert_one_line_error(code, err, fragment)
    assert out == ""


@pytest.mark.parametrize("args, fragment", [
    (["verify", "MODEL", "--layer-info", "MODEL", "--min-f1", "nan"], "Invalid value for '--min-f1'"),
    (["analyze", "MODEL", "--bogus-option"], "No such option: --bogus-option"),
    (["analyze", "MODEL", "--format", "xml"], "'xml' is not one of"),
    (["rewrite", "MODEL", "--sm", "abc"], "Invalid value for '--sm'"),
    (["analyze"], "Missing argument"),
    (["nope"], "No such command 'nope'"),
])
def test_usage_error_is_one_line(cli, save_model, args, fragment):
    """Click's usage errors were a multi-line panel; now one line, exit 2, that points at
    the command's --help."""
    path = save_model(relu_model())
    code, out, err = cli(*[str(path) if a == "MODEL" else a for a in args])
    assert_one_line_error(code, err, fragment, "--help`)")
    assert out == ""


def test_help_and_bare_command_still_print_help(cli):
    code, out, _ = cli("--help")
    assert code == 0 and "analyze" in out
    code, out, _ = cli("analyze", "--help")
    assert code == 0 and "--output-format" in out
