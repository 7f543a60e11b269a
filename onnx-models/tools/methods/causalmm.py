"""CausalMM — causal inference on attention for MLLM hallucination (Zhou et al., ICLR 2025; code
The-Martyr/CausalMM @ 6d1ae4e, LLaVA-1.5 vision-level counterfactual: cf_encoder.py, causalmm_sm.py).

Per step: run the factual row and a counterfactual row whose image tokens come from counterfactual ViT attention;
emit from c = (1 + gamma) * l_factual - gamma * l_cf, c = -inf where l_factual < max(l_factual) + ln(epsilon).

Vision counterfactual (cf_encoder.py), once per request: A = per-head attention probabilities of the ViT layer whose
output feeds the projector (CLS included, [Hv, N+1, N+1]); F = that layer's patch features (no CLS).
A' per head: shuffle = one random permutation of all (N+1)^2 cells (A'.flat = A.flat[perm]); random = i.i.d.
U[0,2); uniform = mean of A_h; reversed = max(A_h) - A_h. Each head's map is resized bilinearly to grid x grid
(align_corners=False, no antialias), averaged over heads -> w [N] (row-major); F_cf = F * w; E_cf = projector(F_cf).
Language counterfactual (README snippet; level "language"/"multimodal"): in every decoder layer of an extra row,
post-softmax A is replaced: uniform 1/S; random U[0,1) normalised over all S keys; reverse rowmax(A) - A;
reverse_and_normalize; then future keys zeroed (prefill), not renormalised. multimodal:
c = (1 + 2 gamma) l0 - gamma l_cf_vision - gamma l_cf_language (causalmm_mm.py).

Deviations:
- Default = the paper's method: the counterfactual row keeps its OWN KV cache and the contrast acts on every token.
  The official code runs the cf forward with the factual cache, so from token 2 on l_cf == l_factual and c is
  l_factual under the epsilon cutoff: `kv_sharing_quirk=True` reproduces that (cf row dropped after the prefill).
- Random counterfactuals (shuffle/random) draw from the portable SplitMix64 stream seeded with cf_seed
  (shuffle: Fisher-Yates per head, heads in order; random: u() per cell in (head, row, col) order; language random:
  per call, layer, head, query row, key in order) instead of torch's global RNG, so Java draws the same values.
- No fp16 cast of F_cf (everything float32).
- The edited ViT layer is the one whose output feeds the projector (LLaVA: mm_vision_select_layer -2, attentions[-2];
  here the last layer run, feature_layers - 1): structural, not a tuned choice.
- Multimodal/language levels follow the README snippet (not runnable in the repo); all decoder layers, no selection.
- reverse_and_normalize: a row that reverses to all zeros (the first prompt token, one key) stays zero instead of
  the snippet's 0/0 = NaN, which would make the whole counterfactual row NaN (as abi._renorm, mix_mode 3).
No-op: gamma = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from methods.common import Branch, Hooks, SplitMix64, contrast, decode, image_embeds, prompt_embeds, NEG_INF
import text

NAME = "causalmm"


@dataclass
class Params:
    gamma: float = 1.0                  # llava1.5_eval.bash
    epsilon: float = 0.6                # llava1.5_eval.bash
    level: str = "vision"               # vision | language | multimodal
    vision_cf: str = "shuffle"          # shuffle | random | uniform | reversed (edit_attention default: shuffle)
    llm_cf: str = "uniform"             # uniform | random | reverse | reverse_and_normalize (no official default)
    cf_seed: int = 0
    kv_sharing_quirk: bool = False


NOOP = Params(gamma=0.0)


def edit_attention(A, kind, rng):
    """A [Hv, n, n] -> counterfactual A' (cf_encoder.edit_attention)."""
    hv, n, _ = A.shape
    if kind == "shuffle":
        out = torch.empty_like(A)
        for h in range(hv):
            perm = torch.tensor(rng.permutation(n * n))
            out[h] = A[h].flatten()[perm].view(n, n)
        return out
    if kind == "random":
        return torch.tensor([2.0 * rng.u() for _ in range(hv * n * n)], dtype=torch.float64).float().view(hv, n, n)
    if kind == "uniform":
        return A.mean((1, 2), keepdim=True).expand_as(A).clone()
    if kind == "reversed":
        return A.amax((1, 2), keepdim=True) - A
    raise ValueError(kind)


def patch_weights(A_cf, grid):
    """Per-head bilinear resize (N+1)x(N+1) -> grid x grid, mean over heads, flatten row-major -> [N]."""
    r = F.interpolate(A_cf[None], size=(grid, grid), mode="bilinear", align_corners=False)[0]
    return r.mean(0).flatten()


def counterfactual_image_embeds(ref, pixels, kind, seed):
    vt = ref.model.vision_tower
    with torch.no_grad():
        h, attn = vt(pixels[None])
        A = attn[-1][0]                                   # the layer that produces the projector's features
        w = patch_weights(edit_attention(A, kind, SplitMix64(seed)), ref.c.grid)
        return ref.model.multi_modal_projector(h[0, 1:] * w[:, None]), w


class LanguageCf(Hooks):
    """Replace post-softmax weights in every decoder layer (README 'LLM Counterfactual Attention')."""

    def __init__(self, kind, rng):
        self.kind, self.rng = kind, rng

    def weights(self, l, A, ctx):
        future = ~ctx.allowed                              # [1,1,T,S]
        if self.kind == "uniform":
            out = torch.full_like(A, 1.0 / A.shape[-1])
        elif self.kind == "random":
            r = torch.tensor([self.rng.u() for _ in range(A.numel())], dtype=torch.float64).float().view_as(A)
            out = r / r.sum(-1, keepdim=True)
        elif self.kind in ("reverse", "reverse_and_normalize"):
            out = A.amax(-1, keepdim=True) - A
        else:
            raise ValueError(self.kind)
        out = out.masked_fill(future, 0.0)
        if self.kind == "reverse_and_normalize":
            # a query with one allowed key (the first prompt token) reverses to all zeros: the snippet's 0/0 would
            # turn the whole row NaN; a zero row stays zero, as abi._renorm (mix_mode 3)
            s = out.sum(-1, keepdim=True)
            out = out / torch.where(s > 0, s, torch.ones_like(s))
        return out


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = params
    pix = ref.pixels(image)
    ids = text.prompt_ids(prompt)
    img = image_embeds(ref, pix)
    rows = [Branch(ref, prompt_embeds(ref, ids, [img]), name="factual", ids=ids)]
    inter = {"rows": ["factual"], "prompt_ids": ids}
    if p.level in ("vision", "multimodal"):
        cf, w = counterfactual_image_embeds(ref, pix, p.vision_cf, p.cf_seed)
        rows.append(Branch(ref, prompt_embeds(ref, ids, [cf]), name="cf-vision", ids=ids))
        inter["rows"].append("cf-vision")
        inter["patch_weights"] = [float(f"{x:.8g}") for x in w.tolist()]
    if p.level in ("language", "multimodal"):
        rows.append(Branch(ref, prompt_embeds(ref, ids, [img]), LanguageCf(p.llm_cf, SplitMix64(p.cf_seed + 1)),
                           name="cf-language", ids=ids))
        inter["rows"].append("cf-language")

    def combine(step, ls):
        l0 = ls[0]
        if p.kv_sharing_quirk and step > 0:
            for i in range(1, len(rows)):
                rows[i] = None
            others = [l0] * (len(ls) - 1)        # the cf forward saw the factual cache: identical logits
        else:
            others = ls[1:]
        if len(others) == 1:
            return contrast(l0, others[0], p.gamma, p.epsilon)
        c = (1 + 2 * p.gamma) * l0 - p.gamma * others[0] - p.gamma * others[1]
        return c.masked_fill(l0 < l0.max() + torch.log(torch.tensor(p.epsilon)), NEG_INF)

    r = decode(ref, rows, combine, decoding, inter)
    r.params = p
    return r
