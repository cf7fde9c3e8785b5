"""fusionlab rewrite: the driver, the equivalence check, atomic writing, bad input.

The passes here are test rules defined in this file (the real passes are tested in
tests/rules/), installed by replacing ``fusionlab.engine.discover_rules``: an Identity
eraser (exact), a Relu "eraser" (deliberately wrong: the check must catch it, exit 4),
a rule that refuses with CannotRewrite, and a missed fusion whose check its rewrite
does not fix.
"""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import fusionlab
from fusionlab import engine, equivalence
from fusionlab.errors import EquivalenceError, InputError
from fusionlab.pattern import Var, op
from fusionlab.rewriting import (STAMP_DESCRIPTION, STAMP_KEY, CannotRewrite, bypass, node_of,
                                 write_model_atomic)
from fusionlab.rule import Rule, check
from fusionlab.testing import GraphBuilder


class EraseIdentity(Rule):
    """Test rule: Identity is erased (an exact rewrite)."""

    code = "TRT990"
    name = "test-erase-identity"
    kind = "erase"
    phase = 5
    pattern = op.Identity(Var("x"), name="node")
    rewrites_on = ("absorbed",)

    def erased(self, m):
        return [(m.layer("node"), m.tensor("x"))]

    def rewrite(self, m, graph):
        node = node_of(graph, m.node("node").name)
        bypass(node, node.inputs[0])
        return f"erased {node.name}"


class DropRelu(Rule):
    """Test rule: a deliberately wrong rewrite (Relu is not an identity)."""

    code = "TRT991"
    name = "test-drop-relu"
    kind = "erase"
    phase = 6
    pattern = op.Relu(Var("x"), name="node")
    rewrites_on = ("absorbed",)
    pass_name = "drop-relu"

    def erased(self, m):
        return [(m.layer("node"), m.tensor("x"))]

    def rewrite(self, m, graph):
        node = node_of(graph, m.node("node").name)
        bypass(node, node.inputs[0])
        return f"dropped {node.name}"


class SigmoidRefuses(Rule):
    """Test rule: a match the rewrite cannot fix without changing the math."""

    code = "TRT992"
    name = "test-sigmoid"
    pattern = op.Sigmoid(Var("x"), name="node")
    rewrites_on = ("predicted",)

    def rewrite(self, m, graph):
        raise CannotRewrite(f"{m.node('node').name} is a Sigmoid; nothing exact to do")


class TanhMissed(Rule):
    """Test rule: always missed, with a check its rewrite does not fix."""

    code = "TRT993"
    name = "test-tanh"
    pattern = op.Tanh(Var("x"), name="node")
    rewrites_on = ("missed",)
    fixes = ("fixable",)

    @check("not-fixable")
    def never(self, m, ctx):
        return f"{m.node('node').name} needs something no rewrite can give"

    def rewrite(self, m, graph):  # pragma: no cover - must not be called
        raise AssertionError("called on a check it does not fix")


TEST_RULES = [EraseIdentity, DropRelu, SigmoidRefuses, TanhMissed]


@pytest.fixture(autouse=True)
def test_rules(monkeypatch):
    monkeypatch.setattr(engine, "discover_rules", lambda: list(TEST_RULES))


def conv_identity_relu(opset=17, ir_version=8, unnamed=False):
    g = GraphBuilder(opset=opset)
    y = g.conv(g.input("x", [1, 8, 6, 6]), 8, cin=8, name="conv1")
    y = g.node("Identity", [y], name="id1")
    y = g.node("Identity", [y], name="id2")
    y = g.node("Relu", [y], name="relu1")
    y = g.node("Exp", [y], name="tail")
    model = g.model([y], ir_version=ir_version)
    model.producer_name, model.producer_version = "unit-test", "9.9"
    model.metadata_props.add(key="author", value="tests")
    model.graph.node[3].metadata_props.add(key="origin", value="kept")
    if unnamed:
        for node in model.graph.node:
            node.name = ""
    return model



def save(model, path):
    onnx.save(model, str(path))
    return path


# ------------------------------------------------------------------ the driver
def test_rewrite_erases_identities_keeps_io_opset_ir_producer_and_stamps():
    model = conv_identity_relu()
    before = model.SerializeToString()
    out, report = fusionlab.rewrite(model, passes=["test-erase-identity"])
    assert model.SerializeToString() == before  # the input proto is not modified
    assert [n.op_type for n in out.graph.node] == ["Conv", "Relu", "Exp"]
    assert out.ir_version == 8 and out.opset_import[0].version == 17
    assert (out.producer_name, out.producer_version) == ("unit-test", "9.9")
    assert [(e.key, e.value) for e in out.metadata_props] == [("author", "tests")]
    assert [i.name for i in out.graph.input] == ["x"]
    assert [o.name for o in out.graph.output] == [o.name for o in model.graph.output]
    relu = out.graph.node[1]
    props = {e.key: e.value for e in relu.metadata_props}
    assert props["origin"] == "kept"
    assert props[STAMP_KEY] == "TRT990"
    assert "erased id" in props[STAMP_DESCRIPTION]
    assert [c.code for c in report.changes] == ["TRT990", "TRT990"]
    assert report.equivalence.passed and report.equivalence.max_abs == 0.0
    assert report.checker == "full"
    onnx.checker.check_model(out, full_check=True)


def test_overlapping_matches_wait_for_the_next_round():
    # erasing id1 changes id2 (its input), so id2's match waits for round 2
    _, report = fusionlab.rewrite(conv_identity_relu(), passes=["TRT990"])
    assert [(c.round, c.nodes) for c in report.changes] == [(1, ("id1",)), (2, ("id2",))]
    assert report.rounds == 3  # the last round finds nothing


def test_unnamed_nodes_get_analyze_names():
    out, report = fusionlab.rewrite(conv_identity_relu(unnamed=True), passes=["test-erase-identity"])
    assert [n.name for n in out.graph.node] == ["Conv_0", "Relu_3", "Exp_4"]
    assert sorted(c.nodes[0] for c in report.changes) == ["Identity_1", "Identity_2"]


def test_nothing_to_do_returns_the_input_itself():
    g = GraphBuilder()
    y = g.node("Relu", [g.input("x", [2, 3])], name="r")
    model = g.model([y])
    out, report = fusionlab.rewrite(model, passes=["test-erase-identity"])
    assert out is model and not report.changed
    assert report.equivalence.passed


def test_wrong_rewrite_raises_equivalence_error_naming_pass_and_output():
    model = conv_identity_relu()
    with pytest.raises(EquivalenceError) as info:
        fusionlab.rewrite(model)
    err = info.value
    assert err.exit_code == 4
    assert err.pass_name == "drop-relu"
    assert err.output == "tail_out"
    assert "drop-relu (TRT991)" in err.message and "'tail_out'" in err.message
    assert err.diff.max_abs > err.diff.atol


def test_cannot_rewrite_is_reported_and_nothing_changes():
    g = GraphBuilder()
    y = g.node("Sigmoid", [g.input("x", [2, 3])], name="sig1")
    model = g.model([y])
    out, report = fusionlab.rewrite(model, passes=["test-sigmoid"])
    assert out is model
    assert [(r.code, r.nodes, r.reason) for r in report.refused] == [
        ("TRT992", ("sig1",), "sig1 is a Sigmoid; nothing exact to do")]


def test_missed_on_a_check_the_rewrite_does_not_fix_is_refused_with_its_reason():
    g = GraphBuilder()
    y = g.node("Tanh", [g.input("x", [2, 3])], name="tanh1")
    out, report = fusionlab.rewrite(g.model([y]), passes=["test-tanh"])
    assert not report.changed
    assert [(r.check, r.reason) for r in report.refused] == [
        ("not-fixable", "tanh1 needs something no rewrite can give")]


def test_unknown_pass():
    with pytest.raises(InputError, match="unknown rewrite pass 'nope'"):
        fusionlab.rewrite(conv_identity_relu(), passes=["nope"])


def test_shape_override_for_symbolic_dims():
    g = GraphBuilder()
    y = g.node("Identity", [g.input("x", ["batch", "seq", 4])], name="id1")
    y = g.node("Relu", [y], name="relu1")
    model = g.model([y])
    with pytest.raises(InputError, match="--shapes x:NxNx4"):
        fusionlab.rewrite(model, passes=["TRT990"])
    out, report = fusionlab.rewrite(model, passes=["TRT990"], shapes=["x:2x5x4"])
    assert report.equivalence.input_shapes == {"x": [2, 5, 4]}
    assert [n.op_type for n in out.graph.node] == ["Relu"]


def test_token_ids_stay_below_the_gather_table():
    g = GraphBuilder()
    ids = g.input("ids", [1, 16], TensorProto.INT64)
    table = g.weight([7, 4])
    y = g.node("Gather", [table, ids], name="emb")
    g.input("mask", [1, 16], TensorProto.INT64)  # an attention mask: 0 or 1
    model = g.model([y])
    shapes = equivalence.resolve_shapes(model)
    for seed in range(3):
        feed = equivalence.random_inputs(model, shapes, seed)
        assert feed["ids"].max() < 7 and feed["ids"].min() >= 0
        assert set(np.unique(feed["mask"])) <= {0, 1}


def test_tolerances_are_explicit_and_overridable():
    g = GraphBuilder()
    model = g.model([g.node("Relu", [g.input("x", [2, 3])], name="r")])
    ref = equivalence.reference(model)
    assert ref.tolerance(TensorProto.FLOAT) == (1e-4, 1e-3)
    assert ref.tolerance(TensorProto.INT8) == (1.0, 0.0)
    assert ref.tolerance(TensorProto.INT64) == (0.0, 0.0)
    ref = equivalence.reference(model, atol=0.5, rtol=0.0)
    assert ref.tolerance(TensorProto.FLOAT) == (0.5, 0.0)
    assert ref.tolerance(TensorProto.INT64) == (0.0, 0.0)


def test_a_changed_output_fails_with_the_numbers():
    g = GraphBuilder()
    model = g.model([g.node("Relu", [g.input("x", [2, 3])], name="r")])
    other = onnx.ModelProto()
    other.CopyFrom(model)
    other.graph.node[0].op_type = "Abs"
    result = equivalence.reference(model).compare(other)
    assert not result.passed
    bad = result.first_failure()
    assert bad.name == "r_out" and bad.max_abs > 0.1


# ------------------------------------------------------------------ the command line
def test_cli_writes_output_and_leaves_input(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    before = src.read_bytes()
    code, out, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--passes",
                             "test-erase-identity", "--format", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["summary"]["changes"] == 2 and data["changed"]
    assert data["equivalence"]["outputs"][0]["atol"] == 1e-4
    assert src.read_bytes() == before
    written = onnx.load(str(tmp_path / "out.onnx"))
    assert [n.op_type for n in written.graph.node] == ["Conv", "Relu", "Exp"]
    assert sorted(os.listdir(tmp_path)) == ["in.onnx", "out.onnx"]  # no temp files left


def test_cli_text_report(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, out, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--passes",
                             "test-erase-identity")
    assert code == 0, err
    assert "2 rewrites" in out and "max |diff|" in out and "test-erase-identity" in out


def test_cli_dry_run_writes_nothing(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, out, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--dry-run",
                             "--passes", "test-erase-identity")
    assert code == 0, err
    assert "dry run" in out and "erased id1" in out
    assert sorted(os.listdir(tmp_path)) == ["in.onnx"]


def test_cli_never_overwrites_the_input_without_in_place(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    before = src.read_bytes()
    code, _, err = cli("rewrite", src, "-o", src, "--passes", "TRT990")
    assert code == 2 and "--in-place" in err
    assert src.read_bytes() == before
    code, _, err = cli("rewrite", src, "--in-place", "--passes", "TRT990")
    assert code == 0, err
    assert [n.op_type for n in onnx.load(str(src)).graph.node] == ["Conv", "Relu", "Exp"]


def test_cli_equivalence_failure_exits_4_and_writes_nothing(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, out, err = cli("rewrite", src, "-o", tmp_path / "out.onnx")
    assert code == 4
    line = err.strip().splitlines()[-1]
    assert line.startswith("fusionlab: error: rewrite pass drop-relu (TRT991) changed output 'tail_out'")
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["in.onnx"]


def test_cli_guilty_pass_is_found_when_two_passes_share_a_round(cli, tmp_path):
    class DropReluEarly(DropRelu):
        phase = 5  # same phase as the Identity eraser: both apply in round 1

    TEST_RULES[1] = DropReluEarly
    try:
        src = save(conv_identity_relu(), tmp_path / "in.onnx")
        code, _, err = cli("rewrite", src, "-o", tmp_path / "out.onnx")
    finally:
        TEST_RULES[1] = DropRelu
    assert code == 4
    assert "rewrite pass drop-relu (TRT991)" in err and "test-erase-identity" not in err


def test_cli_external_data_is_kept_beside_the_output(cli, tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "dst").mkdir()
    src = tmp_path / "src" / "in.onnx"
    onnx.save_model(conv_identity_relu(), str(src), save_as_external_data=True,
                    location="in.weights", size_threshold=0)
    code, _, err = cli("rewrite", src, "-o", tmp_path / "dst" / "out.onnx", "--passes", "TRT990")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path / "dst")) == ["out.onnx", "out.onnx.data"]
    out = onnx.load(str(tmp_path / "dst" / "out.onnx"), load_external_data=False)
    assert any(t.data_location == TensorProto.EXTERNAL for t in out.graph.initializer)
    onnx.checker.check_model(str(tmp_path / "dst" / "out.onnx"), full_check=True)
    assert (tmp_path / "src" / "in.weights").exists()


@pytest.mark.parametrize("case", ["missing-folder", "folder-is-a-file", "output-is-a-directory"])
def test_cli_bad_output_paths(cli, tmp_path, case):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    dest = {"missing-folder": tmp_path / "nope" / "out.onnx",
            "folder-is-a-file": tmp_path / "afile" / "out.onnx",
            "output-is-a-directory": tmp_path / "adir"}[case]
    code, _, err = cli("rewrite", src, "-o", dest, "--passes", "TRT990")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("fusionlab: error: ")
    assert sorted(os.listdir(tmp_path)) == ["adir", "afile", "in.onnx"]
    assert os.listdir(tmp_path / "adir") == []


def test_unwritable_folder_leaves_nothing(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(InputError, match="cannot write: Permission denied"):
        write_model_atomic(conv_identity_relu(), tmp_path / "out.onnx", external=True)
    assert os.listdir(tmp_path) == []


def test_cli_unwritable_folder(cli, tmp_path, monkeypatch):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    (tmp_path / "ro").mkdir()
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p).endswith("ro") else real(p, mode))
    code, _, err = cli("rewrite", src, "-o", tmp_path / "ro" / "out.onnx", "--passes", "TRT990")
    assert code == 2 and "not writable" in err
    assert os.listdir(tmp_path / "ro") == []


def unknown_op_model():
    g = GraphBuilder()
    y = g.node("Identity", [g.input("x", [2, 3])], name="id1")
    y = g.node("MyOp", [y], name="custom", domain="com.example")
    y = g.node("Relu", [y], name="relu1")
    return g.model([y], output_dtype=TensorProto.FLOAT, check=False, domains={"com.example": 1})


def test_cli_model_onnxruntime_cannot_run_needs_no_check(cli, tmp_path):
    src = save(unknown_op_model(), tmp_path / "in.onnx")
    code, _, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--passes", "TRT990")
    assert code == 2
    assert "ONNX Runtime cannot load" in err and "--no-check" in err
    assert err.startswith("fusionlab: error: ") and err.count("\n") == 1  # one line, not a warning too
    assert "Traceback" not in err
    assert sorted(os.listdir(tmp_path)) == ["in.onnx"]
    code, _, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--passes", "TRT990", "--no-check")
    assert code == 0, err
    assert "warning: NOT CHECKED" in err
    assert [n.op_type for n in onnx.load(str(tmp_path / "out.onnx")).graph.node] == ["MyOp", "Relu"]


def test_cli_dry_run_on_a_model_onnxruntime_cannot_run_warns(cli, tmp_path):
    src = save(unknown_op_model(), tmp_path / "in.onnx")
    code, out, err = cli("rewrite", src, "--dry-run", "--passes", "TRT990")
    assert code == 0, err
    assert "NOT CHECKED" in err and "erased id1" in out


@pytest.mark.parametrize("case", ["missing", "directory", "not-onnx", "truncated", "cycle", "no-producer"])
def test_cli_bad_input_is_one_line_exit_2(cli, tmp_path, case):
    out = tmp_path / "out" / "o.onnx"
    out.parent.mkdir()
    if case == "missing":
        src = tmp_path / "nope.onnx"
    elif case == "directory":
        src = tmp_path / "out"
    elif case == "not-onnx":
        src = tmp_path / "notes.onnx"
        src.write_text("not a protobuf\n" * 10)
    elif case == "truncated":
        data = conv_identity_relu().SerializeToString()
        src = tmp_path / "t.onnx"
        src.write_bytes(data[: len(data) // 2])
    elif case == "cycle":
        nodes = [helper.make_node("Relu", ["b"], ["a"], name="r1"),
                 helper.make_node("Identity", ["a"], ["b"], name="id1")]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                                  [helper.make_tensor_value_info("b", TensorProto.FLOAT, [4])])
        src = save(helper.make_model(graph), tmp_path / "cycle.onnx")
    else:
        nodes = [helper.make_node("Relu", ["ghost"], ["y"], name="r1")]
        graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
        src = save(helper.make_model(graph), tmp_path / "ghost.onnx")
    code, _, err = cli("rewrite", src, "-o", out)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("fusionlab: error: ")
    assert os.listdir(out.parent) == []


def test_cli_needs_an_output(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, _, err = cli("rewrite", src)
    assert code == 2 and "-o/--output" in err


def test_cli_unknown_pass(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, _, err = cli("rewrite", src, "-o", tmp_path / "o.onnx", "--passes", "nope,TRT990")
    assert code == 2 and "unknown rewrite pass 'nope'" in err


@pytest.mark.needs_rtx
def test_cli_verify_counts_engine_layers_before_and_after(cli, tmp_path):
    src = save(conv_identity_relu(), tmp_path / "in.onnx")
    code, out, err = cli("rewrite", src, "-o", tmp_path / "out.onnx", "--passes", "TRT990",
                             "--verify", "--target", "tensorrt-rtx", "--format", "json")
    assert code == 0, err
    builds = json.loads(out)["builds"]
    assert builds["before"]["builder"] == "tensorrt-rtx" and builds["before"]["error"] is None
    assert 1 <= builds["after"]["layers"] <= builds["before"]["layers"]
    assert builds["after"]["layers_with_onnx_nodes"] >= 1
