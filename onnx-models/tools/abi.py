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


def _renorm(x):
    """Rows of x divided by their sum over the last axis; a zero row stays zero."""
    s = x.sum(-1, keepdim=True)
    return x / torch.where(s > 0, s, torch.ones_like(s))


def topk_mask(score, k):
    """1 where a head is among the k highest of `score` over axis 1 (heads); ties go to the lower index.
    score [B,H,T], k [B,1,1] -> bool [B,H,T]. Written with comparisons so ONNX needs no dynamic TopK."""
    h = score.shape[1]
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
    w = torch.where(vis > 0, torch.exp(logw), torch.ones_like(logw))
    num = (A * vis * w * hv).sum((1, 3), keepdim=True)      # [B,1,T,1]
    den = (A * vis * hv).sum((1, 3), keepdim=True)
    r = torch.where(den > 0, num / torch.where(den > 0, den, torch.ones_like(den)), torch.ones_like(den))
    mult = torch.where(hv & (vis > 0), w, torch.ones_like(A)) * torch.where(hq & (qmask > 0), r, torch.ones_like(A))
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
    moved = A - frac * A * sink + frac * ssum * A * target / torch.where(tsum > 0, tsum, torch.ones_like(tsum))
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
    h = vhd.shape[1]

    def above(x):
        m = x.mean(1, keepdim=True)
        sd = ((x - m).pow(2).sum(1, keepdim=True) / (h - 1)).sqrt()
        return x > m + sd

    vhd = torch.where(above(vhd) & above(ta), torch.zeros_like(vhd), vhd)
    median = torch.sort(vhd, 1)[0][:, (h - 1) // 2: (h - 1) // 2 + 1]
    return vhd > median


class DecoderAbi(nn.Module):
    """decoder.onnx: one graph for prefill and decode over batch rows with controls and probes."""

    def __init__(self, vlm: Vlm, sink_dims):
        super().__init__()
        self.lm = vlm.language_model
        self.register_buffer("sink_dims", torch.tensor(list(sink_dims), dtype=torch.long))

    def forward(self, inputs_embeds, position_ids, key_mask, row_mask, visual_mask, past_kv,
                attn_bias, amp, amp_mask, mix, mix_mode, mix_alt, mix_perm,
                redist, redist_gate, sink_mask, target_mask,
                focus_logw, focus_k, query_mask, head_scale, pair_row, pair_alpha, probe_layer):
        x = inputs_embeds
        b, t, _ = x.shape
        s = key_mask.shape[1]
        p = s - t
        q_abs = torch.arange(t)[:, None] + p
        allowed = ((torch.arange(s)[None, :] <= q_abs)[None] & (key_mask[:, None, :] > 0))[:, None]  # [B,1,T,S]
        rowm = (row_mask > 0)[:, None, :, None]                                                   # [B,1,T,1]
        vis = visual_mask[:, None, None, :]
        presents, attn_last, attn_query, heads_all, head_out, sinks, chosen = [], [], [], [], [], [], []
        for l, layer in enumerate(self.lm.layers):
            rms = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6)
            sinks.append(torch.index_select(rms, 2, self.sink_dims).abs().amax(-1))           # [B,T]
            att = layer.self_attn
            q, k, v = att.qkv(layer.input_layernorm(x), position_ids)
            k = torch.cat([past_kv[l, 0], k], 2)
            v = torch.cat([past_kv[l, 1], v], 2)
            presents.append(torch.stack([k, v]))
            a = q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1])                                 # [B,H,T,S]
            edit = rowm & allowed
            a = torch.where(edit, a + attn_bias[:, l, :, None, :], a)
            amp_l = amp[:, l, :, None, None]
            a = torch.where(edit & (amp_l != 0), a + amp_l * amp_mask[:, l, None, None, :] * a.abs(), a)
            A = torch.softmax(torch.where(allowed, a, torch.full_like(a, NEG)), -1)
            k_l = focus_k[:, l, None, None]
            A = torch.where(rowm & (k_l[..., None] > 0),
                            focus(A, vis, focus_logw[:, l, None, None, :], k_l, query_mask[:, l, None, None, :]), A)
            frac = redist[:, l, :, None, None]
            moved, gate = redistribute(A, vis, sink_mask[:, l, None, None, :], target_mask[:, l, None, None, :],
                                       frac, redist_gate[:, l, 0, None, None, None], redist_gate[:, l, 1, None, None, None])
            A = torch.where(rowm & gate & (frac > 0), moved, A)
            m = mix[:, l, :, None, None]
            cf = counterfactual(A, allowed.float(), mix_mode[:, None, None, None], mix_alt[:, l, :, None, :],
                                mix_perm[:, None, None, :])
            A = torch.where(rowm & (m != 0), (1 - m) * A + m * cf, A)
            attn_last.append(A[:, :, -1])
            attn_query.append(A.mean(1))
            heads_all.append(A)
            o = A @ v                                                                            # [B,H,T,Dh]
            head_out.append(o[:, :, -1])
            alpha = pair_alpha[:, l]
            active = (pair_row >= 0) & (alpha != 1)
            sel = pair_heads(o[:, :, -1], pair_row) & active[:, None]                            # [B,H]
            chosen.append(sel.float())
            o = torch.where(rowm & sel[:, :, None, None], o * alpha[:, None, None, None], o)
            o = torch.where(rowm, o * head_scale[:, l, :, None, None], o)
            x = x + att.merge(o)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        logits = self.lm.lm_head(self.lm.norm(x[:, -1]))
        attn_heads = torch.index_select(torch.stack(heads_all), 0, probe_layer.reshape(1))[0]
        return (logits, torch.stack(presents), torch.stack(attn_last, 1), torch.stack(attn_query, 1), attn_heads,
                torch.stack(head_out, 1), torch.stack(sinks, 1), torch.stack(chosen, 1))


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
