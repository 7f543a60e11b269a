"""VCD — Visual Contrastive Decoding (Leng et al., CVPR 2024; code DAMO-NLP-SG/VCD @ d6568ff).

Per step: run the clean-image row and a row whose image was diffusion-noised once per request; emit from
c = (1 + alpha) * l_clean - alpha * l_noised, restricted to tokens with l_clean >= max(l_clean) + ln(beta).

Rows: 0 = clean image + prompt (emits), 1 = noised image + prompt; each row has its own KV cache.
Noise (vcd_add_noise.py) on the normalised pixel tensor: betas = sigmoid(linspace(-6, 6, 1000)) * (0.005 - 1e-5)
+ 1e-5, abar = cumprod(1 - betas), x' = sqrt(abar[T]) x + sqrt(1 - abar[T]) n, T = noise_step (0-based index).

Deviations from paper/code:
- Noise n comes from the portable SplitMix64 Box-Muller stream of `common.SplitMix64.gaussian` seeded with
  `noise_seed` (C,H,W row-major order) instead of torch.randn with the global seed, so that Java draws the same
  noise; the schedule is computed in float64 (official: float32), coefficients are recorded in the goldens.
- Separate KV caches for the two rows (the paper's method; the official code before commit c637c85 re-copied
  the clean row's cache into the noised row every step, which switches the contrast off after token 1).
  `pre_fix_cache_sharing=True` reproduces that: from step 2 on l_noised = l_clean.
- Greedy decoding takes the argmax of the contrasted logits (the official patch only replaces `sample`, so
  `do_sample=False` silently runs plain greedy there). Sampling uses the portable sampler on the final logits.
No-op: alpha = 0 (c = l_clean, the cutoff never removes the argmax).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from methods.common import Branch, SplitMix64, contrast, decode, image_embeds, prompt_embeds
import text

NAME = "vcd"


@dataclass
class Params:
    alpha: float = 1.0              # cd_alpha (eval argparse + POPE script)
    beta: float = 0.1               # cd_beta (argparse; the POPE bash script uses 0.2)
    noise_step: int = 500           # T
    noise_seed: int = 0             # portable noise stream
    pre_fix_cache_sharing: bool = False


NOOP = Params(alpha=0.0)


def noise_coefficients(step, num_steps=1000):
    betas = torch.sigmoid(torch.linspace(-6, 6, num_steps, dtype=torch.float64)) * (0.5e-2 - 1e-5) + 1e-5
    abar = torch.cumprod(1 - betas, 0)[step]
    return math.sqrt(float(abar)), math.sqrt(1 - float(abar))


def add_diffusion_noise(pixels, step, seed):
    a, b = noise_coefficients(step)
    n = SplitMix64(seed).gaussian(pixels.numel()).view_as(pixels)
    return (a * pixels.double() + b * n).float(), n


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    pix = ref.pixels(image)
    noised, n = add_diffusion_noise(pix, params.noise_step, params.noise_seed)
    ids = text.prompt_ids(prompt)
    rows = [Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, pix)]), name="clean", ids=ids),
            Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, noised)]), name="noised", ids=ids)]

    def combine(step, ls):
        l0, l1 = ls
        if params.pre_fix_cache_sharing and step > 0:
            l1 = l0
            rows[1] = None
        return contrast(l0, l1, params.alpha, params.beta)

    a, b = noise_coefficients(params.noise_step)
    inter = {"rows": ["clean", "noised"], "prompt_ids": ids, "noise_coefficients": [a, b],
             "noise_first4": n.flatten()[:4].tolist(), "noised_pixels_sum": float(noised.double().sum())}
    r = decode(ref, rows, combine, decoding, inter)
    r.params = params
    return r
