"""GIFT — Gaze-shift guided cross-modal fusion enhancement ("Capturing Gaze Shifts for Guidance", Qi et al.,
arXiv 2510.22067; code amazon-science/GIFT @ e20b8a9: inference.py, configs/*.yaml, patched modeling_llama.py).

Saliency (a probe prefill without edits, as the code's extra prefill): at the saliency layer, for head h, question
row i and visual key j, D = max(A[h,i,j] - A[h,i-1,j], 0); keep rows of content words C; keep the top floor(H/2)
heads by sum D; m_j = mean of D over kept heads and C rows; clamp m to [mu - 3 sigma, mu + 3 sigma] (sigma unbiased),
min-max to [0,1] -> s_j; w_j = exp(alpha s_j).
Per forward, in the enhancement layers, last query row only: Hv = top floor(H/2) heads by visual mass, Hq = top
floor(H/2) heads by question mass (ties: lower head); r = sum_{Hv,V} A w / sum_{Hv,V} A; A_hj *= w_j for h in Hv, j in V;
A_hj *= r for h in Hq, j in Q; every edited row renormalised.

Spans: V = image keys; Q = the user's prompt words (after the image, before "assistant :").
Content words: the code tags with spaCy en_core_web_sm (POS in NOUN, PROPN, VERB, ADJ, ADV, NUM); spaCy is not
available here and the vocabulary is closed, so a fixed lexicon (CONTENT below, the tags spaCy gives these words
in the training prompts) replaces it; the positions are recorded in the goldens.
Layers: the paper picks the saliency layer as the one with the largest total gaze shift and the enhancement layers
from the visual/query attention trend; the code fixes them per model. Here both come from calibration.json
(gift.saliency_layer, gift.enhance_layers; rules there).
Deviations: empty C or a constant m -> no enhancement (the code averages an empty tensor: NaN). Greedy (code).
No-op: alpha = 0 (w = 1, r = 1).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from methods.common import Branch, Hooks, cal_field, decode, image_embeds, image_span, prompt_embeds, \
    question_span, resolve, top_heads
import text

NAME = "gift"
CONTENT = set(
    "circle square triangle star moon heart cross diamond image objects colour "            # NOUN
    "top bottom left right center "                                                          # NOUN (positions)
    "red green blue yellow purple white sure many "                                          # ADJ
    "zero one two three four "                                                               # NUM
    "describe think "                                                                        # VERB
    "here how where".split())                                                                # ADV


@dataclass
class Params:
    alpha: float = 5.0
    saliency_layer: Optional[int] = cal_field("layer whose prefill attention gives the saliency map")
    enhance_layers: Optional[list] = cal_field("layers whose last query row is enhanced")
    head_fraction: float = 0.5


NOOP = Params(alpha=0.0)


def content_rows(ref, ids):
    """Key positions of content words inside the question span."""
    q0, q1 = question_span(ref, ids)
    off = q0 - (ids.index(ref.image_id) + 1)                     # ids index -> key index after the image
    return [i + off for i in range(ids.index(ref.image_id) + 1, len(ids))
            if q0 <= i + off < q1 and text.VOCAB[ids[i]] in CONTENT]


def saliency(A, rows, span, k):
    """A [H,T,S] prefill attention at the saliency layer; rows = content key positions. Returns s [N] or None."""
    if not rows:
        return None
    v0, v1 = span
    cur = A[:, rows, v0:v1]
    prev = A[:, [r - 1 for r in rows], v0:v1]
    D = (cur - prev).clamp_min(0)                                 # [H,C,N]
    heads = top_heads(D.sum((1, 2)), k)
    m = D[heads].mean((0, 1))
    mu, sd = m.mean(), m.std()
    m = m.clamp(float(mu - 3 * sd), float(mu + 3 * sd))
    if m.max() == m.min():
        return None
    return (m - m.min()) / (m.max() - m.min()), heads


def enhance(A, vis, q, w, k):
    """A [H,S] one query row; vis, q bool [S]; w [S] (1 off V). Returns (A', Hv, Hq, r)."""
    hv = top_heads((A * vis).sum(-1), k)
    hq = top_heads((A * q).sum(-1), k)
    den = (A[hv] * vis).sum()
    r = (A[hv] * vis * w).sum() / den if den > 0 else torch.tensor(1.0)
    mult = torch.ones_like(A)
    mult[hv] = torch.where(vis, w, mult[hv])
    mult[hq] = mult[hq] * torch.where(q, r, torch.ones_like(w))
    out = A * mult
    return out / out.sum(-1, keepdim=True), hv, hq, float(r)


class Probe(Hooks):
    def __init__(self, layer):
        self.layer, self.A = layer, None

    def weights(self, l, A, ctx):
        if l == self.layer:
            self.A = A[0].clone()
        return A


class Enhance(Hooks):
    def __init__(self, layers, span, qspan, w, k):
        self.layers, self.span, self.qspan, self.w, self.k = set(layers), span, qspan, w, k
        self.log = {}

    def weights(self, l, A, ctx):
        if l not in self.layers or self.w is None:
            return A
        s = ctx.s
        vis = torch.zeros(s, dtype=torch.bool)
        vis[self.span[0]:self.span[1]] = True
        q = torch.zeros(s, dtype=torch.bool)
        q[self.qspan[0]:self.qspan[1]] = True
        w = torch.ones(s)
        w[self.span[0]:self.span[1]] = self.w
        A = A.clone()
        A[0, :, -1], hv, hq, r = enhance(A[0, :, -1], vis, q, w, self.k)
        if ctx.step == 0:
            self.log[l] = {"Hv": hv, "Hq": hq, "r": float(f"{r:.6g}")}
        return A


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    ids = text.prompt_ids(prompt)
    span, qspan = image_span(ref, ids), question_span(ref, ids)
    emb = prompt_embeds(ref, ids, [image_embeds(ref, ref.pixels(image))])
    k = int(ref.c.text_heads * p.head_fraction)
    probe = Probe(p.saliency_layer)
    Branch(ref, emb, probe, "probe", ids).prefill()
    rows = content_rows(ref, ids)
    sal = saliency(probe.A, rows, span, k)
    w = torch.exp(p.alpha * sal[0]) if sal is not None else None
    hooks = Enhance(p.enhance_layers, span, qspan, w, k)
    r = decode(ref, [Branch(ref, emb, hooks, "image", ids)], lambda step, ls: ls[0], decoding, {})
    r.intermediates = {"rows": ["image"], "prompt_ids": ids, "image_keys": list(span), "question_keys": list(qspan),
                       "content_keys": rows, "saliency_heads": sal[1] if sal else [],
                       "saliency": [float(f"{x:.6g}") for x in sal[0].tolist()] if sal else None,
                       "prefill_last_row": {str(l): v for l, v in sorted(hooks.log.items())}}
    r.params = p
    return r
