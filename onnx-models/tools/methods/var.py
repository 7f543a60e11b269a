"""VAR — Visual Attention Redistribution ("See What You Are Told: Visual Attention Sink in LMMs", Kang et al.,
ICLR 2025; code seilk/VisAttnSink @ 98e62d6: src/logic/logic.py, A_exps/lv1.5_7b.yml).

Prefill: in each VAR layer l, tokens whose residual input has phi = max_{d in sink_dims} |x_d| / sqrt(mean x^2 + 1e-6)
> tau are sinks (Sink_l; generated tokens never are). Every forward, per layer/head/query row, on the unmodified
softmax row: if visual mass >= summ and the visual sink share sum_{V&Sink} A / sum_V (A + 1e-6) <= 1 - rho, move
the fraction p of the attention on ALL sink tokens (text sinks such as BOS included) onto V \\ Sink_l in proportion to
their weights: A_sink <- (1 - p) A_sink, A_j += p * sum_sink A * A_j / sum_{V\\Sink} A. Rows edited: in prefill the
text rows after the image, in decode the new row. Layers without a visual sink are left alone.

Conventions: rho and p are the PAPER's (rho = minimum visual non-sink ratio, p = fraction moved). The code's
yml values rho_code = 0.5, p_code = 0.6 (fraction kept) are rho = 1 - rho_code = 0.5, p = 1 - p_code = 0.4
(issue #5, maintainer). Params.from_code converts.
Layers: the code's layers >= 2 of 32, excluding the last (paper), scaled to this depth: calibration.json
var.start_layer / end_layer. tau: calibrated for this model's sink-score distribution (calibration.json var.tau).
sink_dims: model.json (measured by export.py on training scenes), as the code's constants.py per backbone.
Deviations:
- the last layer is excluded (paper). The released code's subclass attribute shadows the flag and edits it:
  include_last_layer=True reproduces that.
- per-sample state is rebuilt for every request (the code's class-level stash appears never to be reset).
- sink test phi > tau strict (code; paper >=). Rows with zero non-sink visual mass are skipped (code: NaN).
No-op: p = 0.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch

from methods.common import Branch, Hooks, cal_field, decode, image_embeds, image_span, prompt_embeds, resolve
import text

NAME = "var"


@dataclass
class Params:
    tau: Optional[float] = cal_field("sink threshold on phi")
    rho: float = 0.5                    # paper: min visual non-sink ratio (code rho 0.5)
    p: float = 0.4                      # paper: fraction of sink attention moved (code p 0.6 = kept)
    summ: float = 0.2                   # min visual attention mass of a head's row
    start_layer: Optional[int] = cal_field("first VAR layer")
    end_layer: Optional[int] = cal_field("end (exclusive) of VAR layers; the last layer is excluded")
    include_last_layer: bool = False    # True: the released code's behaviour

    @staticmethod
    def from_code(rho_code=0.5, p_code=0.6, **kw):
        return Params(rho=1 - rho_code, p=1 - p_code, **kw)


NOOP = Params(p=0.0)


def sink_score(x, dims):
    """phi per token: x [T, D] -> [T]."""
    rms = x.pow(2).mean(-1).add(1e-6).sqrt()
    return x[:, dims].abs().amax(-1) / rms


def redistribute(A, vis, sink, rows, summ, rho, p):
    """A [H,T,S]; vis, sink bool [S]; rows bool [T]. Returns (new A, gate bool [H,T])."""
    tgt = vis & ~sink
    vmass = (A * vis).sum(-1)
    share = (A * (vis & sink)).sum(-1) / ((A + 1e-6) * vis).sum(-1)
    ssum = (A * sink).sum(-1, keepdim=True)
    tsum = (A * tgt).sum(-1, keepdim=True)
    gate = (vmass >= summ) & (share <= 1 - rho) & (tsum[..., 0] > 0) & rows[None, :]
    moved = torch.where(sink, A * (1 - p), A)
    moved = torch.where(tgt, A + p * ssum * A / torch.where(tsum > 0, tsum, torch.ones_like(tsum)), moved)
    return torch.where(gate[..., None], moved, A), gate


class Var(Hooks):
    def __init__(self, p: Params, layers, span, dims):
        self.p, self.layers, self.span, self.dims = p, set(layers), span, dims
        self.sinks, self.gates = {}, {}

    def layer_input(self, l, x, ctx):
        if ctx.step == 0 and l in self.layers:
            self.phi = getattr(self, "phi", {})
            self.phi[l] = sink_score(x[0], self.dims)
            self.sinks[l] = self.phi[l] > self.p.tau

    def weights(self, l, A, ctx):
        if l not in self.layers or self.p.p == 0:
            return A
        s = ctx.s
        sink = torch.zeros(s, dtype=torch.bool)
        sink[: self.sinks[l].shape[0]] = self.sinks[l]
        vis = torch.zeros(s, dtype=torch.bool)
        vis[self.span[0]:self.span[1]] = True
        if not (sink & vis).any():
            return A
        rows = torch.arange(ctx.p, s) >= self.span[1]
        out, gate = redistribute(A[0], vis, sink, rows, self.p.summ, self.p.rho, self.p.p)
        self.gates.setdefault(ctx.step, {})[l] = gate[:, -1]
        return out[None]


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    p = resolve(params, ref, NAME)
    ids = text.prompt_ids(prompt)
    span = image_span(ref, ids)
    end = ref.c.text_layers if p.include_last_layer else p.end_layer
    hooks = Var(p, range(p.start_layer, end), span, list(ref.meta["sink_dims"]))
    row = Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, ref.pixels(image))]), hooks, "image", ids)
    r = decode(ref, [row], lambda step, ls: ls[0], decoding, {})
    H = ref.c.text_heads
    r.intermediates = {
        "rows": ["image"], "prompt_ids": ids, "image_keys": list(span), "layers": sorted(hooks.layers),
        "sinks": {str(l): torch.nonzero(hooks.sinks[l]).flatten().tolist() for l in sorted(hooks.sinks)},
        "phi_max_nonsink": {str(l): float(f"{hooks.phi[l][~hooks.sinks[l]].max():.6g}") for l in sorted(hooks.phi)},
        # heads whose last query row passed the gate, per call (0 = prefill) and layer
        "gated_heads_last_row": {str(st): {str(l): [h for h in range(H) if g[h]] for l, g in sorted(d.items())}
                                 for st, d in sorted(hooks.gates.items())},
    }
    r.params = p
    return r
