"""IAF — the imbalanced-attention fix ("Fixing Imbalanced Attention to Mitigate In-Context Hallucination of Large
Vision-Language Model", Arif et al., arXiv 2501.12206, renamed PAINT in v3; code hasanar1f/PAINT @ 2a9e8f8,
modPAI/attention.py, clip_encoder.py, CFG.py, chair_eval.py).

Once per image: c0 = head-summed CLS->patch attention of ViT layer 0, cs = the same at the ViT layer whose output
feeds the projector (LLaVA's attentions[-2]); local0 = top local_ratio of patches by c0; n_sum = #(cs > Q3 + 1.5 IQR)
(numpy linear percentiles); summary = top n_sum by cs; local = local0 minus summary.
Per step: in decoder layers [start_layer, end_layer), last query row only, a <- a + alpha_h |a| on local keys and
a + beta_h |a| on summary keys before softmax; then PAI's CFG against an image-free row (gamma, cutoff 0.1).

Head modulation (paper v1: "head-specific modulation"; NOT in the released code, where every head gets alpha/beta):
the paper's exact formula is not retrievable, so this is a documented reconstruction: m_{l,h} = visual attention
mass of head h at the last prompt row of an unedited prefill (probe pass), factor_{l,h} = m_{l,h} / mean_h m_{l,h};
alpha_{l,h} = alpha * factor, beta_{l,h} = beta * factor (frozen for the request). head_modulation=False gives the
released code (factor 1).
Defaults: alpha 0.7, beta 0.4 (paper best / result files; code default 0.3), local ratio 0.25 (hard-coded),
gamma 1.1 (all reported runs `_cfg_1.1`; CLI default 2 and CFG opt-in). Decoder layers: the code's 2..31 of 32
scaled to this depth (calibration.json iaf.start_layer / end_layer).
Other deviations: ties in the top-k selections go to the lower patch index; k = int(local_ratio * N).
The "spatial" token stream (dead flags in the code) is not implemented.
No-op: alpha = beta = 0 and gamma = 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from methods.common import Branch, Hooks, cal_field, decode, image_span, prompt_embeds, resolve, text_only_ids, \
    top_heads
from methods.pai import cfg_combine
import text

NAME = "iaf"


@dataclass
class Params:
    alpha: float = 0.7
    beta: float = 0.4
    local_ratio: float = 0.25
    gamma: float = 1.1
    cutoff: float = 0.1
    start_layer: Optional[int] = cal_field("first amplified decoder layer")
    end_layer: Optional[int] = cal_field("end (exclusive) of amplified layers")
    summary_vit_layer: Optional[int] = cal_field("ViT layer for summary tokens (the projector's feature layer)")
    local_vit_layer: int = 0
    head_modulation: bool = True


NOOP = Params(alpha=0.0, beta=0.0, gamma=1.0)


def select_tokens(c0, cs, ratio):
    """c0, cs [N] -> (local, summary) sorted patch indices."""
    n = c0.shape[0]
    local0 = top_heads(c0, int(ratio * n))
    q1, q3 = np.percentile(cs.double().numpy(), [25, 75])
    n_sum = int((cs.double().numpy() > q3 + 1.5 * (q3 - q1)).sum())
    summary = top_heads(cs, n_sum)
    return [j for j in local0 if j not in summary], summary


class Amplify(Hooks):
    def __init__(self, layers, local_keys, summary_keys, alpha, beta, factor):
        self.layers, self.local, self.summary = set(layers), local_keys, summary_keys
        self.alpha, self.beta, self.factor = alpha, beta, factor       # factor [L,H]

    def scores(self, l, a, ctx):
        if l not in self.layers:
            return a
        a = a.clone()
        f = self.factor[l][:, None]                                     # [H,1]
        row = a[0, :, -1]
        row[:, self.local] = row[:, self.local] + self.alpha * f * row[:, self.local].abs()
        row[:, self.summary] = row[:, self.summary] + self.beta * f * row[:, self.summary].abs()
        return a


class VisualMass(Hooks):
    def __init__(self, span):
        self.span, self.mass = span, {}

    def weights(self, l, A, ctx):
        self.mass[l] = A[0, :, -1, self.span[0]:self.span[1]].sum(-1)
        return A


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    pix = ref.pixels(image)
    with torch.no_grad():
        img, _, attn = ref.model.image_features(pix[None])
    c0 = attn[p.local_vit_layer][0, :, 0, 1:].sum(0)
    cs = attn[p.summary_vit_layer][0, :, 0, 1:].sum(0)
    local, summary = select_tokens(c0, cs, p.local_ratio)
    ids = text.prompt_ids(prompt)
    t_ids = text_only_ids(ref, ids)
    span = image_span(ref, ids)
    emb = prompt_embeds(ref, ids, [img[0]])
    L, H = ref.c.text_layers, ref.c.text_heads
    factor = torch.ones(L, H)
    if p.head_modulation:
        probe = VisualMass(span)
        Branch(ref, emb, probe, "probe", ids).prefill()
        for l in range(L):
            m = probe.mass[l]
            factor[l] = m / m.mean() if m.mean() > 0 else torch.ones(H)
    hooks = Amplify(range(p.start_layer, p.end_layer), [span[0] + j for j in local], [span[0] + j for j in summary],
                    p.alpha, p.beta, factor)
    rows = [Branch(ref, emb, hooks, "image", ids),
            Branch(ref, prompt_embeds(ref, t_ids, []), name="text-only", ids=t_ids) if p.gamma != 1 else None]
    inter = {"rows": ["image", "text-only"], "prompt_ids": [ids, t_ids], "image_keys": list(span),
             "local_patches": local, "summary_patches": summary,
             "cls_attn_local_layer": [float(f"{x:.6g}") for x in c0.tolist()],
             "cls_attn_summary_layer": [float(f"{x:.6g}") for x in cs.tolist()],
             "head_factor": [[float(f"{x:.6g}") for x in row] for row in factor.tolist()]}
    r = decode(ref, rows, lambda step, ls: cfg_combine(ls[0], ls[1], p.gamma, p.cutoff), decoding, inter)
    r.params = p
    return r
