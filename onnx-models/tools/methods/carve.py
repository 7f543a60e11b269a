"""CARVE — Contrastive Attention Refinement for Visual Enhancement (Ge et al., arXiv 2509.06461; code
YuyaoGe/CARVE @ a1f0442: main.py, carve/attention.py, carve/masking.py, carve/pipeline.py; version v4).

Two greedy probe generations on the same image (question prompt, general prompt), up to probe_tokens each, stop
at EOS; at every step t and layer l in `layers`: m[t][l] = head-mean of the last query row's attention over the
image keys. S = sum_{t < min(nQ, nG)} (t + 1) sum_l m_Q[t][l] / (m_G[t][l] + lambda), on the patch grid, resized
bilinearly (align_corners=False) to the original image size. Mask: S >= 80th percentile (numpy linear), 4-connected
components (raster-order labels), keep the top max(3, floor(0.2 #components)) by sum S (ties: lower label); black
outside, crop to the mask's bounding box, upscale by max(W/cw, H/ch) with Lanczos (PIL, size rounded), then answer
the question greedily on the refined image (goldens carry it as intermediates.refined_png_base64, lossless, before
the model's own resize, so the final pass can be checked apart from the resampler).

Deviations / choices:
- Prompts: the code appends " Answer the question using a single word or phrase." and uses "Write a general
  description of the image." for the general pass; neither is in this model's closed vocabulary, so the question
  pass uses the user's prompt and the general pass `general_prompt` ("describe the image .").
- Final pass: the paper's Alg. 1 feeds only the refined image (default). The code feeds [original, refined]
  (two <image> tokens): two_images=True.
- The code's probe loop has no KV cache (re-runs the whole sequence each step: full re-processing);
  reprocess_full_sequence=True reproduces it (same values up to float rounding); default uses the KV cache.
- The contrast is accumulated on the grid and resized once (resize is linear; the code resizes every term).
- Grid -> pixels stretches over the whole image, which is geometrically right here because this model's
  preprocessing is a plain resize (no centre crop).
- Layers: the code's 20..25 of 32 scaled to this depth (calibration.json carve.layers).
No-op: keep_ratio = 1 (mask = whole image, crop = image, scale 1: the refined image is the original).
"""
from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from methods.common import Branch, Hooks, cal_field, decode, image_embeds, image_span, prompt_embeds, resolve, \
    forward
import text

NAME = "carve"


@dataclass
class Params:
    layers: Optional[list] = cal_field("decoder layers whose attention is contrasted")
    lam: float = 1e-8
    keep_ratio: float = 0.2
    min_regions: int = 3
    region_fraction: float = 0.2
    probe_tokens: int = 32
    general_prompt: str = "describe the image ."
    all_steps: bool = True              # v4: all steps weighted t+1; False: step 0 only (v1-v3)
    two_images: bool = False            # True: the code's final pass [original, refined]
    reprocess_full_sequence: bool = False


NOOP = Params(keep_ratio=1.0)


class Record(Hooks):
    def __init__(self, layers, span):
        self.layers, self.span, self.m = set(layers), span, []

    def weights(self, l, A, ctx):
        if l in self.layers:
            if l == min(self.layers):
                self.m.append({})
            self.m[-1][l] = A[0, :, -1, self.span[0]:self.span[1]].mean(0).double()
        return A


def probe(ref, img, prompt, p):
    ids = text.prompt_ids(prompt)
    rec = Record(p.layers, image_span(ref, ids))
    emb = prompt_embeds(ref, ids, [img])
    if not p.reprocess_full_sequence:
        r = decode(ref, [Branch(ref, emb, rec, "probe", ids)], lambda s, ls: ls[0],
                   {"mode": "greedy", "max_new_tokens": p.probe_tokens})
        return r.tokens, rec.m
    lm, toks = ref.model.language_model, []
    for _ in range(p.probe_tokens):
        x = torch.cat([emb, lm.embed_tokens(torch.tensor(toks, dtype=torch.long))], 0) if toks else emb
        with torch.no_grad():
            logits, _ = forward(lm, x[None], torch.arange(x.shape[0])[None], None, rec, 0)
        toks.append(int(torch.argmax(logits)))
        if toks[-1] == ref.eos_id:
            break
    return toks, rec.m


def contrast_map(mq, mg, layers, lam, grid, all_steps):
    n = min(len(mq), len(mg)) if all_steps else 1
    s = torch.zeros(grid * grid, dtype=torch.float64)
    for t in range(n):
        for l in layers:
            s += (t + 1) * (mq[t][l] / (mg[t][l] + lam))
    return s.view(grid, grid)


def components(mask):
    """4-connected components of a bool [H,W] array; labels 1.. in raster order of their first pixel."""
    h, w = mask.shape
    lab = np.zeros((h, w), dtype=np.int64)
    n = 0
    for y in range(h):
        for x in range(w):
            if mask[y, x] and not lab[y, x]:
                n += 1
                stack = [(y, x)]
                lab[y, x] = n
                while stack:
                    cy, cx = stack.pop()
                    for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                        if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not lab[ny, nx]:
                            lab[ny, nx] = n
                            stack.append((ny, nx))
    return lab, n


def refine(rgb, S, p):
    """rgb uint8 [H,W,3]; S float64 [H,W]. Returns (refined uint8 image, info)."""
    tau = np.percentile(S, 100 * (1 - p.keep_ratio))
    lab, n = components(S >= tau)
    scores = [float(S[lab == i].sum()) for i in range(1, n + 1)]
    keep_n = max(p.min_regions, int(p.region_fraction * n))
    keep = sorted(sorted(range(1, n + 1), key=lambda i: (-scores[i - 1], i))[:keep_n])
    mask = np.isin(lab, keep)
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    masked = rgb * mask[..., None].astype(rgb.dtype)
    crop = masked[y0:y1, x0:x1]
    H, W = rgb.shape[:2]
    ch, cw = crop.shape[:2]
    scale = max(W / cw, H / ch)
    size = (int(round(cw * scale)), int(round(ch * scale)))
    im = Image.fromarray(np.ascontiguousarray(crop))
    if size != (cw, ch):
        im = im.resize(size, Image.LANCZOS)
    info = {"tau": float(tau), "components": n, "kept": keep, "bbox_yx": [y0, y1, x0, x1], "size_wh": list(size),
            "mask_rows": ["".join("1" if v else "0" for v in row) for row in mask]}
    return np.asarray(im), info


def load_rgb(image):
    return np.asarray(Image.open(image).convert("RGB")) if isinstance(image, str) else np.asarray(image)


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    rgb = load_rgb(image)
    img = image_embeds(ref, ref.pixels(rgb))
    tq, mq = probe(ref, img, prompt, p)
    tg, mg = probe(ref, img, p.general_prompt, p)
    grid = ref.c.grid
    g = contrast_map(mq, mg, sorted(p.layers), p.lam, grid, p.all_steps)
    H, W = rgb.shape[:2]
    S = F.interpolate(g[None, None], size=(H, W), mode="bilinear", align_corners=False)[0, 0].numpy()
    refined, info = refine(rgb, S, p)
    buf = io.BytesIO()
    Image.fromarray(refined).save(buf, format="PNG")
    info["refined_png_base64"] = base64.b64encode(buf.getvalue()).decode("ascii")
    r_img = image_embeds(ref, ref.pixels(refined))
    if p.two_images:
        ids = text.encode(text.TEMPLATE.replace("<image>", "<image><image>").format(prompt=prompt))
        emb = prompt_embeds(ref, ids, [img, r_img])
    else:
        ids = text.prompt_ids(prompt)
        emb = prompt_embeds(ref, ids, [r_img])
    r = decode(ref, [Branch(ref, emb, name="final", ids=ids)], lambda s, ls: ls[0], decoding, {})
    r.intermediates = {"rows": ["final"], "prompt_ids": ids, "probe_question_tokens": tq, "probe_general_tokens": tg,
                       "contrast_grid": [[float(f"{v:.8g}") for v in row] for row in g.tolist()], **info}
    r.params = p
    return r
