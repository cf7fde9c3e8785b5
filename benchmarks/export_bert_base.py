"""Export a BERT-base-size model (transformers BertModel, 12 layers, hidden 768, 12 heads,
intermediate 3072, vocab 30522, sequence 128) for the analyze benchmark.

Random weights (no hub access); the legacy exporter, as in models/export_models.py.
Weights go to external data beside the model, so ``onnx.load(load_external_data=False)``
measures the graph only. Needs torch and transformers (the export venv of models/README.md):

    python benchmarks/export_bert_base.py /tmp/bench/bert_base.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import onnx
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
import export_models as em  # noqa: E402


def main(out: str) -> None:
    from transformers import BertConfig, BertModel

    torch.manual_seed(em.SEED)
    config = BertConfig(attn_implementation="eager")  # bert-base-uncased's sizes
    fields = ("last_hidden_state", "pooler_output")
    bert = em._with_tuple_forward(BertModel, fields)(config)
    em.perturb_weights(bert).eval()
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = torch.randint(0, config.vocab_size, (1, 128), dtype=torch.int64)
    mask = torch.ones((1, 128), dtype=torch.int64)
    em._legacy_export(bert, (ids, mask), path, ["input_ids", "attention_mask"], list(fields))
    model = onnx.load(path)
    onnx.save_model(model, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=path.name + ".data", size_threshold=1024)
    print(path, len(model.graph.node), "nodes")


if __name__ == "__main__":
    main(sys.argv[1])
