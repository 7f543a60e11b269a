"""The intervention ABI: the decoder and vision graphs with control inputs and probe outputs.

These modules reuse the weights of `vlm.Vlm` and are what `export.py` writes to ONNX; the same
modules run eagerly in `reference.py` to make the golden files. Every edit is gated with
`torch.where(active, edited, plain)` so that neutral controls return plain attention bit for bit.
Order of the edits inside one attention layer (documented in onnx-models/README.md):
  logits a = q.k/sqrt(Dh)  ->  + attn_bias  ->  a + amp*amp_mask*|a|  ->  softmax over allowed keys
  -> focus (GIFT)  ->  redist (VAR)  ->  mix (CausalMM)  ->  o = A.V  ->  pair (VHR)  ->  head_scale
  -> o_proj.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn

from vlm import NEG, Vlm, rope_angles, rotate

# mix_mode values (per row)
MIX_GIVEN, MIX_UNIFORM, MIX_REVERSE, MIX_REVERSE_NORM, MIX_PERMUTE = 0, 1, 2, 3, 4

DECODER_INPUTS = ["inputs_embeds", "position_ids", "key_mask", "row_mask", "visual_mask", "past_kv",
                  "attn_bias", "amp", "amp_mask", "mix", "mix_mode", "mix_alt", "mix_perm",
                  "redist", "redist_gate", "sink_mask", "target_mask",
                  "focus_logw", "focus_k", "query_mask", "head_scale", "pair_row", "pair_alpha", "probe_layer"]
DECODER_OUTPUTS = ["logits", "present_kv", "attn_last", "attn_query", "attn_heads", "head_out", "sink_score",
                   "pair_heads"]
PLAIN_INPUTS = ["inputs_embeds", "position_ids", "key_mask", "past_kv"]
PLAIN_OUTPUTS = ["logits", "present_kv", "attn_last"]
VISION_INPUTS = ["pixel_values", "patch_scale", "mix", "mix_alt", "probe_layer"]
VISION_OUTPUTS = ["image_embeds", "cls_attn", "vision_attn"]
# Edit families of decoder.onnx and the control inputs each one reads; row_mask comes with any edit.
EDIT_INPUTS = {"attn_bias": ["attn_bias"], "amp": ["amp", "amp_mask"],
               "focus": ["visual_mask", "focus_logw", "focus_k", "query_mask"],
               "redist": ["visual_mask", "redist", "redist_gate", "sink_mask", "target_mask"],
               "mix": ["mix", "mix_mode", "mix_alt", "mix_perm"], "head_scale": ["head_scale"],
               "pair": ["pair_row", "pair_alpha"]}
EDITS = list(EDIT_INPUTS)
PROBES = DECODER_OUTPUTS[2:]
# Smaller graphs with only some edits and probes (name -> (edits, probes)), exported beside decoder.onnx: ONNX Runtime
# runs every node of a graph on every call, neutral or not, and on a model this small the per-node cost of the
# gated edits is most of a step. The engine runs each call on the smallest graph that covers what it needs; a missing
# edit is that edit at its neutral value (pair_heads, without pair, is zero).
DECODER_VARIANTS = {
    "decoder_attn": (["attn_bias", "amp", "head_scale"], ["attn_last", "attn_heads", "sink_score"]),
    "decoder_redist": (["redist"], ["attn_last", "sink_score"]),
    "decoder_focus": (["focus"], ["attn_last", "attn_heads"]),
}


def variant_io(edits, probes):
    """Input and output names of a decoder graph with these edits and probes, in DECODER_INPUTS/OUTPUTS order."""
    wanted = set(PLAIN_INPUTS) | {i for e in edits for i in EDIT_INPUTS[e]}
    if edits:
        wanted.add("row_mask")
    if "attn_heads" in probes:
        wanted.add("probe_layer")
    outs = set(PLAIN_OUTPUTS[:2]) | set(probes)
    return [n for n in DECODER_INPUTS if n in wanted], [n for n in DECODER_OUTPUTS if n in outs]


# scalar constants instead of ones_like/zeros_like/full_like: the same values in torch.where, but one Constant in the
# exported graph instead of a Shape/ConstantOfShape pair per use
_ONE, _ZERO, _NEG = torch.tensor(1.0), torch.tensor(0.0), torch.tensor(NEG)


def _renorm(x):
    """Rows of x divided by their sum over the last axis; a zero row stays zero."""
    s = x.sum(-1, keepdim=True)
    return x / torch.where(s > 0, s, _ONE)


def topk_mask(score, k):
    """1 where a head is among the k highest of `score` over axis 1 (heads); ties go to the lower index.
    score [B,H,T], k [B,1,1] -> bool [B,H,T]. Written with comparisons so ONNX needs no dynamic TopK."""
    h = int(score.shape[1])                                  # static (H): a constant in the graph
    a = score[:, :, None]                                   # [B,H,1,T]  this head
    b = score[:, None, :]                                   # [B,1,H,T]  other heads
    idx = torch.arange(h)
    lower = (idx[None, :] < idx[:, None])[None, :, :, None]  # other index < this index
    rank = ((b > a) | ((b == a) & lower)).sum(2)             # [B,H,T]
    return rank < k


def focus(A, vis, logw, k, qmask):
    """GIFT: in the top-k heads by visual mass multiply visual weights by exp(logw); in the top-k heads by
    query mass multiply query weights by r = (sum of reweighted visual mass)/(visual mass) over the visual
    heads; renormalise. A [B,H,T,S]; vis, logw, qmask [B,1,1,S]; k [B,1,1]."""
    vmass = (A * vis).sum(-1)
    qmass = (A * qmask).sum(-1)
    hv = topk_mask(vmass, k)[..., None]                     # [B,H,T,1]
    hq = topk_mask(qmass, k)[..., None]
    w = torch.where(vis > 0, torch.exp(logw), _ONE)
    num = (A * vis * w * hv).sum((1, 3), keepdim=True)      # [B,1,T,1]
    den = (A * vis * hv).sum((1, 3), keepdim=True)
    r = torch.where(den > 0, num / torch.where(den > 0, den, _ONE), _ONE)
    mult = torch.where(hv & (vis > 0), w, _ONE) * torch.where(hq & (qmask > 0), r, _ONE)
    return _renorm(A * mult)


def redistribute(A, vis, sink, target, frac, summ, rho):
    """VAR: where the head's row passes the gate (visual mass >= summ and visual sink share <= rho), move
    `frac` of the mass on sink keys onto target keys in proportion to their weights.
    Returns (new A, gate [B,H,T,1])."""
    vmass = (A * vis).sum(-1, keepdim=True)
    share = (A * vis * sink).sum(-1, keepdim=True) / ((A + 1e-6) * vis).sum(-1, keepdim=True).clamp_min(1e-12)
    ssum = (A * sink).sum(-1, keepdim=True)
    tsum = (A * target).sum(-1, keepdim=True)
    gate = (vmass >= summ) & (share <= rho) & (tsum > 0)
    moved = A - frac * A * sink + frac * ssum * A * target / torch.where(tsum > 0, tsum, _ONE)
    return moved, gate


def counterfactual(A, allowed, mode, alt, perm):
    """CausalMM's counterfactual attention for each mix_mode; every mode is masked to allowed keys.
    A [B,H,T,S]; allowed [B,1,T,S]; mode [B,1,1,1]; alt [B,H,1,S]; perm [B,1,1,S] (key indices)."""
    given = _renorm(alt * allowed)
    uniform = _renorm(allowed.expand_as(A))
    rev = (A.amax(-1, keepdim=True) - A) * allowed
    permuted = _renorm(torch.gather(A, 3, perm.expand_as(A)) * allowed)
    out = torch.where(mode == MIX_GIVEN, given, uniform)
    out = torch.where(mode == MIX_REVERSE, rev, out)
    out = torch.where(mode == MIX_REVERSE_NORM, _renorm(rev), out)
    return torch.where(mode == MIX_PERMUTE, permuted, out)


def pair_heads(o_last, pair_row):
    """VHR head choice: heads whose last-position output diverges from the paired row's above the layer's
    (lower) median, after zeroing outliers (VHD and the paired row's energy both above mean + 1 std,
    unbiased std, as torch.std). o_last [B,H,Dh]; pair_row [B] -> bool [B,H]."""
    idx = pair_row.clamp_min(0)
    other = o_last[idx]
    vhd = (o_last - other).pow(2).sum(-1).sqrt()
    ta = other.pow(2).sum(-1)
    h = int(vhd.shape[1])                                    # static (H): constant slices in the graph

    def above(x):
        m = x.mean(1, keepdim=True)
        sd = ((x - m).pow(2).sum(1, keepdim=True) / (h - 1)).sqrt()
        return x > m + sd

    vhd = torch.where(above(vhd) & above(ta), _ZERO, vhd)
    median = torch.sort(vhd, 1)[0][:, (h - 1) // 2: (h - 1) // 2 + 1]
    return vhd > median


class DecoderAbi(nn.Module):
    """decoder.onnx: one graph for prefill and decode over batch rows with controls and probes. With `edits` and
    `probes` (subsets of EDITS and PROBES) it is one of DECODER_VARIANTS: only those edits' inputs and those
    probes, the same arithmetic op for op (a left-out edit is that edit at its neutral value, bit for bit in eager).
    Written for a small graph as PlainDecoder is: constant reshapes, rotary angles and masks once per call."""

    def __init__(self, vlm: Vlm, sink_dims, edits=EDITS, probes=PROBES):
        super().__init__()
        self.lm = vlm.language_model
        c = vlm.c
        self.heads, self.head_dim, self.theta = c.text_heads, c.text_dim // c.text_heads, c.rope_theta
        self.register_buffer("sink_dims", torch.tensor(list(sink_dims), dtype=torch.long))
        self.edits, self.probes = set(edits), set(probes)
        self.inputs, self.outputs = variant_io(edits, probes)

    def forward(self, *args, **kwargs):
        """Inputs by position in `self.inputs` order (as exported) or by name; outputs in `self.outputs` order."""
        i = dict(zip(self.inputs, args), **kwargs)
        ed, pr = self.edits, self.probes
        x, position_ids, key_mask, past_kv = i["inputs_embeds"], i["position_ids"], i["key_mask"], i["past_kv"]
        t = x.shape[1]
        s = key_mask.shape[1]
        h, dh = self.heads, self.head_dim
        q_abs = torch.arange(t)[:, None] + (s - t)
        allowed = ((torch.arange(s)[None, :] <= q_abs)[None] & (key_mask[:, None, :] > 0))[:, None]  # [B,1,T,S]
        cos, sin = rope_angles(position_ids, dh, self.theta)
        heads = lambda y: _Reshape.apply(y, (0, -1, h, dh)).transpose(1, 2)             # [B,T,D] -> [B,H,T,Dh]
        if ed:
            rowm = (i["row_mask"] > 0)[:, None, :, None]                                 # [B,1,T,1]
            edit = rowm & allowed
        if ed & {"focus", "redist"}:
            vis = i["visual_mask"][:, None, None, :]
        if "mix" in ed:
            allowed_f = allowed.float()
            mode = i["mix_mode"][:, None, None, None]
            perm = i["mix_perm"][:, None, None, :]
        # per-layer controls reshaped once to their broadcast rank, so that a layer takes its slice with one Gather
        # instead of Gather + Unsqueeze chains: [B,L,H] -> [B,L,H,1,1], [B,L,S] -> [B,L,1,1,S], [B,L,H,S] -> [B,L,H,1,S]
        nl = len(self.lm.layers)
        per_head = lambda n: _Reshape.apply(i[n], (-1, nl, h, 1, 1))
        per_key = lambda n: _Reshape.apply(i[n], (0, nl, 1, 1, -1))
        c = {}
        if "attn_bias" in ed:
            c["attn_bias"] = _Reshape.apply(i["attn_bias"], (0, nl, h, 1, -1))
        if "amp" in ed:
            c["amp"], c["amp_mask"] = per_head("amp"), per_key("amp_mask")
        if "focus" in ed:
            c["focus_k"] = _Reshape.apply(i["focus_k"], (-1, nl, 1, 1))
            c["focus_logw"], c["query_mask"] = per_key("focus_logw"), per_key("query_mask")
        if "redist" in ed:
            c["redist"], c["sink_mask"], c["target_mask"] = per_head("redist"), per_key("sink_mask"), per_key("target_mask")
            c["redist_gate"] = _Reshape.apply(i["redist_gate"], (-1, nl, 2, 1, 1, 1))
        if "mix" in ed:
            c["mix"], c["mix_alt"] = per_head("mix"), _Reshape.apply(i["mix_alt"], (0, nl, h, 1, -1))
        if "head_scale" in ed:
            c["head_scale"] = per_head("head_scale")
        out = {k: [] for k in ("present_kv", "attn_last", "attn_query", "attn_heads", "head_out", "sink_score",
                               "pair_heads")}
        for l, layer in enumerate(self.lm.layers):
            if "sink_score" in pr:
                rms = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
                out["sink_score"].append(torch.index_select(rms, 2, self.sink_dims).abs().amax(-1))  # [B,T]
            att = layer.self_attn
            y = layer.input_layernorm(x)
            q = rotate(heads(att.q_proj(y)), cos, sin, dh)
            k = torch.cat([past_kv[l, 0], rotate(heads(att.k_proj(y)), cos, sin, dh)], 2)
            v = torch.cat([past_kv[l, 1], heads(att.v_proj(y))], 2)
            out["present_kv"].append(torch.stack([k, v]))
            a = q @ k.transpose(-1, -2) / math.sqrt(dh)                                  # [B,H,T,S]
            if "attn_bias" in ed:
                a = torch.where(edit, a + c["attn_bias"][:, l], a)
            if "amp" in ed:
                amp_l = c["amp"][:, l]
                a = torch.where(edit & (amp_l != 0), a + amp_l * c["amp_mask"][:, l] * a.abs(), a)
            A = torch.softmax(torch.where(allowed, a, _NEG), -1)
            if "focus" in ed:
                k_l = c["focus_k"][:, l]
                A = torch.where(rowm & (k_l[..., None] > 0), focus(A, vis, c["focus_logw"][:, l], k_l, c["query_mask"][:, l]), A)
            if "redist" in ed:
                frac = c["redist"][:, l]
                gate_l = c["redist_gate"][:, l]
                moved, gate = redistribute(A, vis, c["sink_mask"][:, l], c["target_mask"][:, l], frac, gate_l[:, 0],
                                           gate_l[:, 1])
                A = torch.where(rowm & gate & (frac > 0), moved, A)
            if "mix" in ed:
                m = c["mix"][:, l]
                cf = counterfactual(A, allowed_f, mode, c["mix_alt"][:, l], perm)
                A = torch.where(rowm & (m != 0), (1 - m) * A + m * cf, A)
            if "attn_last" in pr:
                out["attn_last"].append(A[:, :, -1])
            if "attn_query" in pr:
                out["attn_query"].append(A.mean(1))
            if "attn_heads" in pr:
                out["attn_heads"].append(A)
            o = A @ v                                                                    # [B,H,T,Dh]
            if "head_out" in pr:
                out["head_out"].append(o[:, :, -1])
            if "pair" in ed:
                alpha = i["pair_alpha"][:, l]
                pair_row = i["pair_row"]
                active = (pair_row >= 0) & (alpha != 1)
                sel = pair_heads(o[:, :, -1], pair_row) & active[:, None]                # [B,H]
                out["pair_heads"].append(sel.float())
                o = torch.where(rowm & sel[:, :, None, None], o * alpha[:, None, None, None], o)
            if "head_scale" in ed:
                o = torch.where(rowm, o * c["head_scale"][:, l], o)
            x = x + att.o_proj(_Reshape.apply(o.transpose(1, 2), (0, -1, h * dh)))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        res = {"logits": self.lm.lm_head(self.lm.norm(x[:, -1])), "present_kv": torch.stack(out["present_kv"])}
        for name in ("attn_last", "attn_query", "head_out", "sink_score", "pair_heads"):
            if out[name]:
                res[name] = torch.stack(out[name], 1)
        if out["attn_heads"]:
            res["attn_heads"] = torch.index_select(torch.stack(out["attn_heads"]), 0, i["probe_layer"].reshape(1))[0]
        return tuple(res[n] for n in self.outputs)


class _Reshape(torch.autograd.Function):
    """x.reshape(shape) where a 0 keeps x's size on that axis (ONNX Reshape semantics). Exported as one Reshape with
    a constant shape: `x.view(b, t, ...)` with b, t read from x.shape traces to a Shape/Gather/Unsqueeze/Concat
    chain per reshape, and ONNX Runtime pays per node on every decode step."""

    @staticmethod
    def forward(ctx, x, shape):
        return x.reshape([x.shape[i] if n == 0 else n for i, n in enumerate(shape)])

    @staticmethod
    def symbolic(g, x, shape):
        return g.op("Reshape", x, g.op("Constant", value_t=torch.tensor(shape, dtype=torch.long)))


class PlainDecoder(nn.Module):
    """decoder_plain.onnx: the same decoder without controls, for calls where every row is neutral and only
    `attn_last` is probed (the visual attention ratio). Same inputs/outputs as decoder.onnx where they overlap;
    it exists because the gated ops cost per-node overhead on every step even when neutral. The same arithmetic as
    `vlm.TextModel` / `DecoderAbi` op for op (bit for bit in eager, tested), written for a small graph: constant
    reshapes, rotary angles and the mask computed once per call instead of once per layer."""

    def __init__(self, vlm: Vlm):
        super().__init__()
        self.lm = vlm.language_model
        c = vlm.c
        self.heads, self.head_dim, self.theta = c.text_heads, c.text_dim // c.text_heads, c.rope_theta

    def forward(self, inputs_embeds, position_ids, key_mask, past_kv):
        x = inputs_embeds
        t = x.shape[1]
        s = key_mask.shape[1]
        h, dh = self.heads, self.head_dim
        q_abs = torch.arange(t)[:, None] + (s - t)
        allowed = ((torch.arange(s)[None, :] <= q_abs)[None] & (key_mask[:, None, :] > 0))[:, None]
        neg = torch.tensor(NEG)
        cos, sin = rope_angles(position_ids, dh, self.theta)
        heads = lambda y: _Reshape.apply(y, (0, -1, h, dh)).transpose(1, 2)             # [B,T,D] -> [B,H,T,Dh]
        presents, attn_last = [], []
        for l, layer in enumerate(self.lm.layers):
            att = layer.self_attn
            y = layer.input_layernorm(x)
            q = rotate(heads(att.q_proj(y)), cos, sin, dh)
            k = torch.cat([past_kv[l, 0], rotate(heads(att.k_proj(y)), cos, sin, dh)], 2)
            v = torch.cat([past_kv[l, 1], heads(att.v_proj(y))], 2)
            presents.append(torch.stack([k, v]))
            a = q @ k.transpose(-1, -2) / math.sqrt(dh)
            A = torch.softmax(torch.where(allowed, a, neg), -1)
            attn_last.append(A[:, :, -1])
            x = x + att.o_proj(_Reshape.apply((A @ v).transpose(1, 2), (0, -1, h * dh)))
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.lm.lm_head(self.lm.norm(x[:, -1]))
        return logits, torch.stack(presents), torch.stack(attn_last, 1)


class VisionAbi(nn.Module):
    """vision.onnx: ViT with counterfactual attention mix and probes, then patch_scale and the projector."""

    def __init__(self, vlm: Vlm, feature_layers: int):
        super().__init__()
        self.tower = vlm.vision_tower
        self.projector = vlm.multi_modal_projector
        self.n_layers = feature_layers          # layers run: LLaVA takes hidden_states[vision_feature_layer]

    def forward(self, pixel_values, patch_scale, mix, mix_alt, probe_layer):
        x = self.tower.embed(pixel_values)
        cls_attn, maps = [], []
        for l in range(self.n_layers):
            layer = self.tower.layers[l]
            att = layer.self_attn
            q, k, v = att.qkv(layer.layer_norm1(x))
            A = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), -1)             # [B,Hv,N+1,N+1]
            m = mix[:, l, :, None, None]
            A = torch.where(m != 0, (1 - m) * A + m * mix_alt[:, l], A)
            maps.append(A)
            cls_attn.append(A[:, :, 0, 1:].sum(1))
            x = x + att.merge(A @ v)
            x = x + layer.mlp(layer.layer_norm2(x))
        feats = x[:, 1:] * patch_scale[..., None]
        vision_attn = torch.index_select(torch.stack(maps), 0, probe_layer.reshape(1))[0]
        return self.projector(feats), torch.stack(cls_attn, 1), vision_attn


class EmbedAbi(nn.Module):
    def __init__(self, vlm: Vlm):
        super().__init__()
        self.embed = vlm.language_model.embed_tokens

    def forward(self, input_ids):
        return self.embed(input_ids)


def neutral_decoder_inputs(c, inputs_embeds, position_ids, key_mask, past_kv=None):
    """Neutral controls for a call: plain decoding exactly."""
    b, t, _ = inputs_embeds.shape
    s = key_mask.shape[1]
    L, H = c.text_layers, c.text_heads
    dh = c.text_dim // H
    if past_kv is None:
        past_kv = torch.zeros(L, 2, b, H, s - t, dh)
    z = lambda *shape: torch.zeros(*shape)
    return dict(
        inputs_embeds=inputs_embeds, position_ids=position_ids, key_mask=key_mask,
        row_mask=torch.ones(b, t), visual_mask=z(b, s), past_kv=past_kv,
        attn_bias=z(b, L, H, s), amp=z(b, L, H), amp_mask=z(b, L, s),
        mix=z(b, L, H), mix_mode=torch.zeros(b, dtype=torch.long), mix_alt=z(b, L, H, s),
        mix_perm=torch.arange(s)[None].repeat(b, 1),
        redist=z(b, L, H), redist_gate=z(b, L, 2), sink_mask=z(b, L, s), target_mask=z(b, L, s),
        focus_logw=z(b, L, s), focus_k=torch.zeros(b, L, dtype=torch.long), query_mask=z(b, L, s),
        head_scale=torch.ones(b, L, H), pair_row=torch.full((b,), -1, dtype=torch.long), pair_alpha=torch.ones(b, L),
        probe_layer=torch.tensor(0, dtype=torch.long))


def neutral_vision_inputs(c, pixel_values, feature_layers):
    b = pixel_values.shape[0]
    n = c.num_patches + 1
    return dict(pixel_values=pixel_values, patch_scale=torch.ones(b, c.num_patches),
                mix=torch.zeros(b, feature_layers, c.vision_heads), mix_alt=torch.zeros(b, feature_layers, c.vision_heads, n, n),
                probe_layer=torch.tensor(feature_layers - 1, dtype=torch.long))
