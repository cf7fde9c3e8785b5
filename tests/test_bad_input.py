"""Bad input: one clear line on stderr naming the problem, exit 2, never a traceback."""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from fusionlab.testing import GraphBuilder



def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("fusionlab: error: ")
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_path(cli, tmp_path):
    code, _, err = cli("analyze", str(tmp_path / "nope.onnx"))
    assert_one_line_error(code, err, "nope.onnx", "no such file")


def test_directory(cli, tmp_path):
    # analyze searches a folder for *.onnx (tests/test_batch.py); the API takes files only
    code, _, err = cli("analyze", str(tmp_path))
    assert_one_line_error(code, err, str(tmp_path), "folder holds no .onnx file")
    import pytest

    from fusionlab import InputError, analyze

    with pytest.raises(InputError, match="is a directory"):
        analyze(tmp_path)


def test_non_onnx_file(cli, tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is not a protobuf, just some text\n" * 20)
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "notes.onnx", "not")


def test_empty_file(cli, tmp_path):
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "empty.onnx")


def test_truncated_protobuf(cli, tmp_path, conv_relu_model):
    data = conv_relu_model.SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "truncated.onnx", "not a valid ONNX model")


def test_cycle(cli, tmp_path):
    nodes = [helper.make_node("Relu", ["x_or_b"], ["a"], name="r1"),
             helper.make_node("Add", ["a", "x"], ["b"], name="add1"),
             helper.make_node("Identity", ["b"], ["x_or_b"], name="id1")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])])
    path = tmp_path / "cycle.onnx"
    onnx.save(helper.make_model(graph), path)
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "cycle", "r1", "add1", "id1")


def test_input_never_produced(cli, tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="add1")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    path = tmp_path / "dangling.onnx"
    onnx.save(helper.make_model(graph), path)
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "add1", "'ghost'", "no node")


def test_graph_output_never_produced(cli, tmp_path):
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu1")]
    outputs = [helper.make_tensor_value_info(t, TensorProto.FLOAT, [4]) for t in ("y", "phantom")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              outputs)
    path = tmp_path / "phantom.onnx"
    onnx.save(helper.make_model(graph), path)
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "graph output 'phantom'", "no node")


def _external_model(model, tmp_path, location):
    weight = model.graph.initializer[0]
    weight.data_location = TensorProto.EXTERNAL
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    del weight.external_data[:]
    weight.external_data.add(key="location", value=location)
    path = tmp_path / "ext.onnx"
    path.write_bytes(model.SerializeToString())
    return path


def test_missing_external_data(cli, tmp_path, conv_relu_model):
    path = _external_model(conv_relu_model, tmp_path, "weights.bin")
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "weights.bin", "missing")


def test_external_data_escaping_the_model_folder(cli, tmp_path, conv_relu_model):
    (tmp_path / "sub").mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 64)
    model_dir = tmp_path / "sub"
    path = _external_model(conv_relu_model, model_dir, "../secret.bin")
    code, _, err = cli("analyze", str(path))
    assert_one_line_error(code, err, "../secret.bin", "outside the model's folder")


def test_external_data_present_is_analyzed_without_reading_it(cli, tmp_path, conv_relu_model):
    path = tmp_path / "with_ext.onnx"
    onnx.save_model(conv_relu_model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location="w.bin", size_threshold=0)
    code, out, err = cli("analyze", str(path), "--format", "json")
    assert code == 0, err
    assert '"conv1 + relu1"' in out


def test_unknown_op_domain_is_a_note_and_the_rest_is_analyzed(cli, tmp_path):
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name="conv1")
    y = g.node("Relu", [y], name="relu1")
    z = g.node("MyPlugin", [y], name="plugin1", domain="com.example")
    model = g.model([z], check=False, domains={"com.example": 1})
    path = tmp_path / "plugin.onnx"
    onnx.save(model, path)
    code, out, err = cli("analyze", str(path), "--format", "json")
    assert code == 0, err
    import json
    report = json.loads(out)
    assert any("com.example" in n and "plugin1" in n for n in report["notes"])
    assert ["conv1", "relu1"] in [layer["nodes"] for layer in report["layers"]]
    assert ["plugin1"] in [layer["nodes"] for layer in report["layers"]]


def test_symbolic_shapes_are_a_note(cli, tmp_path):
    g = GraphBuilder()
    y = g.conv(g.input("x", ["batch", 32, "h", "w"]), 32, name="conv1")
    path = tmp_path / "sym.onnx"
    onnx.save(g.model([g.node("Relu", [y], name="relu1")]), path)
    code, out, err = cli("analyze", str(path), "--format", "json")
    assert code == 0, err
    import json
    report = json.loads(out)
    assert any("symbolic shapes" in n and "batch" in n for n in report["notes"])


def test_subgraph_is_reported_not_analyzed(cli, tmp_path):
    then = helper.make_graph([helper.make_node("Relu", ["x"], ["t"], name="inner_relu")], "then", [],
                             [helper.make_tensor_value_info("t", TensorProto.FLOAT, [4])])
    other = helper.make_graph([helper.make_node("Neg", ["x"], ["e"], name="inner_neg")], "else", [],
                              [helper.make_tensor_value_info("e", TensorProto.FLOAT, [4])])
    nodes = [helper.make_node("If", ["c"], ["y"], name="if1", then_branch=then, else_branch=other)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("c", TensorProto.BOOL, []),
                                           helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    path = tmp_path / "if.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    code, out, err = cli("analyze", str(path), "--format", "json")
    assert code == 0, err
    assert "subgraph" in out and "if1" in out


def test_unknown_option_value_is_a_usage_error(cli, conv_relu_model, save_model):
    path = save_model(conv_relu_model, "m.onnx")
    code, _, err = cli("analyze", str(path), "--target", "tensorrt-llm")
    assert code == 2
    assert "Traceback" not in err


def test_output_into_missing_folder_writes_nothing(cli, tmp_path, conv_relu_model, save_model):
    path = save_model(conv_relu_model, "m.onnx")
    code, _, err = cli("analyze", str(path), "-o", str(tmp_path / "no" / "r.json"))
    assert_one_line_error(code, err, "does not exist")
    assert not (tmp_path / "no").exists()
