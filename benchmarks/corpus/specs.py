"""The calibration corpus: one entry per model that ``make.py`` builds.

Every entry is a dict:

* ``name``: file stem (``OUT/models/<name>.onnx``), unique; ``family``: the architecture
  family the per-family counts in benchmarks/README.md group by.
* ``source``: torchvision, transformers, timm, ultralytics (exported by
  ``export_torch.py``), ort-quant (``export_ortq.py``: onnxruntime.quantization
  ``quantize_static``) or modelopt (``export_modelopt.py``: NVIDIA ModelOpt
  ``modelopt.onnx.quantization``).
* ``venv``: which venv of ``OUT/venvs/`` runs it (export or modelopt, from
  ``requirements-<venv>.txt``).
* ``exporter``: legacy (``torch.onnx.export(dynamo=False)``) or dynamo (``dynamo=True``);
  ``opset``: the ``opset_version`` asked for (quantized models keep their base's).
* ``precision``: fp32, fp16 (``model.half()`` before export) or int8; ``how``: one
  sentence on how the precision was made.
* ``base``: for int8 entries, the fp32 entry they quantize (built first).
* ``args``: what the exporter builds (model constructor, small config, input shape).

Inputs are small on purpose (1x3x64x64 images where the architecture allows, sequence
length 16, tiny transformer configs: 2 layers, hidden 128-256) so files and later builds
stay small. Weights are random (no hub downloads), perturbed by the exporter scripts.
"""

from __future__ import annotations

SPECS: list[dict] = []


def _add(name, family, source, args, exporter="legacy", opset=17, precision="fp32",
         how="", venv="export", base=None, timeout=900):
    SPECS.append({
        "name": name, "family": family, "source": source, "venv": venv,
        "exporter": exporter, "opset": opset, "precision": precision,
        "how": how or {"fp32": "float32 weights and activations",
                       "fp16": "model.half() before export"}.get(precision, ""),
        "base": base, "args": args, "timeout": timeout,
    })


# --- torchvision: every classification family, legacy exporter, opsets 13-20 spread ---
TV = [
    # name, family, ctor, opset, input HxW (224 where the legacy exporter needs the
    # adaptive pool's input to be a multiple of its 7x7 / 6x6 output)
    ("tv_resnet18", "resnet", "resnet18", 13, 64),
    ("tv_resnet50", "resnet", "resnet50", 17, 64),
    ("tv_resnext50_32x4d", "resnext", "resnext50_32x4d", 14, 64),
    ("tv_wide_resnet50_2", "wide_resnet", "wide_resnet50_2", 15, 64),
    ("tv_vgg11_bn", "vgg", "vgg11_bn", 16, 224),
    ("tv_vgg16", "vgg", "vgg16", 13, 224),
    ("tv_densenet121", "densenet", "densenet121", 17, 64),
    ("tv_mobilenet_v2", "mobilenet_v2", "mobilenet_v2", 18, 64),
    ("tv_mobilenet_v3_small", "mobilenet_v3", "mobilenet_v3_small", 13, 64),
    ("tv_mobilenet_v3_large", "mobilenet_v3", "mobilenet_v3_large", 17, 64),
    ("tv_efficientnet_b0", "efficientnet", "efficientnet_b0", 14, 64),
    ("tv_efficientnet_b3", "efficientnet", "efficientnet_b3", 18, 64),
    ("tv_efficientnet_v2_s", "efficientnet_v2", "efficientnet_v2_s", 17, 64),
    ("tv_regnet_x_400mf", "regnet", "regnet_x_400mf", 16, 64),
    ("tv_regnet_y_400mf", "regnet", "regnet_y_400mf", 19, 64),
    ("tv_shufflenet_v2_x1_0", "shufflenet_v2", "shufflenet_v2_x1_0", 15, 64),
    ("tv_squeezenet1_1", "squeezenet", "squeezenet1_1", 13, 64),
    ("tv_mnasnet0_5", "mnasnet", "mnasnet0_5", 17, 64),
    ("tv_googlenet", "googlenet", "googlenet", 16, 64),
    ("tv_inception_v3", "inception_v3", "inception_v3", 17, 96),
    ("tv_convnext_tiny", "convnext", "convnext_tiny", 18, 64),
    ("tv_swin_t", "swin", "swin_t", 17, 96),
    ("tv_swin_v2_t", "swin", "swin_v2_t", 18, 96),
    ("tv_alexnet", "alexnet", "alexnet", 14, 224),
]
for _name, _fam, _fn, _opset, _hw in TV:
    _kw = {"aux_logits": True, "init_weights": True} if _fn in ("googlenet", "inception_v3") else {}
    _add(_name, _fam, "torchvision", {"model": _fn, "shape": [1, 3, _hw, _hw], "kwargs": _kw},
         opset=_opset)
_add("tv_vit_b_16", "vit", "torchvision",
     {"model": "vit_b_16", "shape": [1, 3, 64, 64], "kwargs": {"image_size": 64}}, opset=17)
# MaxViT's 7x7 partitions need every stage's size divisible by 7: 224 (56, 28, 14, 7)
_add("tv_maxvit_t", "maxvit", "torchvision",
     {"model": "maxvit_t", "shape": [1, 3, 224, 224]}, opset=17)
# segmentation and detection backbones
_add("tv_fcn_resnet50", "fcn", "torchvision",
     {"model": "fcn_resnet50", "module": "segmentation", "shape": [1, 3, 64, 64],
      "kwargs": {"aux_loss": False}}, opset=17)
_add("tv_deeplabv3_resnet50", "deeplabv3", "torchvision",
     {"model": "deeplabv3_resnet50", "module": "segmentation", "shape": [1, 3, 64, 64],
      "kwargs": {"aux_loss": False}}, opset=16)
_add("tv_deeplabv3_mobilenet_v3_large", "deeplabv3", "torchvision",
     {"model": "deeplabv3_mobilenet_v3_large", "module": "segmentation",
      "shape": [1, 3, 64, 64], "kwargs": {"aux_loss": False}}, opset=17)
_add("tv_lraspp_mobilenet_v3_large", "lraspp", "torchvision",
     {"model": "lraspp_mobilenet_v3_large", "module": "segmentation", "shape": [1, 3, 64, 64]},
     opset=18)
_add("tv_resnet50_fpn_backbone", "detection_backbone", "torchvision",
     {"model": "resnet50", "backbone_fpn": True, "shape": [1, 3, 64, 64]}, opset=17)
_add("tv_mobilenet_v3_large_fpn_backbone", "detection_backbone", "torchvision",
     {"model": "mobilenet_v3_large", "backbone_fpn": True, "shape": [1, 3, 64, 64]}, opset=17)

# --- torchvision through the dynamo exporter (opsets 18-23) ---
for _name, _fam, _fn, _opset, _hw in [
    ("tv_resnet18_dynamo", "resnet", "resnet18", 18, 64),
    ("tv_mobilenet_v3_small_dynamo", "mobilenet_v3", "mobilenet_v3_small", 20, 64),
    ("tv_efficientnet_b0_dynamo", "efficientnet", "efficientnet_b0", 21, 64),
    ("tv_convnext_tiny_dynamo", "convnext", "convnext_tiny", 22, 64),
    ("tv_densenet121_dynamo", "densenet", "densenet121", 18, 64),
    ("tv_regnet_y_400mf_dynamo", "regnet", "regnet_y_400mf", 23, 64),
    ("tv_shufflenet_v2_x1_0_dynamo", "shufflenet_v2", "shufflenet_v2_x1_0", 19, 64),
    ("tv_swin_t_dynamo", "swin", "swin_t", 18, 96),
]:
    _add(_name, _fam, "torchvision", {"model": _fn, "shape": [1, 3, _hw, _hw]},
         exporter="dynamo", opset=_opset)
_add("tv_vit_b_16_dynamo", "vit", "torchvision",
     {"model": "vit_b_16", "shape": [1, 3, 64, 64], "kwargs": {"image_size": 64}},
     exporter="dynamo", opset=23)

# --- fp16 CNNs ---
for _name, _fam, _fn in [("tv_resnet18_fp16", "resnet", "resnet18"),
                         ("tv_mobilenet_v2_fp16", "mobilenet_v2", "mobilenet_v2"),
                         ("tv_efficientnet_b0_fp16", "efficientnet", "efficientnet_b0"),
                         ("tv_convnext_tiny_fp16", "convnext", "convnext_tiny")]:
    _add(_name, _fam, "torchvision", {"model": _fn, "shape": [1, 3, 64, 64]},
         precision="fp16", opset=17)

# --- transformers at small configs ---
ENC = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
       "intermediate_size": 256, "vocab_size": 1000, "max_position_embeddings": 128}
DEC = {"hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
       "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000,
       "max_position_embeddings": 128}
VIS = {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
       "intermediate_size": 256, "image_size": 64, "patch_size": 16}


def _hf(name, family, model_type, cls, config, opset=17, exporter="legacy", precision="fp32",
        **args):
    _add(name, family, "transformers",
         {"model_type": model_type, "cls": cls, "config": config, **args},
         exporter=exporter, opset=opset, precision=precision)


# encoders
_hf("hf_bert", "bert", "bert", "BertModel", ENC, opset=14, token_type_ids=True)
_hf("hf_bert_eager", "bert", "bert", "BertModel", ENC, opset=17, attn="eager")
_hf("hf_bert_dynamo", "bert", "bert", "BertModel", ENC, opset=18, exporter="dynamo")
_hf("hf_bert_opset23_dynamo", "bert", "bert", "BertModel", ENC, opset=23, exporter="dynamo")
# fp16 with LayerNormalization: the legacy exporter writes an fp32 LN input beside the
# fp16 scale (onnx.checker rejects it), so these use the dynamo exporter
_hf("hf_bert_fp16", "bert", "bert", "BertModel", ENC, opset=18, exporter="dynamo",
    precision="fp16")
_hf("hf_roberta", "roberta", "roberta", "RobertaModel",
    {**ENC, "max_position_embeddings": 130}, opset=15)
_hf("hf_distilbert", "distilbert", "distilbert", "DistilBertModel",
    {"dim": 128, "n_layers": 2, "n_heads": 2, "hidden_dim": 256, "vocab_size": 1000,
     "max_position_embeddings": 128}, opset=17)
_hf("hf_albert", "albert", "albert", "AlbertModel", {**ENC, "embedding_size": 64}, opset=14)
_hf("hf_electra", "electra", "electra", "ElectraModel", {**ENC, "embedding_size": 64}, opset=16)
_hf("hf_deberta_v2", "deberta_v2", "deberta-v2", "DebertaV2Model", ENC, opset=17)
_hf("hf_mpnet", "mpnet", "mpnet", "MPNetModel", {**ENC, "max_position_embeddings": 130},
    opset=17)
# decoders, without and with past key/values
for _n, _fam, _mt, _cls, _cfg, _o in [
    ("gpt2", "gpt2", "gpt2", "GPT2LMHeadModel",
     {"n_embd": 128, "n_layer": 2, "n_head": 2, "vocab_size": 1000, "n_positions": 128}, 14),
    ("gpt_neo", "gpt_neo", "gpt_neo", "GPTNeoForCausalLM",
     {"hidden_size": 128, "num_layers": 2, "num_heads": 2, "vocab_size": 1000,
      "max_position_embeddings": 128, "attention_types": [[["global", "local"], 1]],
      "window_size": 8}, 17),
    ("opt", "opt", "opt", "OPTForCausalLM",
     {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2, "ffn_dim": 256,
      "word_embed_proj_dim": 128, "vocab_size": 1000, "max_position_embeddings": 128}, 15),
    ("llama", "llama", "llama", "LlamaForCausalLM", DEC, 17),
    ("mistral", "mistral", "mistral", "MistralForCausalLM", {**DEC, "sliding_window": None}, 18),
    ("qwen2", "qwen2", "qwen2", "Qwen2ForCausalLM", DEC, 17),
    ("phi", "phi", "phi", "PhiForCausalLM",
     {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
      "intermediate_size": 256, "vocab_size": 1000, "max_position_embeddings": 128}, 16),
    ("gemma", "gemma", "gemma", "GemmaForCausalLM",
     {**DEC, "num_key_value_heads": 1, "head_dim": 64}, 17),
]:
    _hf(f"hf_{_n}", _fam, _mt, _cls, _cfg, opset=_o, inputs="text")
    _hf(f"hf_{_n}_with_past", _fam, _mt, _cls, _cfg, opset=_o, past=True)
_hf("hf_llama_dynamo", "llama", "llama", "LlamaForCausalLM", DEC, opset=18, exporter="dynamo")
_hf("hf_qwen2_opset23_dynamo", "qwen2", "qwen2", "Qwen2ForCausalLM", DEC, opset=23,
    exporter="dynamo")
_hf("hf_gpt2_fp16", "gpt2", "gpt2", "GPT2LMHeadModel",
    {"n_embd": 128, "n_layer": 2, "n_head": 2, "vocab_size": 1000, "n_positions": 128},
    opset=18, exporter="dynamo", precision="fp16")
_hf("hf_llama_fp16", "llama", "llama", "LlamaForCausalLM", DEC, opset=17, precision="fp16")
# encoder-decoders
T5 = {"d_model": 128, "d_ff": 256, "d_kv": 64, "num_layers": 2, "num_heads": 2,
      "vocab_size": 1000, "decoder_start_token_id": 0}
_hf("hf_t5", "t5", "t5", "T5Model", T5, opset=17, decoder=True)
_hf("hf_t5_encoder", "t5", "t5", "T5EncoderModel", T5, opset=14)
BART = {"d_model": 128, "encoder_layers": 2, "decoder_layers": 2,
        "encoder_attention_heads": 2, "decoder_attention_heads": 2, "encoder_ffn_dim": 256,
        "decoder_ffn_dim": 256, "vocab_size": 1000, "max_position_embeddings": 128}
_hf("hf_bart", "bart", "bart", "BartModel", BART, opset=17, decoder=True)
_hf("hf_whisper_encoder", "whisper", "whisper", "WhisperModel",
    {"d_model": 128, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 2,
     "decoder_attention_heads": 2, "encoder_ffn_dim": 256, "decoder_ffn_dim": 256,
     "num_mel_bins": 80, "max_source_positions": 100, "vocab_size": 1000,
     "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2, "decoder_start_token_id": 1,
     "suppress_tokens": [], "begin_suppress_tokens": []},
    opset=17, submodule="encoder", inputs="mel", shape=[1, 80, 200])
# vision
_hf("hf_vit", "vit", "vit", "ViTForImageClassification", VIS, opset=17, inputs="image")
_hf("hf_vit_dynamo", "vit", "vit", "ViTForImageClassification", VIS, opset=18,
    exporter="dynamo", inputs="image")
_hf("hf_vit_fp16", "vit", "vit", "ViTForImageClassification", VIS, opset=17,
    precision="fp16", inputs="image")
_hf("hf_deit", "deit", "deit", "DeiTForImageClassification", VIS, opset=16, inputs="image")
_hf("hf_beit", "beit", "beit", "BeitForImageClassification",
    {**VIS, "use_relative_position_bias": True}, opset=17, inputs="image")
_hf("hf_swin", "swin", "swin", "SwinForImageClassification",
    {"image_size": 64, "patch_size": 4, "embed_dim": 32, "depths": [2, 2],
     "num_heads": [2, 4], "window_size": 4}, opset=17, inputs="image")
_hf("hf_convnext", "convnext", "convnext", "ConvNextForImageClassification",
    {"hidden_sizes": [32, 64, 128, 256], "depths": [1, 1, 2, 1]}, opset=17, inputs="image")
_hf("hf_segformer", "segformer", "segformer", "SegformerForSemanticSegmentation",
    {"hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
     "decoder_hidden_size": 64, "num_attention_heads": [1, 2, 2, 4]},
    opset=17, inputs="image")
_hf("hf_detr", "detr", "detr", "DetrForObjectDetection",
    {"use_timm_backbone": False, "use_pretrained_backbone": False,
     "backbone_config": {"model_type": "resnet", "embedding_size": 16,
                         "hidden_sizes": [16, 32, 64, 128], "depths": [1, 1, 1, 1],
                         "layer_type": "basic", "out_features": ["stage4"]},
     "d_model": 64, "encoder_layers": 2, "decoder_layers": 2, "encoder_attention_heads": 2,
     "decoder_attention_heads": 2, "encoder_ffn_dim": 128, "decoder_ffn_dim": 128,
     "num_queries": 10}, opset=17, inputs="image")
_hf("hf_yolos", "yolos", "yolos", "YolosForObjectDetection",
    {**VIS, "image_size": [64, 64], "num_detection_tokens": 10}, opset=17, inputs="image")
_hf("hf_clip_vision", "clip", "clip_vision_model", "CLIPVisionModel",
    {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
     "intermediate_size": 256, "image_size": 64, "patch_size": 16}, opset=17, inputs="image")
_hf("hf_clip_text", "clip", "clip_text_model", "CLIPTextModel",
    {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
     "intermediate_size": 256, "vocab_size": 1000, "max_position_embeddings": 32},
    opset=17, inputs="text")
# audio
_hf("hf_wav2vec2", "wav2vec2", "wav2vec2", "Wav2Vec2Model",
    {"hidden_size": 128, "num_hidden_layers": 2, "num_attention_heads": 2,
     "intermediate_size": 256, "conv_dim": [32] * 7, "num_conv_pos_embeddings": 16,
     "num_conv_pos_embedding_groups": 4}, opset=17, inputs="audio", shape=[1, 4000])

# --- timm ---
for _name, _fam, _fn, _opset, _kw in [
    ("timm_efficientnet_b0", "efficientnet", "efficientnet_b0", 17, {}),
    ("timm_regnetx_002", "regnet", "regnetx_002", 16, {}),
    ("timm_mobilenetv3_small_100", "mobilenet_v3", "mobilenetv3_small_100", 17, {}),
    ("timm_ghostnet_100", "ghostnet", "ghostnet_100", 17, {}),
    ("timm_cspdarknet53", "cspdarknet", "cspdarknet53", 15, {}),
    ("timm_cspresnet50", "cspdarknet", "cspresnet50", 17, {}),
    ("timm_maxvit_nano_rw_256", "maxvit", "maxvit_nano_rw_256", 17, {"img_size": 64}),
    ("timm_convnext_atto", "convnext", "convnext_atto", 18, {}),
    ("timm_mobilevit_xxs", "mobilevit", "mobilevit_xxs", 17, {}),
    ("timm_repvgg_a0", "repvgg", "repvgg_a0", 13, {}),
    ("timm_dla34", "dla", "dla34", 17, {}),
    ("timm_rexnet_100", "rexnet", "rexnet_100", 17, {}),
    ("timm_lcnet_050", "lcnet", "lcnet_050", 17, {}),
    ("timm_mixnet_s", "mixnet", "mixnet_s", 16, {}),
    ("timm_levit_128s", "levit", "levit_128s", 17, {"img_size": 64}),
    ("timm_efficientvit_b0", "efficientvit", "efficientvit_b0", 17, {}),
    ("timm_resnet18d_dynamo", "resnet", "resnet18d", 20, {}),
]:
    _add(_name, _fam, "timm", {"model": _fn, "shape": [1, 3, 64, 64], "kwargs": _kw},
         opset=_opset, exporter="dynamo" if _name.endswith("_dynamo") else "legacy")

# --- ultralytics YOLO from their yaml, random weights ---
for _name, _yaml, _opset in [("yolov8n", "yolov8n.yaml", 17), ("yolo11n", "yolo11n.yaml", 17),
                             ("yolov8n_seg", "yolov8n-seg.yaml", 17),
                             ("yolov8n_pose", "yolov8n-pose.yaml", 16),
                             ("yolov5nu", "yolov5nu.yaml", 13)]:
    _add(f"ul_{_name}", "yolo", "ultralytics", {"yaml": _yaml, "shape": [1, 3, 64, 64]},
         opset=_opset)

# --- INT8 through onnxruntime.quantization.quantize_static (QDQ) ---
ORTQ_VARIANTS = {
    # suffix: (extra options, activation/weight symmetric, how)
    "qdq": ({}, False, "ORT quantize_static QDQ, per-channel int8 weights, "
            "asymmetric uint8->int8 activations, default INT32 bias"),
    "qdq_sym": ({"ActivationSymmetric": True, "WeightSymmetric": True}, True,
                "ORT quantize_static QDQ, symmetric int8 activations and weights, INT32 bias"),
    "qdq_floatbias": ({"ActivationSymmetric": True, "WeightSymmetric": True,
                       "QuantizeBias": False}, True,
                      "ORT quantize_static QDQ, symmetric int8, float bias (QuantizeBias False)"),
}
for _base, _variants in [
    ("tv_resnet18", ["qdq", "qdq_sym", "qdq_floatbias"]),
    ("tv_resnet50", ["qdq_floatbias"]),
    ("tv_mobilenet_v2", ["qdq", "qdq_floatbias"]),
    ("tv_mobilenet_v3_large", ["qdq_sym"]),
    ("tv_efficientnet_b0", ["qdq_floatbias"]),
    ("tv_densenet121", ["qdq_sym"]),
    ("tv_regnet_y_400mf", ["qdq_floatbias"]),
    ("tv_convnext_tiny", ["qdq_floatbias"]),
    ("tv_squeezenet1_1", ["qdq"]),
    ("tv_shufflenet_v2_x1_0", ["qdq_sym"]),
    ("tv_vit_b_16", ["qdq_floatbias"]),
    ("hf_bert", ["qdq", "qdq_floatbias"]),
    ("hf_distilbert", ["qdq_sym"]),
    ("hf_gpt2", ["qdq_floatbias"]),
    ("hf_vit", ["qdq_sym"]),
    ("timm_ghostnet_100", ["qdq_floatbias"]),
    ("ul_yolov8n", ["qdq_floatbias"]),
]:
    for _v in _variants:
        _opts, _sym, _how = ORTQ_VARIANTS[_v]
        _add(f"{_base}_{_v}", next(s["family"] for s in SPECS if s["name"] == _base),
             "ort-quant", {"extra_options": _opts, "symmetric": _sym, "calib": 8},
             exporter=None, opset=None, precision="int8", how=_how, base=_base)

# --- INT8 through NVIDIA ModelOpt (its own venv: it pins its own onnx/onnxruntime) ---
for _base in ["tv_resnet18", "tv_mobilenet_v2", "tv_efficientnet_b0", "hf_distilbert",
              "hf_vit", "hf_bert"]:
    _add(f"{_base}_modelopt_int8", next(s["family"] for s in SPECS if s["name"] == _base),
         "modelopt", {"quantize_mode": "int8", "calib": 8}, exporter=None, opset=None,
         precision="int8", how="python -m modelopt.onnx.quantization --quantize_mode int8, "
         "random calibration data, default high_precision_dtype fp16", venv="modelopt",
         base=_base, timeout=1800)
_add("tv_resnet18_modelopt_int8_fp32", "resnet", "modelopt",
     {"quantize_mode": "int8", "calib": 8, "high_precision_dtype": "fp32"}, exporter=None,
     opset=None, precision="int8", how="python -m modelopt.onnx.quantization --quantize_mode "
     "int8 --high_precision_dtype fp32, random calibration data", venv="modelopt",
     base="tv_resnet18", timeout=1800)

assert len({s["name"] for s in SPECS}) == len(SPECS), "duplicate corpus names"
