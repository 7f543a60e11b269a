"""PAI — Paying More Attention to Image (Liu et al., ECCV 2024; code LALBJ/PAI @ 9bbd8bd).

Per step: in decoder layers [start_layer, end_layer), all heads, on the LAST query row only, image-key logits
a <- a + alpha * |a| before softmax (attention.py); then classifier-free guidance against an image-free row in
log-probability space: c = gamma * (s_c - s_u) + s_u, with s = log_softmax, c = -inf where s_c < max(s_c) + ln 0.1.

Rows: 0 = image prompt with the amplification (emits), 1 = the prompt without the image token
(BOS + text before + text after the image; no edit); own KV caches, positions from 0.
Layers: the code's [2, 32) of LLaVA's 32 layers scaled to this model's depth (calibration.json pai.start_layer /
end_layer, rule there). In prefill only the last prompt position is edited; in decode the new token.
gamma == 1: the CFG row is not run and s_c is returned (CFG.py).
Deviations / choices:
- gamma = 1.1 (README commands, model_loader default; the eval scripts' argparse says 2).
- First-token quirk of the code NOT reproduced by default: with --use-cfg the official code runs the prefill (the
  forward that yields token 1) without amplification (use_cfg is reset only after the first CFGLogits call).
  The paper amplifies every step; `first_token_skip=True` reproduces the code.
- Sampling: the official README recommends nucleus sampling; goldens are greedy (the code's default).
No-op: alpha = 0 and gamma = 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from methods.common import Branch, Hooks, cal_field, decode, image_embeds, image_span, prompt_embeds, resolve, \
    text_only_ids, NEG_INF
import math
import text

NAME = "pai"


@dataclass
class Params:
    alpha: float = 0.2
    gamma: float = 1.1
    cutoff: float = 0.1                     # hard-coded in CFG.py
    start_layer: Optional[int] = cal_field("first edited decoder layer")
    end_layer: Optional[int] = cal_field("end (exclusive) of the edited layers")
    first_token_skip: bool = False          # True: official code's quirk (no edit in the prefill)


NOOP = Params(alpha=0.0, gamma=1.0)


class Amplify(Hooks):
    """a <- a + alpha |a| on image keys of the last query row in the chosen layers (all heads)."""

    def __init__(self, span, layers, alpha, skip_prefill=False):
        self.span, self.layers, self.alpha, self.skip_prefill = span, set(layers), alpha, skip_prefill

    def scores(self, l, a, ctx):
        if l not in self.layers or self.alpha == 0 or (self.skip_prefill and ctx.step == 0):
            return a
        a = a.clone()
        s, e = self.span
        a[:, :, -1, s:e] = a[:, :, -1, s:e].abs() * self.alpha + a[:, :, -1, s:e]
        return a


def cfg_combine(l_c, l_u, gamma, cutoff):
    """CFGLogits: log-softmax both rows, gamma * (s_c - s_u) + s_u, cutoff on s_c."""
    s_c = torch.log_softmax(l_c, -1)
    if gamma == 1:
        return s_c
    s_u = torch.log_softmax(l_u, -1)
    out = gamma * (s_c - s_u) + s_u
    return out.masked_fill(s_c < math.log(cutoff) + s_c.max(), NEG_INF)


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    ids = text.prompt_ids(prompt)
    t_ids = text_only_ids(ref, ids)
    span = image_span(ref, ids)
    hooks = Amplify(span, range(p.start_layer, p.end_layer), p.alpha, p.first_token_skip)
    rows = [Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, ref.pixels(image))]), hooks, "image", ids),
            Branch(ref, prompt_embeds(ref, t_ids, []), name="text-only", ids=t_ids) if p.gamma != 1 else None]

    def combine(step, ls):
        return cfg_combine(ls[0], ls[1], p.gamma, p.cutoff)

    inter = {"rows": ["image", "text-only"], "prompt_ids": [ids, t_ids], "image_keys": list(span),
             "layers": list(range(p.start_layer, p.end_layer))}
    r = decode(ref, rows, combine, decoding, inter)
    r.params = p
    return r
