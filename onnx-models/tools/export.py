"""Export a trained checkpoint (or a Hugging Face LLaVA-1.5 directory) to the Sightline intervention ABI.

    /usr/bin/python3 onnx-models/tools/export.py --checkpoint /tmp/shapes-train/checkpoint.pt --out onnx-models/shapes-vlm
    /usr/bin/python3 onnx-models/tools/export.py --llava-dir path/to/llava-1.5 --out /tmp/llava-export

Writes vision.onnx, embed.onnx, decoder.onnx, decoder_plain.onnx, the decoder variants (abi.DECODER_VARIANTS, with
their shared decoder_variants.weights), model.json and tokenizer.json (the latter only for our own model; a LLaVA
directory brings its own tokenizer.json, which is copied when present).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import warnings

import numpy as np
import onnx
from onnx.external_data_helper import set_external_data
import torch

import safetensors_io
import text
from abi import DECODER_INPUTS, DECODER_OUTPUTS, DECODER_VARIANTS, PLAIN_INPUTS, PLAIN_OUTPUTS, VISION_INPUTS, \
    VISION_OUTPUTS, DecoderAbi, EmbedAbi, PlainDecoder, VisionAbi, neutral_decoder_inputs, neutral_vision_inputs, \
    variant_io
from vlm import Config, Vlm

OPSET = 17
# tracing notes about shapes baked from the fixed L, H and Dh are expected: those are static in the ABI
warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
ABI_VERSION = 1


def load_checkpoint(path):
    ck = torch.load(path, map_location="cpu")
    model = Vlm(Config(**ck["config"]))
    model.load_state_dict(ck["state_dict"])
    return model.eval(), ck


def calibrate_sink_dims(model: Vlm, n_dims=2, scenes=64):
    """VAR's sink dimensions: the hidden dims that carry massive activations. Measured on training-distribution
    scenes as the dims with the largest mean (over scenes) of max over tokens and layers 1..L-1 of
    |x_d| / rms(x), x the residual input of the layer."""
    import world
    from train import TRAIN_SEED_BASE, normalise, splice
    sc = [world.sample_scene(TRAIN_SEED_BASE + i) for i in range(scenes)]
    pix = normalise(np.stack([world.render(s) for s in sc]))
    ids = torch.tensor([text.prompt_ids("describe the image .")] * scenes)
    inputs = []
    with torch.no_grad():
        img, _, _ = model.image_features(pix)
        x = splice(model, ids, img)
        t = x.shape[1]
        model.language_model(x, torch.arange(t)[None].expand(scenes, -1), torch.ones(scenes, t), layer_inputs=inputs)
    score = torch.zeros(x.shape[-1])
    for x in inputs[1:]:
        r = x.abs() / x.pow(2).mean(-1, keepdim=True).add(1e-6).sqrt()                    # [B,T,D]
        score = torch.maximum(score, r.amax(1).mean(0))
    return sorted(torch.topk(score, n_dims).indices.tolist())


def dummy_decoder_inputs(c, b=2, t=5, p=3):
    dh = c.text_dim // c.text_heads
    d = neutral_decoder_inputs(c, torch.randn(b, t, c.text_dim), torch.arange(p, p + t)[None].repeat(b, 1),
                               torch.ones(b, p + t), torch.randn(c.text_layers, 2, b, c.text_heads, p, dh))
    return d


def export_graphs(model: Vlm, out: str, sink_dims, feature_layers: int):
    c = model.c
    os.makedirs(out, exist_ok=True)
    dec_in = dummy_decoder_inputs(c)
    dyn = {"inputs_embeds": {0: "B", 1: "T"}, "position_ids": {0: "B", 1: "T"}, "key_mask": {0: "B", 1: "S"},
           "row_mask": {0: "B", 1: "T"}, "visual_mask": {0: "B", 1: "S"}, "past_kv": {2: "B", 4: "P"},
           "attn_bias": {0: "B", 3: "S"}, "amp": {0: "B"}, "amp_mask": {0: "B", 2: "S"}, "mix": {0: "B"},
           "mix_mode": {0: "B"}, "mix_alt": {0: "B", 3: "S"}, "mix_perm": {0: "B", 1: "S"}, "redist": {0: "B"},
           "redist_gate": {0: "B"}, "sink_mask": {0: "B", 2: "S"}, "target_mask": {0: "B", 2: "S"},
           "focus_logw": {0: "B", 2: "S"}, "focus_k": {0: "B"}, "query_mask": {0: "B", 2: "S"},
           "head_scale": {0: "B"}, "pair_row": {0: "B"}, "pair_alpha": {0: "B"},
           "logits": {0: "B"}, "present_kv": {2: "B", 4: "S"}, "attn_last": {0: "B", 3: "S"},
           "attn_query": {0: "B", 2: "T", 3: "S"}, "attn_heads": {0: "B", 2: "T", 3: "S"}, "head_out": {0: "B"},
           "sink_score": {0: "B", 2: "T"}, "pair_heads": {0: "B"}}
    torch.onnx.export(DecoderAbi(model, sink_dims).eval(), tuple(dec_in[k] for k in DECODER_INPUTS),
                      os.path.join(out, "decoder.onnx"), input_names=DECODER_INPUTS, output_names=DECODER_OUTPUTS,
                      dynamic_axes=dyn, opset_version=OPSET, do_constant_folding=True)
    for name, (edits, probes) in DECODER_VARIANTS.items():
        ins, outs = variant_io(edits, probes)
        torch.onnx.export(DecoderAbi(model, sink_dims, edits, probes).eval(), tuple(dec_in[k] for k in ins),
                          os.path.join(out, name + ".onnx"), input_names=ins, output_names=outs,
                          dynamic_axes={k: v for k, v in dyn.items() if k in ins + outs},
                          opset_version=OPSET, do_constant_folding=True)
    torch.onnx.export(PlainDecoder(model).eval(), tuple(dec_in[k] for k in PLAIN_INPUTS),
                      os.path.join(out, "decoder_plain.onnx"), input_names=PLAIN_INPUTS, output_names=PLAIN_OUTPUTS,
                      dynamic_axes={k: v for k, v in dyn.items() if k in PLAIN_INPUTS + PLAIN_OUTPUTS},
                      opset_version=OPSET, do_constant_folding=True)
    share_weights(out, [n + ".onnx" for n in DECODER_VARIANTS], VARIANT_WEIGHTS)
    pix = torch.randn(2, 3, c.image_size, c.image_size)
    vin = neutral_vision_inputs(c, pix, feature_layers)
    torch.onnx.export(VisionAbi(model, feature_layers).eval(), tuple(vin[k] for k in VISION_INPUTS),
                      os.path.join(out, "vision.onnx"), input_names=VISION_INPUTS, output_names=VISION_OUTPUTS,
                      dynamic_axes={"pixel_values": {0: "B"}, "patch_scale": {0: "B"}, "mix": {0: "B"},
                                    "mix_alt": {0: "B"}, "image_embeds": {0: "B"}, "cls_attn": {0: "B"},
                                    "vision_attn": {0: "B"}},
                      opset_version=OPSET, do_constant_folding=True)
    torch.onnx.export(EmbedAbi(model).eval(), (torch.tensor([[1, 2, 3]]),), os.path.join(out, "embed.onnx"),
                      input_names=["input_ids"], output_names=["embeds"],
                      dynamic_axes={"input_ids": {0: "B", 1: "T"}, "embeds": {0: "B", 1: "T"}}, opset_version=OPSET)
    for f in ["decoder.onnx", "decoder_plain.onnx", "vision.onnx", "embed.onnx"] + [n + ".onnx" for n in DECODER_VARIANTS]:
        onnx.checker.check_model(os.path.join(out, f))


VARIANT_WEIGHTS = "decoder_variants.weights"


def share_weights(out, graphs, data_file):
    """Moves the large initializers of `graphs` into one external-data file, each distinct tensor stored once: the
    variants hold the same weights, so they cost one copy of the decoder's weights on disk instead of one each.
    Offsets are page-aligned so that ONNX Runtime may map them."""
    blob, at = bytearray(), {}
    for name in graphs:
        path = os.path.join(out, name)
        m = onnx.load(path)
        for init in m.graph.initializer:
            raw = init.raw_data
            if len(raw) < 1024:
                continue
            key = (init.data_type, tuple(init.dims), hashlib.sha256(raw).hexdigest())
            if key not in at:
                blob.extend(b"\0" * (-len(blob) % 4096))
                at[key] = len(blob)
                blob.extend(raw)
            set_external_data(init, data_file, at[key], len(raw))
            init.ClearField("raw_data")
            init.data_location = onnx.TensorProto.EXTERNAL
        onnx.save(m, path)
    with open(os.path.join(out, data_file), "wb") as f:
        f.write(blob)


def model_json(c: Config, sink_dims, feature_layers, mean, std, template, specials, extra=None):
    d = {
        "abi_version": ABI_VERSION, "architecture": "llava",
        "files": {"vision": "vision.onnx", "embed": "embed.onnx", "decoder": "decoder.onnx",
                  "decoder_plain": "decoder_plain.onnx", "tokenizer": "tokenizer.json"},
        "image": {"size": c.image_size, "mean": mean, "std": std, "channels": "RGB", "resize": "box",
                  "patch_size": c.patch_size, "grid": [c.grid, c.grid]},
        "vision": {"layers": feature_layers, "heads": c.vision_heads, "dim": c.vision_dim,
                   "patches": c.num_patches},
        "text": {"layers": c.text_layers, "heads": c.text_heads, "head_dim": c.text_dim // c.text_heads,
                 "hidden": c.text_dim, "vocab": c.vocab_size},
        "image_tokens": c.num_patches,
        "prompt_template": template,
        "special_tokens": specials,
        "sink_dims": list(sink_dims),
        "decoder_variants": {name: dict(zip(("inputs", "outputs"), variant_io(edits, probes)), file=name + ".onnx")
                             for name, (edits, probes) in DECODER_VARIANTS.items()},
    }
    d.update(extra or {})
    return d


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--checkpoint")
    src.add_argument("--llava-dir")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.manual_seed(0)
    if args.checkpoint:
        from train import MEAN, STD
        model, ck = load_checkpoint(args.checkpoint)
        sink = calibrate_sink_dims(model)
        layers = model.c.feature_layers
        specials = {"bos": text.BOS, "eos": text.EOS, "pad": text.PAD, "image": text.IMAGE,
                    "bos_id": text.IDS[text.BOS], "eos_id": text.IDS[text.EOS], "pad_id": text.IDS[text.PAD],
                    "image_id": text.IDS[text.IMAGE]}
        extra = {"name": "shapes-vlm", "training": {"steps": ck["step"], "seconds": round(ck["train_seconds"]),
                                                     "seed": ck["seed"], "knobs": ck["knobs"]}}
        meta = model_json(model.c, sink, layers, MEAN, STD, text.TEMPLATE, specials, extra)
        export_graphs(model, args.out, sink, layers)
        text.write_tokenizer(os.path.join(args.out, "tokenizer.json"))
        # the PyTorch weights beside the graphs, so reference.py and goldens.py run from a fresh clone
        safetensors_io.save(model.state_dict(), os.path.join(args.out, "weights.safetensors"))
        meta["torch_config"] = model.c.to_dict()
    else:
        import llava_layout
        model, meta_in = llava_layout.load(args.llava_dir)
        layers = meta_in["feature_layers"]
        sink = meta_in["sink_dims"]
        meta = model_json(model.c, sink, layers, meta_in["mean"], meta_in["std"], meta_in["template"],
                          meta_in["specials"], {"name": os.path.basename(os.path.normpath(args.llava_dir))})
        export_graphs(model, args.out, sink, layers)
        tok = os.path.join(args.llava_dir, "tokenizer.json")
        if os.path.exists(tok):
            shutil.copy(tok, os.path.join(args.out, "tokenizer.json"))
    with open(os.path.join(args.out, "model.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(f"exported to {args.out}: sink_dims={sink}")


if __name__ == "__main__":
    main()
