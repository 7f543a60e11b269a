"""A LLaVA-architecture VLM in miniature: ViT (conv stem, CLS, pre-norm) -> 2-layer MLP projector ->
LLaMA-style decoder (RoPE, RMSNorm, SwiGLU, multi-head attention, KV cache).

Parameter names follow the Hugging Face LLaVA layout (`vision_tower.*`, `multi_modal_projector.*`,
`language_model.*`) so that the exporter treats this model and a real LLaVA-1.5 checkpoint alike.
This file is the plain model (training and the eager reference); `abi.py` adds the controls and probes.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    image_size: int = 48
    patch_size: int = 8
    vision_dim: int = 128
    vision_layers: int = 3
    vision_heads: int = 4
    vision_mlp: int = 256
    stem_channels: int = 32         # conv stem before the patch embedding (0: plain patch embedding)
    text_dim: int = 192
    text_layers: int = 4
    text_heads: int = 6
    text_mlp: int = 512
    vocab_size: int = 64
    rope_theta: float = 10000.0
    rms_eps: float = 1e-5
    vision_eps: float = 1e-5
    num_shapes: int = 8             # auxiliary presence head on the CLS token (training aid)
    vision_act: str = "gelu"        # CLIP (LLaVA-1.5) uses quick_gelu
    patch_bias: bool = True         # CLIP's patch embedding has no bias
    vision_feature_layer: int = -1  # as HF LLaVA: hidden_states index whose patches feed the projector (-2 in LLaVA-1.5)

    @property
    def grid(self):
        return self.image_size // self.patch_size

    @property
    def feature_layers(self):
        """ViT layers run: hidden_states[k] is the output after k layers (index 0 = embeddings)."""
        k = self.vision_feature_layer
        return k if k >= 0 else self.vision_layers + 1 + k

    @property
    def num_patches(self):
        return self.grid * self.grid

    def to_dict(self):
        return asdict(self)


class VisionAttention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        d = c.vision_dim
        self.heads = c.vision_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))

    def qkv(self, x):
        b, n, d = x.shape
        h = self.heads
        shape = lambda t: t.view(b, n, h, d // h).transpose(1, 2)
        return shape(self.q_proj(x)), shape(self.k_proj(x)), shape(self.v_proj(x))

    def forward(self, x):
        q, k, v = self.qkv(x)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
        return self.merge(w @ v), w

    def merge(self, o):
        b, h, n, dh = o.shape
        return self.out_proj(o.transpose(1, 2).reshape(b, n, h * dh))


class VisionLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.layer_norm1 = nn.LayerNorm(c.vision_dim, eps=c.vision_eps)
        self.self_attn = VisionAttention(c)
        self.layer_norm2 = nn.LayerNorm(c.vision_dim, eps=c.vision_eps)
        self.fc1 = nn.Linear(c.vision_dim, c.vision_mlp)
        self.fc2 = nn.Linear(c.vision_mlp, c.vision_dim)
        self.act = c.vision_act

    def mlp(self, x):
        h = self.fc1(x)
        h = h * torch.sigmoid(1.702 * h) if self.act == "quick_gelu" else F.gelu(h)
        return self.fc2(h)

    def forward(self, x):
        a, w = self.self_attn(self.layer_norm1(x))
        x = x + a
        return x + self.mlp(self.layer_norm2(x)), w


class VisionTower(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        ch = c.stem_channels
        self.stem = nn.Conv2d(3, ch, 3, padding=1) if ch else None
        self.patch_embedding = nn.Conv2d(ch or 3, c.vision_dim, c.patch_size, stride=c.patch_size, bias=c.patch_bias)
        self.class_embedding = nn.Parameter(torch.randn(c.vision_dim) * 0.02)
        self.position_embedding = nn.Parameter(torch.randn(c.num_patches + 1, c.vision_dim) * 0.02)
        self.pre_layrnorm = nn.LayerNorm(c.vision_dim, eps=c.vision_eps)
        self.layers = nn.ModuleList(VisionLayer(c) for _ in range(c.vision_layers))

    def embed(self, pixel_values):
        x = pixel_values
        if self.stem is not None:
            x = F.gelu(self.stem(x))
        x = self.patch_embedding(x).flatten(2).transpose(1, 2)          # [B,N,Dv]
        cls = self.class_embedding.expand(x.shape[0], 1, -1)
        return self.pre_layrnorm(torch.cat([cls, x], 1) + self.position_embedding)

    def forward(self, pixel_values):
        x = self.embed(pixel_values)
        attn = []
        for layer in self.layers[: self.c.feature_layers]:
            x, w = layer(x)
            attn.append(w)
        return x, attn                                                   # selected layer output [B,N+1,Dv]


class Projector(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.linear_1 = nn.Linear(c.vision_dim, c.text_dim)
        self.linear_2 = nn.Linear(c.text_dim, c.text_dim)

    def forward(self, x):
        return self.linear_2(F.gelu(self.linear_1(x)))


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rope_angles(pos, dh, theta):
    """cos and sin of the rotary angles [B,1,T,Dh] for positions pos [B,T]; shared by every layer of a call."""
    inv = 1.0 / (theta ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
    ang = pos.to(torch.float32)[..., None] * inv                        # [B,T,Dh/2]
    ang = torch.cat([ang, ang], -1)[:, None]                            # [B,1,T,Dh]
    return torch.cos(ang), torch.sin(ang)


def rotate(x, cos, sin, dh):
    """Rotary embedding, LLaMA's rotate-half convention. x [B,H,T,Dh]; cos, sin from rope_angles. dh is passed,
    not read from x.shape, so that an exported graph slices at constants."""
    x1, x2 = x[..., : dh // 2], x[..., dh // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def rope(x, pos, theta):
    """Rotary embedding. x [B,H,T,Dh], pos [B,T]."""
    dh = x.shape[-1]
    return rotate(x, *rope_angles(pos, dh, theta), dh)


class TextAttention(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        d = c.text_dim
        self.heads = c.text_heads
        self.theta = c.rope_theta
        self.q_proj, self.k_proj, self.v_proj, self.o_proj = (nn.Linear(d, d, bias=False) for _ in range(4))

    def qkv(self, x, pos):
        b, t, d = x.shape
        h = self.heads
        shape = lambda y: y.view(b, t, h, d // h).transpose(1, 2)
        return rope(shape(self.q_proj(x)), pos, self.theta), rope(shape(self.k_proj(x)), pos, self.theta), \
            shape(self.v_proj(x))

    def merge(self, o):
        b, h, t, dh = o.shape
        return self.o_proj(o.transpose(1, 2).reshape(b, t, h * dh))


class TextLayer(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.input_layernorm = RMSNorm(c.text_dim, c.rms_eps)
        self.self_attn = TextAttention(c)
        self.post_attention_layernorm = RMSNorm(c.text_dim, c.rms_eps)
        self.gate_proj = nn.Linear(c.text_dim, c.text_mlp, bias=False)
        self.up_proj = nn.Linear(c.text_dim, c.text_mlp, bias=False)
        self.down_proj = nn.Linear(c.text_mlp, c.text_dim, bias=False)

    def mlp(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


NEG = -1e9  # finite mask value: masked keys never produce NaN


def causal_mask(key_mask, t):
    """Additive mask [B,1,T,S] from key_mask [B,S] (1 = real key) for the last T queries."""
    s = key_mask.shape[1]
    q = torch.arange(s - t, s)[:, None]
    k = torch.arange(s)[None, :]
    allowed = (k <= q)[None] & (key_mask[:, None, :] > 0)
    return torch.where(allowed, 0.0, NEG)[:, None]


class TextModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.text_dim)
        self.layers = nn.ModuleList(TextLayer(c) for _ in range(c.text_layers))
        self.norm = RMSNorm(c.text_dim, c.rms_eps)
        self.lm_head = nn.Linear(c.text_dim, c.vocab_size, bias=False)

    def forward(self, embeds, pos, key_mask, past=None, layer_inputs=None):
        """Plain decoder. embeds [B,T,D]; key_mask [B,S]; past: list of (k, v) [B,H,P,Dh] or None.
        `layer_inputs`, when a list, receives each layer's residual input [B,T,D] (sink calibration).
        Returns logits [B,T,V], new past."""
        t = embeds.shape[1]
        mask = causal_mask(key_mask, t)
        x, present = embeds, []
        for i, layer in enumerate(self.layers):
            if layer_inputs is not None:
                layer_inputs.append(x)
            att = layer.self_attn
            q, k, v = att.qkv(layer.input_layernorm(x), pos)
            if past is not None:
                k, v = torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2)
            present.append((k, v))
            w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]) + mask, -1)
            x = x + att.merge(w @ v)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        return self.lm_head(self.norm(x)), present


class Vlm(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.vision_tower = VisionTower(c)
        self.multi_modal_projector = Projector(c)
        self.language_model = TextModel(c)
        self.presence_head = nn.Linear(c.vision_dim, c.num_shapes)   # training aid only, not exported

    def image_features(self, pixel_values):
        h, attn = self.vision_tower(pixel_values)
        return self.multi_modal_projector(h[:, 1:]), h[:, 0], attn
