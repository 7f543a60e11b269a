"""M3ID — Multi-Modal Mutual-Information Decoding (Favero et al., CVPR 2024; no official code, per the AvisC
maintainer; third-party reimplementations: sangminwoo/AvisC avisc_sample.py, sangminwoo/RITUAL ritual_sample.py).

Per step t: lc = log_softmax(l_image), lu = log_softmax(l_text_only), gamma_t = exp(-lambda * t);
if the image row is uncertain (max lc < ln(threshold)) emit from c = lc + ((1 - gamma_t) / gamma_t) * (lc - lu),
else from c = lc.

Rows: 0 = image + prompt, 1 = the same chat prompt without the image token; own KV caches, positions from 0.
t = step index + t_origin (t_origin 1 as AvisC: the first generated token has t = 1).
Deviations / open choices:
- the gate threshold is not retrievable from the paper: calibrated (calibration.json m3id.threshold, rule there:
  the median over training-distribution decoding steps of the image row's top probability, so the correction acts
  on the less confident half of steps). gate=False gives AvisC's ungated variant.
- lambda = 0.02 from the third-party code (paper value unverified).
- no plausibility cutoff by default (paper formula); AvisC/RITUAL add VCD's cutoff: beta = 0.1. RITUAL works on
  raw logits with t_origin 0: space="logits", t_origin=0.
No-op: lam = 0 (gamma_t = 1, correction weight 0).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import torch

from methods.common import Branch, cal_field, decode, image_embeds, plausibility_keep, prompt_embeds, resolve, \
    text_only_ids, NEG_INF
import text

NAME = "m3id"


@dataclass
class Params:
    lam: float = 0.02                       # lambda
    threshold: Optional[float] = cal_field("gate: correct only where max p(image row) < threshold")
    gate: bool = True
    t_origin: int = 1
    space: str = "log_softmax"              # or "logits" (RITUAL)
    beta: Optional[float] = None            # None: no cutoff (paper); 0.1: AvisC/RITUAL


NOOP = Params(lam=0.0)


def m3id_combine(l_img, l_txt, t, p: Params):
    """The per-step rule; returns (final logits, whether the correction was applied)."""
    if p.space == "log_softmax":
        lc, lu = torch.log_softmax(l_img, -1), torch.log_softmax(l_txt, -1)
    else:
        lc, lu = l_img, l_txt
    conf = float(torch.log_softmax(l_img, -1).max())
    if p.gate and conf >= math.log(p.threshold):
        out, applied = lc, False
    else:
        g = math.exp(-p.lam * t)
        out, applied = lc + ((1 - g) / g) * (lc - lu), True
    if p.beta is not None:
        out = out.masked_fill(~plausibility_keep(lc, p.beta), NEG_INF)
    return out, applied


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    ids = text.prompt_ids(prompt)
    t_ids = text_only_ids(ref, ids)
    rows = [Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, ref.pixels(image))]), name="image", ids=ids),
            Branch(ref, prompt_embeds(ref, t_ids, []), name="text-only", ids=t_ids)]
    applied = []

    def combine(step, ls):
        out, a = m3id_combine(ls[0], ls[1], step + p.t_origin, p)
        applied.append(a)
        return out

    inter = {"rows": ["image", "text-only"], "prompt_ids": [ids, t_ids], "gate_applied": applied}
    r = decode(ref, rows, combine, decoding, inter)
    r.params = p
    return r
