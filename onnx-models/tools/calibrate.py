"""Calibration of the method choices that the papers leave open for a model of this size (layers, thresholds).

    nice -n 15 /usr/bin/python3 onnx-models/tools/calibrate.py [--model onnx-models/shapes-vlm] [--scenes 64]

Writes <model>/calibration.json: {"methods": {method: {param: {"value": ..., "rule": "...", "evidence": ...}}}}.
The method references (tools/methods/*.py) read every parameter left at None from this file.
Data: TRAINING-distribution scenes only: world.sample_scene(seed) for seeds 1_000_000 + 500_000 + i (i < --scenes;
train.py's pool starts at 1_000_000, benchmark seeds are below 1_000_000), each with one training task prompt from
text.sample_task(scene, random.Random(seed)) (captions, existence, colour, count, position, leading questions).
Dims come from the model (Config / model.json); nothing is hard-coded for 4 layers.

Rules (L = decoder layers; the same text is written next to each value):
- depth scaling of a paper's layer range [a, b) given for a 32-layer LLaMA: start = ceil(a * L / 32),
  end = ceil(b * L / 32) (so a range that skips the first layers keeps skipping at least one).
  pai: [2, 32) -> [ceil(2L/32), L).  iaf: [2, 32) (code's start/end-layer) -> same.
  var: layers >= 2, last layer excluded (paper) -> [ceil(2L/32), L - 1).
  vhr: "the second layer (index 1) + the last 14 of 32" -> {1} U last ceil(14L/32) layers.
  carve: layers 20..25 of 32 -> {l : floor(20L/32) <= l <= min(L-1, floor(25L/32))}.
- iaf.summary_vit_layer: the ViT layer whose output feeds the projector (LLaVA's attentions[-2] is the attention of
  the layer that produces hidden_states[-2], its select layer) = feature_layers - 1.
- var.tau: phi = max_{d in sink_dims} |x_d| / sqrt(mean x^2 + 1e-6) of every prompt token at the input of the VAR
  layers (prefill). Sorted pooled values; in the top 5% find the largest ratio between consecutive values; if that
  ratio >= 2 (a massive-activation cluster, as LLaVA's sinks vs tau = 20) tau = geometric mean of the two values
  at the gap; otherwise (no massive-activation cluster in this model) tau = the 99th percentile of the IMAGE tokens'
  phi, so that about 1% of image tokens are visual sinks (VAR's premise: a few image tokens act as sinks); text
  tokens above tau are sinks too, as in the code (all sinks give up mass).
- gift.saliency_layer: the layer with the largest mean total gaze shift sum_{h, i in C, j in V}
  max(A[h,i,j] - A[h,i-1,j], 0) over prompts with content words (the paper's rule).
- gift.enhance_layers: candidates l >= ceil(5L/28) (no official config enhances earlier: 12/32, 14/40, 5/28); of
  those, the layers whose mean last-prompt-row ratio (visual mass / question mass, head means) is at least the
  candidates' lower median (torch.median): where the last row fuses the image most relative to the query (the
  paper chooses them from this visual/query attention trend; its exact cut is not published).
- m3id.threshold: median over plain greedy decoding steps (up to 12 tokens per prompt) of the image row's top
  probability, so the gated correction acts on the less confident half of the steps.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import text  # noqa: E402
import world  # noqa: E402
from methods import common  # noqa: E402
from methods.gift import content_rows  # noqa: E402
from reference import DEFAULT_MODEL  # noqa: E402

SEED0 = 1_500_000


def scaled(a, L, base=32):
    return math.ceil(a * L / base)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Probe(common.Hooks):
    def __init__(self, dims):
        self.dims, self.phi, self.A = dims, {}, {}

    def layer_input(self, l, x, ctx):
        x = x[0]
        self.phi[l] = x[:, self.dims].abs().amax(-1) / x.pow(2).mean(-1).add(1e-6).sqrt()

    def weights(self, l, A, ctx):
        self.A[l] = A[0].clone()
        return A


def scenes(n):
    out = []
    for i in range(n):
        seed = SEED0 + i
        sc = world.sample_scene(seed)
        _, prompt, _ = text.sample_task(sc, random.Random(seed))
        out.append((seed, world.render(sc), prompt))
    return out


def tau_rule(phi, phi_image):
    """phi of all prompt tokens and of the image tokens (pooled over VAR layers and scenes)."""
    v = torch.sort(phi.double())[0]
    n = v.numel()
    tail = v[int(0.95 * n):]
    ratios = tail[1:] / tail[:-1].clamp_min(1e-12)
    k = int(torch.argmax(ratios))
    gap = float(ratios[k])
    if gap >= 2.0:
        return math.sqrt(float(tail[k]) * float(tail[k + 1])), "gap", gap
    return float(torch.quantile(phi_image.double(), 0.99)), "p99-image", gap


def calibrate(ref, n_scenes):
    c = ref.c
    L, H = c.text_layers, c.text_heads
    dims = list(ref.meta["sink_dims"])
    var_layers = list(range(scaled(2, L), L - 1))
    data = scenes(n_scenes)
    phis, phis_img, shift, ratio, pmax = [], [], torch.zeros(L), torch.zeros(L), []
    n_shift = 0
    for seed, rgb, prompt in data:
        ids = text.prompt_ids(prompt)
        img = common.image_embeds(ref, ref.pixels(rgb))
        emb = common.prompt_embeds(ref, ids, [img])
        pr = Probe(dims)
        common.Branch(ref, emb, pr, ids=ids).prefill()
        v0, v1 = common.image_span(ref, ids)
        q0, q1 = common.question_span(ref, ids)
        for l in var_layers:
            phis.append(pr.phi[l])
            phis_img.append(pr.phi[l][v0:v1])
        rows = content_rows(ref, ids)
        for l in range(L):
            A = pr.A[l]
            last = A[:, -1]
            ratio[l] += float(last[:, v0:v1].sum(-1).mean() / last[:, q0:q1].sum(-1).mean().clamp_min(1e-12))
            if rows:
                D = (A[:, rows, v0:v1] - A[:, [r - 1 for r in rows], v0:v1]).clamp_min(0)
                shift[l] += float(D.sum())
        n_shift += bool(rows)
        r = common.decode(ref, [common.Branch(ref, emb, ids=ids)], lambda s, ls: ls[0],
                          {"mode": "greedy", "max_new_tokens": 12})
        pmax += [float(torch.softmax(st, -1).max()) for st in r.steps]
    shift /= max(n_shift, 1)
    ratio /= len(data)
    phi, phi_img = torch.cat(phis), torch.cat(phis_img)
    tau, how, gap = tau_rule(phi, phi_img)
    sal = int(torch.argmax(shift))
    first = math.ceil(5 * L / 28)
    med = float(torch.median(ratio[first:]))
    enhance = [l for l in range(first, L) if float(ratio[l]) >= med]
    thr = float(torch.median(torch.tensor(pmax)))
    r6 = lambda x: float(f"{x:.6g}")
    q = lambda t, ps: {str(p): r6(float(torch.quantile(t.double(), p))) for p in ps}
    depth = "depth scaling from 32 layers: start = ceil(a*L/32), end = ceil(b*L/32), L = %d" % L
    m = {
        "pai": {"start_layer": {"value": scaled(2, L), "rule": f"code layers [2, 32) -> {depth}"},
                "end_layer": {"value": scaled(32, L), "rule": f"code layers [2, 32) -> {depth}"}},
        "iaf": {"start_layer": {"value": scaled(2, L), "rule": f"code start/end-layer [2, 32) -> {depth}"},
                "end_layer": {"value": scaled(32, L), "rule": f"code start/end-layer [2, 32) -> {depth}"},
                "summary_vit_layer": {"value": c.feature_layers - 1,
                                      "rule": "ViT layer whose output feeds the projector (LLaVA attentions[-2]) "
                                              "= feature_layers - 1"}},
        "var": {"start_layer": {"value": scaled(2, L), "rule": f"code layers >= 2 of 32 -> ceil(2L/32)"},
                "end_layer": {"value": L - 1, "rule": "last layer excluded (paper): L - 1"},
                "tau": {"value": r6(tau),
                        "rule": "phi of all prompt tokens at the VAR layers' input; largest consecutive ratio in the "
                                "top 5% of sorted values: if >= 2 (a massive-activation cluster), geometric mean of "
                                "the two values at the gap; else the 99th percentile of the image tokens' phi "
                                "(about 1% of image tokens become visual sinks)",
                        "evidence": {"branch": how, "largest_tail_ratio": r6(gap), "tokens": int(phi.numel()),
                                     "phi_quantiles": q(phi, [0.5, 0.9, 0.99, 0.999, 1.0]),
                                     "image_phi_quantiles": q(phi_img, [0.5, 0.9, 0.99, 1.0]),
                                     "sink_fraction": r6(float((phi > tau).double().mean())),
                                     "image_sink_fraction": r6(float((phi_img > tau).double().mean()))}}},
        "vhr": {"layers": {"value": sorted({1} | set(range(L - scaled(14, L), L))),
                           "rule": "paper: layer index 1 + the last 14 of 32 -> {1} U last ceil(14L/32) layers"}},
        "carve": {"layers": {"value": list(range(math.floor(20 * L / 32), min(L - 1, math.floor(25 * L / 32)) + 1)),
                             "rule": "code layers 20..25 of 32 -> floor(20L/32) .. min(L-1, floor(25L/32))"}},
        "gift": {"saliency_layer": {"value": sal,
                                    "rule": "argmax over layers of the mean total gaze shift "
                                            "sum_{h, i in content rows, j in V} max(A[h,i,j] - A[h,i-1,j], 0)",
                                    "evidence": {"mean_shift_per_layer": [r6(float(x)) for x in shift],
                                                 "prompts_with_content_words": n_shift}},
                 "enhance_layers": {"value": enhance,
                                    "rule": "candidates l >= ceil(5L/28) (earliest official enhancement layer: "
                                            "Qwen2-VL 5 of 28); of those, layers whose mean last-prompt-row "
                                            "visual/question attention ratio (head means) >= the candidates' "
                                            "lower median",
                                    "evidence": {"visual_over_question_per_layer": [r6(float(x)) for x in ratio],
                                                 "median": r6(med)}}},
        "m3id": {"threshold": {"value": r6(thr),
                               "rule": "median of the image row's top probability over plain greedy steps "
                                       "(<= 12 tokens per prompt)",
                               "evidence": {"steps": len(pmax), "quantiles": q(torch.tensor(pmax), [0.1, 0.25, 0.5, 0.75])}}},
    }
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--scenes", type=int, default=64)
    ap.add_argument("--out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    ref = common.load(args.model)
    methods = calibrate(ref, args.scenes)
    out = {"model": ref.meta.get("name"), "tool": "onnx-models/tools/calibrate.py",
           "weights_sha256": sha256(os.path.join(args.model, "weights.safetensors")),
           "data": {"generator": "world.sample_scene + text.sample_task (training distribution)",
                    "seeds": [SEED0, SEED0 + args.scenes]},
           "methods": methods}
    path = args.out or os.path.join(args.model, "calibration.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(json.dumps({k: {p: v["value"] for p, v in d.items()} for k, d in methods.items()}))
    print(f"wrote {path} ({time.time() - t0:.0f}s)", file=sys.stderr)


if __name__ == "__main__":
    main()
