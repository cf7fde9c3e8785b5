"""TRT602 input-shape-missing."""

from fusionlab.rule import Rule, check

from fusionlab.rules.common.ops import ACTIVATIONS, ELEMENTWISE, UNARY
from fusionlab.rules.common.qdq import node_match

#: ops the parser imports on a 0-d tensor (the measured Relu; elementwise ops of any rank).
RANK_FREE = ACTIVATIONS + ELEMENTWISE + UNARY + ("Cast", "Identity", "Not")


class InputShapeMissing(Rule):
    """A graph input without a shape, read by an op that needs a rank: the parser rejects it.

    What it fuses: nothing; a parser check on the first nodes that need a rank (any op
    but elementwise ones, Cast and Identity) downstream of a graph input whose
    `type.tensor_type` has no `shape` field.
    Why it matters: the parser reads an input without a shape as a 0-d tensor (rank 0),
    so the first op that needs a dimension stops the build: "Axis must be in the range
    [0, nbDims (0)]" (Softmax), "at least 1 dimensions are required for input"
    (ReduceSum), "last dimension of input0 = 1 ... must match" (MatMul), measured with
    TensorRT-RTX 1.7. A Relu of such an input builds; an input of known rank with
    symbolic dims builds too.
    Conditions: `input-shaped` -- every graph input the node reads (directly or through
    elementwise ops) has a shape. The reason names the input and the node; fix it by
    giving the input its shape in the model (`name:[N, C, H, W]`, symbolic dims allowed).
    TensorRT-RTX rejects it the same way (docs/TENSORRT-RTX.md#parser-rejections).
    Source: onnx-tensorrt `ModelImporter.cpp` (`importInput`: the input's dims come
    from its `tensor_type.shape`); the live builds in docs/TENSORRT-RTX.md#parser-rejections.
    """

    code = "TRT602"
    name = "input-shape-missing"
    kind = "lint"
    phase = 90
    cost = 3
    rejects = True

    def find(self, state):
        """The first rank-needing nodes downstream of each input without a shape."""
        # find, not a pattern: the finding starts at a graph input, which no pattern anchors on.
        graph = state.graph
        shapeless = [vi.name for vi in graph.model.graph.input
                     if vi.name in graph.inputs and vi.type.HasField("tensor_type")
                     and not vi.type.tensor_type.HasField("shape")]
        reported = set()
        for name in shapeless:
            seen, todo = set(), [name]
            while todo:
                tensor = todo.pop()
                for reader in graph.consumers.get(tensor, ()):
                    node = graph.nodes[reader]
                    if reader in seen:
                        continue
                    seen.add(reader)
                    if node.op_type in RANK_FREE:
                        todo.extend(node.outputs)
                    elif reader not in reported:
                        reported.add(reader)
                        yield node_match(self, state, node, "node")

    @check("input-shaped")
    def shaped(self, node, ctx):
        graph = ctx.graph
        inputs = [vi.name for vi in graph.model.graph.input
                  if vi.name in graph.inputs and not vi.type.tensor_type.HasField("shape")]
        upstream = _graph_inputs_upstream(graph, node)
        missing = [i for i in inputs if i in upstream]
        return (f"graph input {', '.join(missing)} has no shape: TensorRT's parser reads it as a 0-d "
                f"tensor and rejects {node.name} ({node.op_type}), which needs a rank; give the input "
                "its shape in the model (symbolic dims are allowed)")


def _graph_inputs_upstream(graph, node) -> set[str]:
    """Graph inputs ``node`` reads directly or through elementwise (rank-free) nodes."""
    found, todo, seen = set(), list(node.inputs), set()
    while todo:
        tensor = todo.pop()
        if not tensor or tensor in seen:
            continue
        seen.add(tensor)
        if tensor in graph.inputs:
            found.add(tensor)
        src = graph.producer.get(tensor)
        if src is not None and graph.nodes[src].op_type in RANK_FREE:
            todo.extend(graph.nodes[src].inputs)
    return found
