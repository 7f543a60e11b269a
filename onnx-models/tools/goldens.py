"""Golden files: what the Java engine must reproduce (format: onnx-models/README.md, "Golden files").

    /usr/bin/python3 onnx-models/tools/goldens.py [--model onnx-models/shapes-vlm] [--out onnx-models/shapes-vlm/goldens]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess

import torch

import text
from reference import DEFAULT_MODEL, MODELS, PortableSampler, Reference, Row, decode_loop, image_embeds

TOLERANCE = 1e-3
CAPTION = "describe the image ."
LEADING = "i am sure there is a star here . is there a star in the image ?"

CASES = [
    # name, image, prompt, decoding, controls
    ("neutral-caption-a", "scene-a", CAPTION, {"mode": "greedy", "max_new_tokens": 20}, []),
    ("neutral-caption-b", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 20}, []),
    ("neutral-caption-c", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 20}, []),
    ("neutral-exist-c", "scene-c", "is there a heart in the image ?", {"mode": "greedy", "max_new_tokens": 4}, []),
    ("neutral-colour-b", "scene-b", "what colour is the triangle ?", {"mode": "greedy", "max_new_tokens": 4}, []),
    ("neutral-count-a", "scene-a", "how many objects are there ?", {"mode": "greedy", "max_new_tokens": 4}, []),
    ("neutral-leading-c", "scene-c", LEADING, {"mode": "greedy", "max_new_tokens": 4}, []),
    ("sample-caption-b", "scene-b", CAPTION,
     {"mode": "sample", "max_new_tokens": 20, "temperature": 1.0, "top_k": 0, "top_p": 0.9, "seed": 7}, []),
    ("sample-caption-c", "scene-c", CAPTION,
     {"mode": "sample", "max_new_tokens": 20, "temperature": 1.5, "top_k": 5, "top_p": 1.0, "seed": 11}, []),
    ("attn-bias", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "attn_bias", "layers": [1, 2], "heads": [0, 2, 4], "keys": "image", "value": 1.5}]),
    ("amp", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "amp", "layers": [2, 3], "heads": "all", "keys": "image", "value": 0.5}]),
    ("amp-last-row", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "amp", "layers": "all", "heads": "all", "keys": "image", "value": 0.8},
      {"slot": "row_mask", "rows": "last"}]),
    ("focus", "scene-b", "what colour is the triangle ?", {"mode": "greedy", "max_new_tokens": 4},
     [{"slot": "focus", "layers": [1, 2, 3], "k": 3, "alpha": 3.0, "queries": "question"}]),
    ("redist", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "redist", "layers": "all", "heads": "all", "value": 0.6, "summ": 0.05, "rho": 1.0,
       "sinks": "bos", "targets": "image"}]),
    ("mix-given", "scene-a", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "mix", "layers": [1, 2], "heads": "all", "mode": "given", "value": 0.7, "alt_keys": "image"}]),
    ("mix-uniform", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "mix", "layers": "all", "heads": "all", "mode": "uniform", "value": 0.5}]),
    ("mix-reverse", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "mix", "layers": [3], "heads": [0, 1], "mode": "reverse", "value": 0.3}]),
    ("mix-reverse-norm", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "mix", "layers": [2, 3], "heads": "all", "mode": "reverse_norm", "value": 0.6}]),
    ("mix-permute", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "mix", "layers": [1], "heads": "all", "mode": "permute", "value": 0.8}]),
    ("head-scale", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "head_scale", "layers": [0, 3], "heads": [1, 3], "value": 2.0}]),
    ("pair", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "pair", "layers": [1, 2, 3], "alpha": 2.0}]),
    ("patch-scale", "scene-b", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "patch_scale", "value": 0.3}]),
    ("vision-mix", "scene-c", CAPTION, {"mode": "greedy", "max_new_tokens": 12},
     [{"slot": "vision_mix", "layers": "all", "heads": "all", "value": 1.0}]),
    ("probe-layer", "scene-a", CAPTION, {"mode": "greedy", "max_new_tokens": 6},
     [{"slot": "probe_layer", "value": 2}]),
]
MIX_MODES = {"given": 0, "uniform": 1, "reverse": 2, "reverse_norm": 3, "permute": 4}


def _sel(v, n):
    return list(range(n)) if v == "all" else list(v)


def key_set(name, sp, s):
    """Key indices of a golden key set for one row, over s keys of the current call."""
    m = torch.zeros(s)
    pad, length = sp["pad"], sp["length"]
    if name == "all":
        m[pad:] = 1
    elif name == "bos":
        m[pad] = 1
    elif name == "image":
        m[sp["image"][0]:sp["image"][1]] = 1
    elif name == "question":
        m[sp["question"][0]:sp["question"][1]] = 1
    elif name == "text":
        m[pad:pad + length] = 1
        m[sp["image"][0]:sp["image"][1]] = 0
    else:
        raise ValueError(name)
    return m


def apply_controls(entries, c, n_image):
    """A `controls(inputs, rows, step)` callback that writes the entries into row 0 of every call."""
    L, H = c.text_layers, c.text_heads

    def write(inputs, rows, step):
        s = inputs["key_mask"].shape[1]
        sp = rows[0].info
        for e in entries:
            slot = e["slot"]
            layers = _sel(e.get("layers", "all"), L)
            heads = _sel(e.get("heads", "all"), H)
            if slot == "attn_bias":
                keys = key_set(e["keys"], sp, s)
                for l in layers:
                    for h in heads:
                        inputs["attn_bias"][0, l, h] += e["value"] * keys
            elif slot == "amp":
                keys = key_set(e["keys"], sp, s)
                for l in layers:
                    inputs["amp"][0, l, heads] = e["value"]
                    inputs["amp_mask"][0, l] = torch.maximum(inputs["amp_mask"][0, l], keys)
            elif slot == "focus":
                img = key_set("image", sp, s)
                inputs["visual_mask"][0] = img
                logw = torch.zeros(s)
                i0 = sp["image"][0]
                logw[i0:i0 + n_image] = e["alpha"] * torch.arange(n_image) / (n_image - 1)
                for l in layers:
                    inputs["focus_k"][0, l] = e["k"]
                    inputs["focus_logw"][0, l] = logw
                    inputs["query_mask"][0, l] = key_set(e["queries"], sp, s)
            elif slot == "redist":
                inputs["visual_mask"][0] = key_set("image", sp, s)
                for l in layers:
                    inputs["redist"][0, l, heads] = e["value"]
                    inputs["redist_gate"][0, l] = torch.tensor([e["summ"], e["rho"]])
                    inputs["sink_mask"][0, l] = key_set(e["sinks"], sp, s)
                    inputs["target_mask"][0, l] = key_set(e["targets"], sp, s)
            elif slot == "mix":
                inputs["mix_mode"][0] = MIX_MODES[e["mode"]]
                for l in layers:
                    inputs["mix"][0, l, heads] = e["value"]
                    if e["mode"] == "given":
                        for h in heads:
                            inputs["mix_alt"][0, l, h] = key_set(e["alt_keys"], sp, s)
                if e["mode"] == "permute":
                    inputs["mix_perm"][0] = torch.arange(s - 1, -1, -1)
            elif slot == "head_scale":
                for l in layers:
                    inputs["head_scale"][0, l, heads] = e["value"]
            elif slot == "pair":
                inputs["pair_row"][0] = 1
                for l in layers:
                    inputs["pair_alpha"][0, l] = e["alpha"]
            elif slot == "row_mask":
                inputs["row_mask"][0, :-1] = 0
            elif slot == "probe_layer":
                inputs["probe_layer"] = torch.tensor(e["value"], dtype=torch.long)
    return write


def vision_controls(entries, c, layers_v):
    def write(vin):
        for e in entries:
            if e["slot"] == "patch_scale":
                vin["patch_scale"][:] = e["value"]
            elif e["slot"] == "vision_mix":
                for l in _sel(e["layers"], layers_v):
                    vin["mix"][0, l, _sel(e["heads"], c.vision_heads)] = e["value"]
                vin["mix_alt"][:] = 1.0 / (c.num_patches + 1)
    return write


def r6(x):
    if isinstance(x, list):
        return [r6(v) for v in x]
    return float(f"{x:.6g}")


def run_case(ref: Reference, name, image, prompt, decoding, entries):
    c = ref.c
    pix = ref.pixels(os.path.join(MODELS, "samples", image + ".png"))
    vout = image_embeds(ref, pix, vision_controls(entries, c, ref.layers_v))
    ids = text.prompt_ids(prompt)
    rows = [Row(ids, vout[0][0])]
    if any(e["slot"] == "pair" for e in entries):
        rows.append(Row([i for i in ids if i != ref.image_id]))
    probes = {"cls_attn": r6(vout[1][0].tolist())}

    def on_prefill(out, inputs):
        probes["sink_score"] = r6(out[6][0].tolist())
        probes["attn_last"] = r6(out[2][0].tolist())
        probes["head_out"] = r6(out[5][0].tolist())
        if any(e["slot"] == "pair" for e in entries):
            probes["pair_heads"] = r6(out[7][0].tolist())
        if any(e["slot"] == "probe_layer" for e in entries):
            probes["attn_heads"] = r6(out[4][0].tolist())

    if decoding["mode"] == "sample":
        choose = PortableSampler(decoding["seed"], decoding["temperature"], decoding["top_k"], decoding["top_p"]).sample
    else:
        choose = lambda l: int(torch.argmax(l))
    tokens, steps = decode_loop(ref, rows, decoding["max_new_tokens"], choose,
                                apply_controls(entries, c, c.num_patches), on_prefill)
    out_steps = []
    for tok, logits in zip(tokens, steps):
        top = torch.topk(logits, 5)
        out_steps.append({"token": tok, "top5": [[int(i), r6(float(v))] for v, i in zip(top.values, top.indices)]})
    return {"case": name, "tolerance": {"logits": TOLERANCE}, "image": f"samples/{image}.png", "prompt": prompt,
            "prompt_ids": ids, "decoding": decoding, "controls": entries, "rows": ["main"] + (["text-only"] if len(rows) > 1 else []),
            "steps": out_steps, "tokens": tokens, "text": text.decode(tokens), "probes": probes}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = args.out or os.path.join(args.model, "goldens")
    os.makedirs(out, exist_ok=True)
    ref = Reference(args.model)
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=MODELS).stdout.strip()
    except OSError:
        commit = ""
    for case in CASES:
        g = run_case(ref, *case)
        g["reference"] = {"tool": "onnx-models/tools/goldens.py", "commit": commit, "torch": torch.__version__}
        with open(os.path.join(out, case[0] + ".json"), "w") as f:
            json.dump(g, f)
        print(f"{case[0]}: {g['text']!r}")


if __name__ == "__main__":
    main()
