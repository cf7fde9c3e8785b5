"""Equivalence inputs are bounded: rewrite refuses, before allocating them, random inputs
over fusionlab.equivalence.MAX_INPUT_BYTES, or with a dimension that is not a size
(issue 10: "a graph input of 2^40 elements in rewrite (MemoryError allocating 8 TiB),
`--shape` with 1e20 or a 25 GB input")."""

from __future__ import annotations

import onnx
import pytest

from fusionlab import equivalence
from fusionlab.errors import InputError


def _with_dims(models_dir, tmp_path, name: str, dims: dict[str, list[int]]):
    """A shipped model whose graph inputs get the fixed ``dims`` (dim_value), saved."""
    model = onnx.load(str(models_dir / f"{name}.onnx"))
    for v in model.graph.input:
        if v.name in dims:
            shape = v.type.tensor_type.shape
            for d, value in zip(shape.dim, dims[v.name]):
                d.Clear()
                d.dim_value = value
    path = tmp_path / f"{name}_dims.onnx"
    onnx.save(model, str(path))
    return path


# (case id, model, input dims written into the model, --shape values, fragments of the error);
# shapes given on the command line are checked first by fusionlab.shapes (their syntax and
# per-input bounds), the rest by the equivalence check's size limit
CASES = [
    ("graph-input-2^40-elements", "bert_tiny", {"input_ids": [1 << 34, 64], "attention_mask": [1 << 34, 64]},
     [], ["input_ids", "17179869184x64", "INT64", "8.0 TiB", "--shape input_ids:DIMS"]),
    ("shape-1e20-written-out", "resnet18", {}, ["input:100000000000000000000x3x224x224"],
     ["input:100000000000000000000x3x224x224", "larger than 2147483647"]),
    ("shape-1e20-exponent", "resnet18", {}, ["input:1e20x3x224x224"],
     ["input:1e20x3x224x224", "integers"]),
    ("shape-25GB", "resnet18", {}, ["input:32x3x8192x8192"],
     ["--shapes input:32x3x8192x8192", "6442450944 elements", "at most 4294967296 per input"]),
    ("shape-zero-dim", "resnet18", {}, ["input:0x3x224x224"], ["input:0x3x224x224", "dimension 0 is not positive"]),
    ("shape-negative-dim", "resnet18", {}, ["input:1x-3x224x224"], ["input:1x-3x224x224", "dimension -3 is not positive"]),
    ("graph-input-negative-dim", "resnet18", {"input": [1, -3, 224, 224]}, [],
     ["input input", "-3 (axis 1)", "--shape input:"]),
    ("graph-input-zero-dim", "resnet18", {"input": [1, 3, 0, 224]}, [],
     ["input input", "0 (axis 2)", "--shape input:"]),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_rewrite_refuses_unbounded_inputs(cli, models_dir, tmp_path, case):
    _, name, dims, shapes, fragments = case
    model = _with_dims(models_dir, tmp_path, name, dims) if dims else models_dir / f"{name}.onnx"
    out = tmp_path / "out.onnx"
    args = ["rewrite", model, "-o", out]
    for s in shapes:
        args += ["--shape", s]
    code, _, err = cli(*args)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fusionlab: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [model.name] if dims else [])


def test_limit_is_checked_before_any_allocation(models_dir, monkeypatch):
    """The API refuses too large inputs without drawing a random number."""
    import numpy as np

    def no_allocation(*args, **kwargs):
        raise AssertionError("random inputs were drawn")

    monkeypatch.setattr(np.random, "default_rng", no_allocation)
    model = onnx.load(str(models_dir / "resnet18.onnx"))
    with pytest.raises(InputError, match=r"input input of shape 64x3x2048x2048 \(FLOAT\) is 3.0 GiB"):
        equivalence.reference(model, shapes={"input": [64, 3, 2048, 2048]})


def test_inputs_at_the_limit_are_accepted_and_the_total_counts(models_dir):
    """The limit is on the total of one seed's inputs: bert_tiny's two inputs are far
    below it, and a limit of one byte less than that total refuses it."""
    model = onnx.load(str(models_dir / "bert_tiny.onnx"))
    shapes = equivalence.resolve_shapes(model)
    total = equivalence.check_input_bytes(model, shapes)
    assert total == 2 * 64 * 8  # input_ids and attention_mask, [1, 64] INT64 each
    with pytest.raises(InputError, match=r"all inputs 1.0 KiB"):
        equivalence.check_input_bytes(model, shapes, limit=total - 1)
