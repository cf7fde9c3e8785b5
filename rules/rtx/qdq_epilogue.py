"""TRT410 qdq-epilogue."""

from fusionlab.pattern import ANY
from fusionlab.rule import Match, Rule

from fusionlab.rules.common.ops import ACTIVATIONS, ELEMENTWISE, UNARY, WEIGHTED_KINDS, WEIGHTED_OPS
from fusionlab.rules.common.qdq import dq_producer, is_depthwise_conv, is_int8_layer, is_matmul_layer, lone_layer, owned_dq_layer, q_producer, residual_inputs
from fusionlab.rules.common.shapes import live_readers

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
    -> Relu -> Q``. It stops at a DequantizeLinear that a convolution or GEMM reads as
    data (it belongs to that layer's INT8 kernel) and at one read by several INT8 layers
    (a ResNet block's output, read by the next convolution and the residual Add):
    TensorRT-RTX lists such a DequantizeLinear in every reader's kernel, and since a node
    sits in one predicted layer fusionlab puts it with the first convolution reading it
    (classic TensorRT keeps it its own layer, TRT403); when a float pointwise layer reads
    it too, it runs in the producer's epilogue with that layer.
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
    producer's epilogue. Classic TensorRT's INT8 MobileNet engines (TREx test inputs,
    `mobilenet*.qat.onnx.engine.graph.json`) show the documented behaviour instead: one
    layer per convolution, `features.0.0.weight + QuantizeLinear_8 + Conv_12 +
    PWN(Clip_16)` writing INT8, the depthwise convolution its own
    `CudaDepthwiseConvolution` layer, and a separate `QuantizeLinear_98 | Reformat` layer
    where a float residual reader keeps the convolution's output in FP16.
    Source: docs/TENSORRT-RTX.md#int8-convolution (DQ+DQ(weight)->Conv->Q: "bias, output Q and DQ in an epilogue
    kgen"; docs/TENSORRT-RTX.md#residual-dq-add-q: "Add in the conv's epilogue kgen"); fusionlab's live
    TensorRT-RTX 1.7 builds.
    """

    code = "TRT410"
    name = "qdq-epilogue"
    targets = ("tensorrt-rtx",)
    phase = 56
    host = "conv"
    cost = 1

    def find(self, state):
        """One match per layer X that continues an epilogue (the anchor, downstream: a
        match walks backwards from it): the INT8 layers whose output QuantizeLinear X
        reads through a DequantizeLinear, and, when X is an INT8 weighted layer, its
        residual and shared input DequantizeLinear."""
        # find, not a pattern: X continues the epilogues of any number of INT8 layers (a
        # residual Add reads two, each through a DequantizeLinear X absorbed or a lone one
        # it reads), and which DequantizeLinear layers join depends on all of their sibling
        # readers (a DQ read by several INT8 layers stays; one shared with a float kgen
        # joins); a pattern binds a fixed number of layers and cannot look at siblings.
        for x in state.layers_of_kinds((ANY,)):  # this round's candidates, every kind
            producers, extra = self._upstream(state, x)
            if x.kind in WEIGHTED_KINDS and is_int8_layer(x):
                extra += self._residual_side(state, x) + self._shared_input(state, x)
            order = [x]
            for other in producers + extra:
                if other not in order:
                    order.append(other)
            if len(order) == 1:
                continue
            if state.closes_cycle(order):
                continue  # a path between the layers leaves them (a squeeze-excitation branch)
            host = producers[0] if producers else x
            layers = {"conv": host}
            layers.update({f"e{i}": l for i, l in enumerate(l for l in order if l is not host)})
            yield Match(self, layers, {}, order, state)

    @staticmethod
    def _epilogue_of(state, dq, x):
        """The INT8 weighted layer (not ``x``) holding the QuantizeLinear that ``dq`` reads."""
        q = q_producer(state, dq.inputs[0])
        if q is None or state.is_absorbed(q.name):
            return None
        layer = state.layer_of[q.name]
        if layer is x or layer.kind not in WEIGHTED_KINDS or not is_int8_layer(layer):
            return None
        if is_matmul_layer(state, layer):
            return None  # a MatMul's kernel ends at its output Q
        return layer

    @staticmethod
    def _upstream(state, x) -> tuple[list, list]:
        """``(producers, dq_layers)``: the INT8 layers whose epilogue ``x`` continues, and
        the lone DequantizeLinear layers between them and ``x``."""
        graph, producers, dqs = state.graph, [], []
        members = set(x.nodes)
        if len(x.nodes) == 1 and graph.nodes[x.nodes[0]].op_type == "DequantizeLinear":
            dq = graph.nodes[x.nodes[0]]  # x is a lone DQ: a graph output, or before a float pool
            readers = live_readers(state, dq.outputs[0])
            homes = {id(state.layer_of[r]): state.layer_of[r] for r in readers}
            pool = len(homes) == 1 and all(h.kind in FLOAT_POOLS and len(h.nodes) == 1
                                           for h in homes.values())
            if (not readers and dq.outputs[0] in graph.outputs) or pool:
                producer = QdqEpilogue._epilogue_of(state, dq, x)
                if producer is not None:
                    producers.append(producer)
            return producers, dqs
        for name in x.nodes:  # DequantizeLinear members (TRT405 / TRT403 took them)
            dq = graph.nodes[name]
            if dq.op_type != "DequantizeLinear":
                continue
            readers = live_readers(state, dq.outputs[0])
            if not readers or any(r not in members for r in readers):
                continue  # read by several layers: TensorRT-RTX duplicates it
            producer = QdqEpilogue._epilogue_of(state, dq, x)
            if producer is not None and QdqEpilogue._takes(state, x, dq) \
                    and producer not in producers:
                producers.append(producer)
        if x.kind in EPILOGUE_KINDS and not QdqEpilogue._is_commuted(x):
            for t in state.layer_inputs(x):  # lone DequantizeLinear layers x reads
                dq = dq_producer(state, t) if t and not state.is_constant(t) else None
                if dq is None or lone_layer(state, dq.name) is None:
                    continue
                if any(r not in members for r in live_readers(state, dq.outputs[0])) \
                        and not QdqEpilogue._is_float_kgen(x):
                    continue  # an INT8 layer needs the DQ to itself; a float kgen shares it
                producer = QdqEpilogue._epilogue_of(state, dq, x)
                if producer is not None:
                    dqs.append(state.layer_of[dq.name])
                    if producer not in producers:
                        producers.append(producer)
        producers.sort(key=lambda l: l.index)
        return producers, dqs

    @staticmethod
    def _is_commuted(layer) -> bool:
        return "qdq-commuted" in layer.tags

    @staticmethod
    def _is_float_kgen(layer) -> bool:
        """A pointwise layer computing in float (not an INT8 layer of TRT405)."""
        return layer.kind in EPILOGUE_KINDS and not QdqEpilogue._is_commuted(layer) \
            and "int8-nonweighted" not in layer.tags

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
        return all(is_depthwise_conv(graph, c) for c in convs)

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
            if QdqEpilogue._epilogue_of(state, dq, layer) is not None and any(
                    QdqEpilogue._is_float_kgen(state.layer_of[r]) for r in readers):
                continue  # it runs in its producer's epilogue with the float reader
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
