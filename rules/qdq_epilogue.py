"""TRT410 qdq-epilogue."""

from fusionlab.rule import Match, Rule

from rules._common import (ACTIVATIONS, ELEMENTWISE, QDQ_OPS, UNARY, WEIGHTED_KINDS, WEIGHTED_OPS,
                           dq_producer, is_int8_layer, live_readers, lone_layer, owned_dq_layer,
                           q_producer, residual_inputs)

#: Layer kinds an INT8 convolution's epilogue kgen computes after its output Q -> DQ:
#: pointwise layers (the INT8 ones of TRT405 keep their op's kind) and the global average
#: (a ``Mean`` kgen on TensorRT-RTX). Not MaxPool (its own ``maxpool`` kernel, TRT406),
#: not AveragePool (its own ``avgpool`` kernel), not shuffles (TRT406; TensorRT-RTX drops
#: DQ -> Flatten -> Q altogether).
EPILOGUE_KINDS = frozenset(ACTIVATIONS + ELEMENTWISE + UNARY
                           + ("Sum", "PointWise", "kgen", "GlobalAveragePool"))
#: Pooling kernels that read the float tensor: the DequantizeLinear in front of them runs
#: in the producer's epilogue, the pooling apart.
FLOAT_POOLS = ("AveragePool",)


def is_depthwise(graph, node) -> bool:
    """A Conv with one input channel per group and more than one group."""
    group = node.attr("group", 1) or 1
    shape = graph.shape(node.inputs[1]) if len(node.inputs) > 1 else None
    if shape is None and len(node.inputs) > 1:
        src = graph.node_of(node.inputs[1])  # weight behind a DequantizeLinear
        if src is not None and src.op_type in QDQ_OPS:
            shape = graph.shape(src.inputs[0])
    return node.op_type == "Conv" and group > 1 and shape is not None and len(shape) > 1 \
        and shape[1] == 1


class QdqEpilogue(Rule):
    """TensorRT-RTX runs everything after an INT8 convolution's output Q -> DQ in its epilogue kernel.

    What it fuses: on TensorRT-RTX, an INT8 convolution or GEMM (TRT403, with its output
    QuantizeLinear, TRT404) and what reads that QuantizeLinear through a DequantizeLinear:
    a pointwise layer -- the INT8 ``DQ -> Relu / Clip / Add / GlobalAveragePool -> Q``
    layers of TRT405, or a float one (Sigmoid...) -- with the DequantizeLinear; a
    DequantizeLinear that is a graph output; the DequantizeLinear in front of an
    AveragePool (the pooling stays apart); a depthwise convolution's INT8 layer; another
    INT8 convolution's epilogue (ResNet's downsample convolution and the block's last
    convolution, both read by the residual Add). It also takes the residual input of a
    ``conv + add`` layer: its DequantizeLinear when the Add is its only reader, and that
    DequantizeLinear's QuantizeLinear of a float tensor. The chain grows round by round,
    so onnxruntime.quantization's QDQ format (a Q -> DQ pair on every tensor) gives one
    layer per ``conv -> Q -> DQ -> Relu -> Q`` and per ``conv -> Q -> DQ -> Add -> Q -> DQ
    -> Relu -> Q``. It stops at a DequantizeLinear read by several layers (a block's
    output, read by the next convolution and the residual Add: it stays its own layer, as
    for TRT403) and at one that a convolution or GEMM reads as data (it belongs to that
    layer's INT8 kernel).
    Why it matters: on TensorRT-RTX the INT8 convolution writes its raw accumulators and
    one generated ``kgen`` kernel applies the bias, requantizes, dequantizes, runs the
    activation / residual Add / global average, and quantizes again; a Q/DQ placement that
    breaks the chain (a float reader of a DequantizeLinear, a MaxPool) writes the tensor to
    memory and starts another kernel.
    Conditions: none beyond the structure.
    TensorRT-RTX only. Measured with TensorRT-RTX 1.7 (live builds of small graphs and of
    ResNet-18 / MobileNetV2 QDQ exports with float biases): the INT8 `correlation` (or
    `gemm`) kernel lists the convolution and its input and weight DequantizeLinear; the
    epilogue `kgen` lists the convolution again with the QuantizeLinear, DequantizeLinear
    and pointwise nodes after it (and the downsample convolution's, for a ResNet block).
    Divergences from classic TensorRT: a DQ -> Q pair between a convolution and its
    activation does not split the layer; a depthwise convolution reading the output
    (MobileNet's 1x1 expand -> 3x3 depthwise) is listed in the producer's epilogue with its
    input and weight DequantizeLinear (the epilogue writes the depthwise kernel's input;
    a grouped, non-depthwise or regular convolution is not); the residual's QuantizeLinear
    of a float tensor is computed in the epilogue (classic: a separate layer); DQ ->
    AveragePool -> Q is not an INT8 pooling (TRT405) and its DequantizeLinear joins the
    producer's epilogue. Classic TensorRT's INT8 MobileNet engines (TREx test inputs) show
    the documented behaviour instead: `Conv_x + Relu_y` layers with the output
    QuantizeLinear, separate `QuantizeLinear_n | Reformat` layers where a float reader
    blocks it.
    Source: TENSORRT-RTX.md (DQ+DQ(weight)->Conv->Q: "bias, output Q and DQ in an epilogue
    kgen"; residual DQ->Add->Q: "Add in the conv's epilogue kgen"); fusionlab's live
    TensorRT-RTX 1.7 builds.
    """

    code = "TRT410"
    name = "qdq-epilogue"
    targets = ("tensorrt-rtx",)
    phase = 56
    host = "conv"
    cost = 1

    def find(self, state):
        """One match per INT8 weighted layer with something to take (see the docstring)."""
        for layer in state.layers_of_kinds(WEIGHTED_KINDS):
            if not is_int8_layer(layer):
                continue
            extra = (self._output_side(state, layer) + self._residual_side(state, layer)
                     + self._shared_input(state, layer))
            order = [layer]
            for other in extra:
                if other is not layer and other not in order:
                    order.append(other)
            if len(order) > 1:
                layers = {"conv": layer}
                layers.update({f"e{i}": l for i, l in enumerate(order[1:])})
                yield Match(self, layers, {}, order, state)

    @staticmethod
    def _output_side(state, layer) -> list:
        """Layers reading the layer's QuantizeLinear members through a DequantizeLinear."""
        graph, found = state.graph, []
        members = set(layer.nodes)
        for name in layer.nodes:
            q = graph.nodes[name]
            if q.op_type != "QuantizeLinear":
                continue
            for d in live_readers(state, q.outputs[0]):
                dq = graph.nodes[d]
                if dq.op_type != "DequantizeLinear" or d in members:
                    continue
                readers = live_readers(state, dq.outputs[0])
                dq_layer = state.layer_of[d]
                homes = {id(state.layer_of[r]): state.layer_of[r] for r in readers}
                if not readers:
                    if lone_layer(state, d) is not None and dq.outputs[0] in graph.outputs:
                        found.append(dq_layer)
                    continue
                if len(homes) != 1:
                    continue  # read by several layers: TensorRT-RTX duplicates it
                (reader,) = homes.values()
                if reader is layer:
                    continue
                if dq_layer is reader:  # the DQ already sits in its reader's layer
                    if QdqEpilogue._takes(state, reader, dq):
                        found.append(reader)
                elif lone_layer(state, d) is not None:
                    if reader.kind in EPILOGUE_KINDS and not QdqEpilogue._is_commuted(reader):
                        found += [dq_layer, reader]
                    elif reader.kind in FLOAT_POOLS and len(reader.nodes) == 1:
                        found.append(dq_layer)
        return found

    @staticmethod
    def _is_commuted(layer) -> bool:
        return "TRT406" in layer.rules or "TRT407" in layer.rules

    @staticmethod
    def _takes(state, reader, dq) -> bool:
        """Whether the epilogue takes ``reader``, the layer holding ``dq``."""
        if reader.kind in EPILOGUE_KINDS and not QdqEpilogue._is_commuted(reader):
            return True
        if reader.kind not in WEIGHTED_KINDS or not is_int8_layer(reader):
            return False
        graph, t = state.graph, state.resolve(dq.outputs[0])
        convs = [graph.nodes[n] for n in reader.nodes if graph.nodes[n].op_type in WEIGHTED_OPS
                 and graph.nodes[n].inputs and state.resolve(graph.nodes[n].inputs[0]) == t]
        if not convs:
            return True  # another convolution's epilogue (the residual Add reads it)
        return all(is_depthwise(graph, c) for c in convs)

    @staticmethod
    def _residual_side(state, layer) -> list:
        """The residual DequantizeLinear of a ``conv + add`` layer and its float input's
        QuantizeLinear."""
        found = []
        for add, t in residual_inputs(state, layer):
            dq = dq_producer(state, t)
            mine = owned_dq_layer(state, dq, add.name)
            if mine is None:
                continue
            found.append(mine)
            q = q_producer(state, dq.inputs[0])
            if q is not None and live_readers(state, q.outputs[0]) == [dq.name] \
                    and lone_layer(state, q.name) is not None:
                found.append(state.layer_of[q.name])
        return found

    @staticmethod
    def _shared_input(state, layer) -> list:
        """The data DequantizeLinear of the layer's convolution when several layers read it
        and this one holds the first convolution reading it (TensorRT-RTX lists it in
        every reader's kernel; a node sits in one predicted layer)."""
        graph, found = state.graph, []
        for name in layer.nodes:
            conv = graph.nodes[name]
            if conv.op_type not in WEIGHTED_OPS or not conv.inputs:
                continue
            dq = dq_producer(state, conv.inputs[0])
            if dq is None or lone_layer(state, dq.name) is None:
                continue
            readers = live_readers(state, dq.outputs[0])
            convs = [r for r in readers if graph.nodes[r].op_type in WEIGHTED_OPS
                     and state.resolve(graph.nodes[r].inputs[0]) == state.resolve(dq.outputs[0])]
            if len(readers) > 1 and min(convs, key=lambda r: graph.nodes[r].index) == name:
                found.append(state.layer_of[dq.name])
        return found

    def describe(self, m: Match) -> str:
        conv = m.layer("conv").host_or_first
        taken = [n for n in m.nodes if n not in m.layer("conv").nodes]
        return (f"{', '.join(taken)} run in {conv}'s TensorRT-RTX epilogue kernel (after the "
                "INT8 convolution, with its output Q/DQ)")
