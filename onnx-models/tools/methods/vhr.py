"""VHR — Vision-aware Head Reinforcement (He et al., ACL 2025, arXiv 2412.13949; official code jinghan1he/VHR not
retrievable: the paper is the reference).

Step 0 (prefill), layer by layer: for each reinforced layer, VHD_h = ||o_img,h - o_txt,h||_2 of the heads' outputs
(A.V, before o_proj) at the last prompt position with and without the image; heads whose VHD and text-only energy
TA_h = ||o_txt,h||^2 are both above mean + 1 std (unbiased) get VHD 0; heads with VHD > median (torch.median: the
lower middle value) are multiplied by alpha at every position, and the chosen set is frozen for all later steps.

Rows: 0 = image prompt (emits); 1 = the same chat prompt without the image token, run once (prefill only) and never
reinforced. Because row 1 is never edited its per-layer outputs do not depend on row 0, so it is run first and its
last-position head outputs are read at each layer of row 0's prefill: the same as the paper's lock-step
layer-by-layer selection (earlier reinforced layers of row 0 already influence later VHDs).
Layers: the paper's "second layer + last 14 of 32" scaled to this depth (calibration.json vhr.layers, rule there).
Deviations: whether the text-only row is also reinforced is not stated in the paper; here it is not (as the ABI's
pair op). Greedy (paper). No-op: alpha = 1.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from methods.common import Branch, Hooks, cal_field, decode, image_embeds, prompt_embeds, resolve, text_only_ids
import text

NAME = "vhr"


@dataclass
class Params:
    alpha: float = 2.0
    layers: Optional[list] = cal_field("reinforced decoder layers")


NOOP = Params(alpha=1.0)


def select_heads(o_img, o_txt):
    """o_img, o_txt [H, Dh] (last position). Returns (bool [H] chosen, vhd after outlier zeroing [H])."""
    vhd = (o_img - o_txt).pow(2).sum(-1).sqrt()
    ta = o_txt.pow(2).sum(-1)
    out = (vhd > vhd.mean() + vhd.std()) & (ta > ta.mean() + ta.std())
    vhd = torch.where(out, torch.zeros_like(vhd), vhd)
    return vhd > vhd.median(), vhd


class Record(Hooks):
    def __init__(self):
        self.last = {}

    def head_out(self, l, o, ctx):
        self.last[l] = o[0, :, -1].clone()
        return o


class Reinforce(Hooks):
    def __init__(self, layers, alpha, text_outputs):
        self.layers, self.alpha, self.text = set(layers), alpha, text_outputs
        self.chosen, self.vhd = {}, {}

    def head_out(self, l, o, ctx):
        if l not in self.layers or self.alpha == 1:
            return o
        if ctx.step == 0:
            self.chosen[l], self.vhd[l] = select_heads(o[0, :, -1], self.text[l])
        sel = self.chosen[l][None, :, None, None]
        return torch.where(sel, o * self.alpha, o)


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    ids = text.prompt_ids(prompt)
    t_ids = text_only_ids(ref, ids)
    rec = Record()
    Branch(ref, prompt_embeds(ref, t_ids, []), rec, "text-only", t_ids).prefill()
    hooks = Reinforce(p.layers, p.alpha, rec.last)
    row = Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, ref.pixels(image))]), hooks, "image", ids)
    inter = {"rows": ["image"], "prompt_ids": ids, "text_only_prefill_ids": t_ids}
    r = decode(ref, [row], lambda step, ls: ls[0], decoding, inter)
    H = ref.c.text_heads
    inter["chosen_heads"] = {str(l): [h for h in range(H) if hooks.chosen[l][h]] for l in sorted(hooks.chosen)}
    inter["vhd"] = {str(l): [float(f"{v:.6g}") for v in hooks.vhd[l].tolist()] for l in sorted(hooks.vhd)}
    r.params = p
    return r
