"""Hugging Face LLaVA-1.5 checkpoint layout: config.json + *.safetensors with `vision_tower.*`,
`multi_modal_projector.*`, `language_model.*` names. `load` maps such a directory onto `vlm.Vlm` for the
exporter; `write_tiny` writes tiny random weights in that exact layout (real weights can't be fetched here)
together with logits computed by an independent forward that reads the HF names directly.

    /usr/bin/python3 onnx-models/tools/llava_layout.py write-tiny --out onnx-models/tests/tiny-llava
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os

import torch
import torch.nn.functional as F

import safetensors_io
from vlm import Config, Vlm

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
LLAMA2_7B_SINK_DIMS = [1415, 2533]      # VAR official code, LLaMA-2-7B / LLaVA-1.5-7B
VT, LM = "vision_tower.vision_model.", "language_model.model."


def config_from_hf(cfg: dict) -> Config:
    v, t = cfg["vision_config"], cfg["text_config"]
    heads = t["num_attention_heads"]
    if t.get("num_key_value_heads", heads) != heads:
        raise ValueError("grouped-query attention (num_key_value_heads != num_attention_heads) is not in the ABI")
    if cfg.get("vision_feature_select_strategy", "default") != "default":
        raise ValueError("only vision_feature_select_strategy 'default' (drop CLS) is supported")
    return Config(image_size=v["image_size"], patch_size=v["patch_size"], vision_dim=v["hidden_size"],
                  vision_layers=v["num_hidden_layers"], vision_heads=v["num_attention_heads"],
                  vision_mlp=v["intermediate_size"], stem_channels=0, text_dim=t["hidden_size"],
                  text_layers=t["num_hidden_layers"], text_heads=heads, text_mlp=t["intermediate_size"],
                  vocab_size=t["vocab_size"], rope_theta=t.get("rope_theta", 10000.0),
                  rms_eps=t.get("rms_norm_eps", 1e-5), vision_eps=v.get("layer_norm_eps", 1e-5),
                  vision_act=v.get("hidden_act", "quick_gelu"), patch_bias=False,
                  vision_feature_layer=cfg.get("vision_feature_layer", -2))


def hf_to_ours(name: str):
    """Our parameter name for an HF LLaVA name, or None for tensors LLaVA does not use."""
    if name.startswith(VT):
        n = name[len(VT):]
        if n.startswith("post_layernorm"):
            return None
        n = n.replace("embeddings.position_embedding.weight", "position_embedding")
        n = n.replace("embeddings.", "").replace("encoder.layers.", "layers.").replace("mlp.", "")
        return "vision_tower." + n
    if name.startswith("multi_modal_projector."):
        return name
    if name == "language_model.lm_head.weight":
        return name
    if name.startswith(LM):
        n = name[len(LM):]
        if "rotary_emb" in n:
            return None
        return "language_model." + n.replace("mlp.", "")
    return None


def read_weights(d: str) -> dict:
    tensors = {}
    for f in sorted(glob.glob(os.path.join(d, "*.safetensors"))):
        tensors.update(safetensors_io.load(f))
    return tensors


def load(d: str):
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    c = config_from_hf(cfg)
    model = Vlm(c)
    ours = {}
    for name, t in read_weights(d).items():
        n = hf_to_ours(name)
        if n is not None:
            ours[n] = t.float()
    missing, unexpected = model.load_state_dict(ours, strict=False)
    missing = [m for m in missing if not m.startswith("presence_head")]
    if missing or unexpected:
        raise ValueError(f"checkpoint does not match the LLaVA layout: missing {missing}, unexpected {unexpected}")
    mean, std = CLIP_MEAN, CLIP_STD
    pre = os.path.join(d, "preprocessor_config.json")
    if os.path.exists(pre):
        with open(pre) as f:
            p = json.load(f)
        mean, std = p.get("image_mean", mean), p.get("image_std", std)
    image_id = cfg.get("image_token_index", 32000)
    specials = {"bos": "<s>", "eos": "</s>", "pad": "<pad>", "image": "<image>", "bos_id": 1, "eos_id": 2,
                "pad_id": cfg.get("pad_token_id", 0) or 0, "image_id": image_id}
    sink = LLAMA2_7B_SINK_DIMS if c.text_dim == 4096 else list(range(min(2, c.text_dim)))
    return model.eval(), {"feature_layers": c.feature_layers, "sink_dims": sink, "mean": mean, "std": std,
                          "template": "<s>USER: <image>\n{prompt} ASSISTANT:", "specials": specials}


# ------------------------------------------------------------------ tiny random checkpoint + independent oracle

TINY = {
    "architectures": ["LlavaForConditionalGeneration"], "model_type": "llava", "image_token_index": 99,
    "vision_feature_layer": -2, "vision_feature_select_strategy": "default", "projector_hidden_act": "gelu",
    "vision_config": {"model_type": "clip_vision_model", "hidden_size": 32, "intermediate_size": 64,
                      "num_hidden_layers": 3, "num_attention_heads": 4, "image_size": 16, "patch_size": 4,
                      "hidden_act": "quick_gelu", "layer_norm_eps": 1e-5},
    "text_config": {"model_type": "llama", "hidden_size": 48, "intermediate_size": 96, "num_hidden_layers": 2,
                    "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 100, "rms_norm_eps": 1e-6,
                    "rope_theta": 10000.0},
}


def tiny_state(cfg, seed=0):
    g = torch.Generator().manual_seed(seed)
    v, t = cfg["vision_config"], cfg["text_config"]
    dv, dt, n = v["hidden_size"], t["hidden_size"], (v["image_size"] // v["patch_size"]) ** 2
    r = lambda *s: torch.randn(*s, generator=g) * 0.2
    s = {VT + "embeddings.patch_embedding.weight": r(dv, 3, v["patch_size"], v["patch_size"]),
         VT + "embeddings.class_embedding": r(dv), VT + "embeddings.position_embedding.weight": r(n + 1, dv),
         VT + "pre_layrnorm.weight": 1 + r(dv), VT + "pre_layrnorm.bias": r(dv),
         VT + "post_layernorm.weight": 1 + r(dv), VT + "post_layernorm.bias": r(dv),
         "multi_modal_projector.linear_1.weight": r(dt, dv), "multi_modal_projector.linear_1.bias": r(dt),
         "multi_modal_projector.linear_2.weight": r(dt, dt), "multi_modal_projector.linear_2.bias": r(dt),
         LM + "embed_tokens.weight": r(t["vocab_size"], dt), LM + "norm.weight": 1 + r(dt),
         "language_model.lm_head.weight": r(t["vocab_size"], dt)}
    for i in range(v["num_hidden_layers"]):
        p = f"{VT}encoder.layers.{i}."
        for m in ("q_proj", "k_proj", "v_proj", "out_proj"):
            s[p + f"self_attn.{m}.weight"], s[p + f"self_attn.{m}.bias"] = r(dv, dv), r(dv)
        for m in ("layer_norm1", "layer_norm2"):
            s[p + f"{m}.weight"], s[p + f"{m}.bias"] = 1 + r(dv), r(dv)
        s[p + "mlp.fc1.weight"], s[p + "mlp.fc1.bias"] = r(v["intermediate_size"], dv), r(v["intermediate_size"])
        s[p + "mlp.fc2.weight"], s[p + "mlp.fc2.bias"] = r(dv, v["intermediate_size"]), r(dv)
    for i in range(t["num_hidden_layers"]):
        p = f"{LM}layers.{i}."
        for m in ("q_proj", "k_proj", "v_proj", "o_proj"):
            s[p + f"self_attn.{m}.weight"] = r(dt, dt)
        s[p + "mlp.gate_proj.weight"], s[p + "mlp.up_proj.weight"] = r(t["intermediate_size"], dt), r(t["intermediate_size"], dt)
        s[p + "mlp.down_proj.weight"] = r(dt, t["intermediate_size"])
        s[p + "input_layernorm.weight"], s[p + "post_attention_layernorm.weight"] = 1 + r(dt), 1 + r(dt)
        s[p + "self_attn.rotary_emb.inv_freq"] = torch.zeros(dt // t["num_attention_heads"] // 2)
    return s


def oracle_logits(s, cfg, pixel_values, input_ids):
    """LLaVA-1.5 forward written directly against the HF names (independent of vlm.py): logits [T', V] of
    one sequence whose image token is replaced by the patch features."""
    v, t = cfg["vision_config"], cfg["text_config"]
    x = F.conv2d(pixel_values[None], s[VT + "embeddings.patch_embedding.weight"], stride=v["patch_size"])
    x = x.flatten(2).transpose(1, 2)[0]
    x = torch.cat([s[VT + "embeddings.class_embedding"][None], x]) + s[VT + "embeddings.position_embedding.weight"]
    x = F.layer_norm(x, x.shape[-1:], s[VT + "pre_layrnorm.weight"], s[VT + "pre_layrnorm.bias"], v["layer_norm_eps"])
    hidden = [x]
    hv = v["num_attention_heads"]
    for i in range(v["num_hidden_layers"]):
        p = f"{VT}encoder.layers.{i}."
        lin = lambda y, m: y @ s[p + m + ".weight"].T + s[p + m + ".bias"]
        h = F.layer_norm(x, x.shape[-1:], s[p + "layer_norm1.weight"], s[p + "layer_norm1.bias"], v["layer_norm_eps"])
        q, k, vv = (lin(h, f"self_attn.{m}").view(-1, hv, h.shape[-1] // hv).transpose(0, 1) for m in ("q_proj", "k_proj", "v_proj"))
        a = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1) @ vv
        x = x + lin(a.transpose(0, 1).reshape(h.shape), "self_attn.out_proj")
        h = F.layer_norm(x, x.shape[-1:], s[p + "layer_norm2.weight"], s[p + "layer_norm2.bias"], v["layer_norm_eps"])
        h = lin(h, "mlp.fc1")
        x = x + lin(h * torch.sigmoid(1.702 * h), "mlp.fc2")
        hidden.append(x)
    feats = hidden[cfg["vision_feature_layer"]][1:]
    img = F.gelu(feats @ s["multi_modal_projector.linear_1.weight"].T + s["multi_modal_projector.linear_1.bias"])
    img = img @ s["multi_modal_projector.linear_2.weight"].T + s["multi_modal_projector.linear_2.bias"]
    ids = input_ids.tolist()
    i = ids.index(cfg["image_token_index"])
    emb = s[LM + "embed_tokens.weight"]
    x = torch.cat([emb[input_ids[:i]], img, emb[input_ids[i + 1:]]])
    n, d = x.shape
    h = t["num_attention_heads"]
    dh = d // h
    inv = 1.0 / (t["rope_theta"] ** (torch.arange(0, dh, 2).float() / dh))
    ang = torch.arange(n).float()[:, None] * inv[None]
    cos, sin = torch.cat([ang, ang], -1).cos(), torch.cat([ang, ang], -1).sin()
    rot = lambda y: y * cos + torch.cat([-y[..., dh // 2:], y[..., : dh // 2]], -1) * sin
    rms = lambda y, w: w * y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + t["rms_norm_eps"])
    causal = torch.triu(torch.full((n, n), float("-inf")), 1)
    for li in range(t["num_hidden_layers"]):
        p = f"{LM}layers.{li}."
        y = rms(x, s[p + "input_layernorm.weight"])
        q, k, vv = ((y @ s[p + f"self_attn.{m}.weight"].T).view(n, h, dh).transpose(0, 1) for m in ("q_proj", "k_proj", "v_proj"))
        a = torch.softmax(rot(q) @ rot(k).transpose(-1, -2) / math.sqrt(dh) + causal, -1) @ vv
        x = x + a.transpose(0, 1).reshape(n, d) @ s[p + "self_attn.o_proj.weight"].T
        y = rms(x, s[p + "post_attention_layernorm.weight"])
        x = x + (F.silu(y @ s[p + "mlp.gate_proj.weight"].T) * (y @ s[p + "mlp.up_proj.weight"].T)) @ s[p + "mlp.down_proj.weight"].T
    return rms(x, s[LM + "norm.weight"]) @ s["language_model.lm_head.weight"].T


def tiny_inputs(cfg, seed=1):
    g = torch.Generator().manual_seed(seed)
    size = cfg["vision_config"]["image_size"]
    pixels = torch.randn(3, size, size, generator=g)
    ids = torch.tensor([1, 5, 7, cfg["image_token_index"], 11, 13, 17, 19, 23])
    return pixels, ids


def write_tiny(out: str):
    os.makedirs(out, exist_ok=True)
    s = tiny_state(TINY)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(TINY, f, indent=1)
    safetensors_io.save(s, os.path.join(out, "model.safetensors"))
    pixels, ids = tiny_inputs(TINY)
    with torch.no_grad():
        logits = oracle_logits(s, TINY, pixels, ids)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"pixel_values": pixels.flatten().tolist(), "pixel_shape": list(pixels.shape),
                   "input_ids": ids.tolist(), "last_logits": logits[-1].tolist(), "tolerance": 1e-4}, f)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("write-tiny")
    w.add_argument("--out", required=True)
    args = ap.parse_args()
    write_tiny(args.out)


if __name__ == "__main__":
    main()
