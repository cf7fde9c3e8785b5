"""Attributes rules compute with (Conv/ConvTranspose group, kernel_shape, strides, pads,
dilations) of the wrong type or range, and --timeout values a wait cannot take: one line,
exit 2, naming the node and the attribute (or the option) -- never ZeroDivisionError or
OverflowError (exit 70)."""

from __future__ import annotations

import pytest
from onnx import helper

from fusionlab.testing import GraphBuilder

from test_bad_input import assert_one_line_error


def conv_model(op_type: str = "Conv", **attrs):
    """``x [1, 32, 8, 8] -> conv1 -> relu1`` with conv1's attributes replaced by ``attrs``."""
    g = GraphBuilder()
    y = g.conv(g.input("x", [1, 32, 8, 8]), 32, name="conv1")
    model = g.model([g.node("Relu", [y], name="relu1")])
    conv = next(n for n in model.graph.node if n.name == "conv1")
    conv.op_type = op_type
    for key, value in attrs.items():
        kept = [a for a in conv.attribute if a.name != key]
        del conv.attribute[:]
        conv.attribute.extend(kept + [helper.make_attribute(key, value)])
    return model


CASES = {
    "group-string": ("Conv", {"group": "abc"}, "group must be an integer, found type STRING"),
    "group-list": ("Conv", {"group": [1, 2]}, "group must be an integer, found type INTS"),
    "group-zero": ("Conv", {"group": 0}, "group must be an integer >= 1, found 0"),
    "group-negative": ("Conv", {"group": -4}, "group must be an integer >= 1, found -4"),
    "group-float": ("Conv", {"group": 2.0}, "group must be an integer, found type FLOAT"),
    "kernel-negative": ("Conv", {"kernel_shape": [-3, 3]}, "kernel_shape must be each an integer >= 1"),
    "kernel-string": ("Conv", {"kernel_shape": "3x3"}, "kernel_shape must be a list of integers"),
    "strides-zero": ("Conv", {"strides": [0, 1]}, "strides must be each an integer >= 1, found [0, 1]"),
    "pads-negative": ("Conv", {"pads": [-1, 0, 0, 0]}, "pads must be each an integer >= 0"),
    "pads-length": ("Conv", {"pads": [1, 1]}, "pads has 2 values, expected 4"),
    "dilations-floats": ("Conv", {"dilations": [1.0, 1.0]}, "dilations must be a list of integers, found type FLOATS"),
    "convtranspose-group-zero": ("ConvTranspose", {"group": 0}, "group must be an integer >= 1"),
    "convtranspose-output-padding": ("ConvTranspose", {"output_padding": [-1, 0]}, "output_padding must be each"),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("command", ["analyze", "rewrite"])
def test_bad_conv_attribute_is_one_line_naming_node_and_attribute(cli, save_model, case, command):
    op_type, attrs, fragment = CASES[case]
    path = save_model(conv_model(op_type, **attrs))
    extra = ("--dry-run",) if command == "rewrite" else ()
    code, _, err = cli(command, path, *extra)
    assert_one_line_error(code, err, "'conv1'", f"({op_type})", fragment)


def test_valid_grouped_conv_still_analyzed(cli, save_model):
    code, out, err = cli("analyze", save_model(conv_model(group=4)), "--format", "json")
    assert code == 0, err
    assert '"conv1"' in out


@pytest.mark.parametrize("value", ["inf", "-inf", "1e300", "nan", "0", "-5", "1000001"])
@pytest.mark.parametrize("command", [("verify",), ("rewrite", "--dry-run", "--verify")])
def test_timeout_out_of_range(cli, save_model, conv_relu_model, value, command):
    path = save_model(conv_relu_model)
    code, _, err = cli(command[0], path, *command[1:], "--timeout", value)
    assert_one_line_error(code, err, "--timeout must be a finite number of seconds", "at most 1e+06")


def test_timeout_library_check():
    from fusionlab.errors import InputError
    from fusionlab.trt.build import MAX_TIMEOUT, check_timeout

    assert check_timeout("2.5") == 2.5
    assert check_timeout(MAX_TIMEOUT) == MAX_TIMEOUT
    with pytest.raises(InputError, match="not 'soon'"):
        check_timeout("soon")
