"""Scale (issue 10: "a 200k-node chain ... ends in MemoryError after 3 minutes"; "rewrite
either finishes or stops at a documented limit with a message"): rewrite refuses a graph
over fusionlab.rewriting.MAX_NODES at once, one line, exit 2, nothing written; at the
limit it runs. (analyze's memory on a 200k-node chain: benchmarks/bench_memory.py.)"""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from fusionlab.errors import InputError
from fusionlab.rewriting import MAX_NODES

from test_bad_input import assert_one_line_error


def relu_chain(n: int) -> onnx.ModelProto:
    """benchmarks/bench_memory.py's graph: ``x -> Relu -> ... -> y``, N nodes, [1, 64]."""
    nodes = [helper.make_node("Relu", [f"t{i}" if i else "x"], [f"t{i + 1}" if i + 1 < n else "y"],
                              name=f"relu_{i}") for i in range(n)]
    graph = helper.make_graph(nodes, "relu_chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# (case id, nodes, extra rewrite arguments)
CASES = [
    ("over-the-limit", MAX_NODES + 1, []),
    ("200k-chain", 200_000, []),
    ("200k-chain-dry-run-no-check", 200_000, ["--dry-run", "--no-check"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rewrite_stops_at_the_node_limit(cli, tmp_path, case):
    _, n, extra = case
    path = tmp_path / "chain.onnx"
    onnx.save(relu_chain(n), str(path))
    out = tmp_path / "out.onnx"
    code, stdout, err = cli("rewrite", path, *(extra or ["-o", out]))
    assert_one_line_error(code, err, f"has {n} nodes", f"at most {MAX_NODES}", "MAX_NODES")
    assert stdout == "" and not out.exists()


def test_api_raises_input_error_over_the_limit():
    import fusionlab

    with pytest.raises(InputError, match=f"at most {MAX_NODES}"):
        fusionlab.rewrite(relu_chain(MAX_NODES + 1))


def test_a_chain_under_the_limit_is_rewritten(cli, tmp_path):
    """A short chain runs the whole way (the limit refuses only what is over it)."""
    path = tmp_path / "chain.onnx"
    onnx.save(relu_chain(200), str(path))
    code, _, err = cli("rewrite", path, "-o", tmp_path / "out.onnx")
    assert code == 0, err
    # no pass rewrites a ReLU chain: the run ends normally with nothing to write
    assert f"fusionlab: nothing to rewrite: {path} unchanged; {tmp_path / 'out.onnx'} not written" in err.splitlines()
