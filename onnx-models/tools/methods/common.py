"""Shared machinery of the method references: a hookable copy of the plain decoder forward, one KV cache per
branch row, the decoding loop, the portable choosers and the shared logit combiners.

Everything here runs on the plain `vlm.Vlm` (never on the ABI graphs of `abi.py`): methods edit attention the
way their official code does, by patching the attention computation (`Hooks`) of an eager forward.

`forward` is `vlm.TextModel.forward` with four hook points and batch size 1 (every branch row of a method is its
own unpadded sequence with its own KV cache, as the official code runs its branches; there is no left padding
and positions of every row start at 0). With the identity hooks it performs exactly the same tensor operations
as `TextModel.forward` and gives the same bits (tested).

Hook points, per decoder layer `l` (`ctx` = the call's `Ctx`):
  layer_input(l, x, ctx)       residual input of the layer [1,T,D] (before input_layernorm); read-only
  scores(l, a, ctx) -> a       pre-softmax logits q.k/sqrt(Dh) [1,H,T,S], before the causal mask is added
                               (edits on allowed keys equal edits after the additive mask, where it is 0)
  weights(l, A, ctx) -> A      post-softmax weights [1,H,T,S]
  head_out(l, o, ctx) -> o     per-head outputs A.V [1,H,T,Dh], before the heads are merged and o_proj
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import text  # noqa: E402
from reference import DEFAULT_MODEL, MODELS, PortableSampler, Reference  # noqa: E402
from vlm import causal_mask  # noqa: E402

NEG_INF = float("-inf")


# ------------------------------------------------------------------ model, prompt, calibration

def load(model_dir=DEFAULT_MODEL) -> Reference:
    """The shipped model (weights.safetensors + model.json) and its calibration.json (if present)."""
    ref = Reference(model_dir)
    path = os.path.join(model_dir, "calibration.json")
    ref.calibration = {}
    if os.path.exists(path):
        with open(path) as f:
            ref.calibration = json.load(f)
    ref.model_dir = model_dir
    return ref


def calibrated(ref, method, key):
    try:
        return ref.calibration["methods"][method][key]["value"]
    except KeyError:
        raise KeyError(f"{method}.{key} is a calibrated parameter: run onnx-models/tools/calibrate.py "
                       f"(or pass it explicitly)") from None


def resolve(params, ref, method):
    """Fill the parameters left at None from calibration.json; returns a new params object."""
    vals = {}
    for f in dataclasses.fields(params):
        v = getattr(params, f.name)
        if v is None and f.metadata.get("calibrated"):
            v = calibrated(ref, method, f.name)
        vals[f.name] = v
    return type(params)(**vals)


def cal_field(doc=""):
    """A dataclass field whose default comes from calibration.json."""
    return dataclasses.field(default=None, metadata={"calibrated": True, "doc": doc})


def params_dict(params):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(params).items()}


def image_embeds(ref, pixels):
    """Projector output [N,D] of one normalised image [3,H,W] (plain tower, no edits)."""
    with torch.no_grad():
        return ref.model.image_features(pixels[None])[0][0]


def prompt_embeds(ref, ids, images):
    """Token embeddings of `ids` with the i-th <image> token replaced by images[i] ([N,D] each)."""
    emb = ref.model.language_model.embed_tokens(torch.tensor(ids))
    parts, k, last = [], 0, 0
    for i, t in enumerate(ids):
        if t == ref.image_id:
            parts += [emb[last:i], images[k]]
            k += 1
            last = i + 1
    parts.append(emb[last:])
    return torch.cat(parts, 0)


def image_span(ref, ids, which=0):
    """Key range [start, end) of the which-th image of a prompt after splicing (no padding)."""
    n = ref.c.num_patches
    k = 0
    for i, t in enumerate(ids):
        if t == ref.image_id:
            if k == which:
                start = i + k * (n - 1)
                return start, start + n
            k += 1
    raise ValueError("no image in prompt")


def question_span(ref, ids):
    """Key range of the user's prompt words: after the (last) image up to before the closing 'assistant :'."""
    n_img = ids.count(ref.image_id)
    length = len(ids) + n_img * (ref.c.num_patches - 1)
    last_img = image_span(ref, ids, n_img - 1)[1] if n_img else ids.index(text.IDS[":"]) + 1
    return last_img, length - 2


def text_only_ids(ref, ids):
    """The same chat prompt with the image token removed (PAI/M3ID/VHR's image-free branch)."""
    return [i for i in ids if i != ref.image_id]


# ------------------------------------------------------------------ hookable forward

class Hooks:
    def layer_input(self, l, x, ctx):
        pass

    def scores(self, l, a, ctx):
        return a

    def weights(self, l, A, ctx):
        return A

    def head_out(self, l, o, ctx):
        return o


NO_HOOKS = Hooks()


@dataclasses.dataclass
class Ctx:
    p: int          # cached keys before this call
    t: int          # new query rows in this call
    step: int       # 0 = prefill (produces generated token 1), k = call that feeds generated token k
    allowed: torch.Tensor  # [1,1,T,S] bool

    @property
    def s(self):
        return self.p + self.t


def forward(lm, x, pos, past, hooks=NO_HOOKS, step=0):
    """TextModel.forward for one row with hooks. x [1,T,D]; pos [1,T]; past list of (k,v) or None.
    Returns logits of the last position [V] and the new past."""
    t = x.shape[1]
    p = 0 if past is None else past[0][0].shape[2]
    mask = causal_mask(torch.ones(1, p + t), t)
    ctx = Ctx(p, t, step, mask == 0)
    present = []
    for i, layer in enumerate(lm.layers):
        hooks.layer_input(i, x, ctx)
        att = layer.self_attn
        q, k, v = att.qkv(layer.input_layernorm(x), pos)
        if past is not None:
            k, v = torch.cat([past[i][0], k], 2), torch.cat([past[i][1], v], 2)
        present.append((k, v))
        a = hooks.scores(i, q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), ctx)
        w = hooks.weights(i, torch.softmax(a + mask, -1), ctx)
        o = hooks.head_out(i, w @ v, ctx)
        x = x + att.merge(o)
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    return lm.lm_head(lm.norm(x))[0, -1], present


class Branch:
    """One batch row of a method: its own prompt, hooks and KV cache. Every generated token is fed to it."""

    def __init__(self, ref, embeds, hooks=NO_HOOKS, name="main", ids=None):
        self.ref, self.embeds, self.hooks, self.name, self.ids = ref, embeds, hooks, name, ids
        self.past, self.length, self.calls = None, 0, 0

    def prefill(self):
        with torch.no_grad():
            t = self.embeds.shape[0]
            logits, self.past = forward(self.ref.model.language_model, self.embeds[None], torch.arange(t)[None],
                                        None, self.hooks, 0)
        self.length, self.calls = t, 1
        return logits

    def feed(self, tok):
        lm = self.ref.model.language_model
        with torch.no_grad():
            x = lm.embed_tokens(torch.tensor([[tok]]))
            logits, self.past = forward(lm, x, torch.tensor([[self.length]]), self.past, self.hooks, self.calls)
        self.length += 1
        self.calls += 1
        return logits


# ------------------------------------------------------------------ decoding

def chooser(decoding):
    """greedy: argmax (ties: lowest id, as torch.argmax); sample: the portable sampler of reference.py."""
    if decoding.get("mode", "greedy") == "sample":
        s = PortableSampler(decoding["seed"], decoding.get("temperature", 1.0), decoding.get("top_k", 0),
                            decoding.get("top_p", 1.0))
        return s.sample
    return lambda l: int(torch.argmax(l))


@dataclasses.dataclass
class Result:
    tokens: list
    steps: list                 # final logits [V] the token of each step was chosen from
    intermediates: dict
    text: str = ""
    params: object = None       # the parameters actually used (calibrated ones resolved)
    row_steps: list = None      # per step, the raw last-position logits of every branch row (None: row not run)


def decode(ref, branches, combine, decoding, intermediates=None, stop_on_eos=True):
    """Lock-step decoding. combine(step, [logits of each branch]) -> final logits of the emitted token.
    A branch set to None by the method (dropped) is not run any more and passes None to combine."""
    choose = chooser(decoding)
    logits = [b.prefill() if b is not None else None for b in branches]
    tokens, steps, rows = [], [], []
    for step in range(decoding["max_new_tokens"]):
        rows.append([None if l is None else l.detach().clone() for l in logits])
        final = combine(step, logits)
        tok = choose(final)
        tokens.append(tok)
        steps.append(final.detach().clone())
        if stop_on_eos and tok == ref.eos_id:
            break
        if step + 1 < decoding["max_new_tokens"]:
            logits = [b.feed(tok) if b is not None else None for b in branches]
    return Result(tokens, steps, intermediates or {}, text.decode(tokens), row_steps=rows)


def plain_generate(ref, pixels, prompt, decoding):
    """Plain decoding on the hookable forward (the baseline every no-op test compares with)."""
    ids = text.prompt_ids(prompt)
    b = Branch(ref, prompt_embeds(ref, ids, [image_embeds(ref, pixels)]), ids=ids)
    return decode(ref, [b], lambda step, ls: ls[0], decoding)


# ------------------------------------------------------------------ combiners

def plausibility_keep(base, beta):
    """VCD's adaptive plausibility constraint on raw logits (or log-probs): keep base >= max(base) + ln(beta)."""
    return base >= base.max() + math.log(beta)


def contrast(l_pos, l_neg, alpha, beta):
    """(1 + alpha) * l_pos - alpha * l_neg, entries with l_pos < max(l_pos) + ln(beta) set to -inf."""
    c = (1 + alpha) * l_pos - alpha * l_neg
    return c.masked_fill(~plausibility_keep(l_pos, beta), NEG_INF)


# ------------------------------------------------------------------ portable random numbers (Java reproduces)

class SplitMix64(PortableSampler):
    """The sampler's generator on its own: u() = (next() >>> 11) * 2^-53 in [0, 1)."""

    def __init__(self, seed):
        super().__init__(seed)

    def u(self):
        return (self.next_u64() >> 11) * 2.0 ** -53

    def gaussian(self, n):
        """n standard normals, Box-Muller in pairs: u1, u2 drawn in that order,
        r = sqrt(-2 ln(1 - u1)); z0 = r cos(2 pi u2), z1 = r sin(2 pi u2); float64."""
        out = []
        while len(out) < n:
            u1, u2 = self.u(), self.u()
            r = math.sqrt(-2.0 * math.log(1.0 - u1))
            out += [r * math.cos(2 * math.pi * u2), r * math.sin(2 * math.pi * u2)]
        return torch.tensor(out[:n], dtype=torch.float64)

    def permutation(self, n):
        """Fisher-Yates: for i = n-1 down to 1, j = floor(u() * (i + 1)), swap(i, j); starts from 0..n-1."""
        perm = list(range(n))
        for i in range(n - 1, 0, -1):
            j = int(self.u() * (i + 1))
            perm[i], perm[j] = perm[j], perm[i]
        return perm


# ------------------------------------------------------------------ small helpers

def top_heads(score, k):
    """Indices of the k largest entries of a 1-D tensor; ties go to the lower index (as abi.topk_mask)."""
    vals = score.tolist()
    return sorted(sorted(range(len(vals)), key=lambda h: (-vals[h], h))[:k])


def top5(logits):
    v = logits.tolist()
    order = sorted(range(len(v)), key=lambda i: (-v[i], i))[:5]
    return [[i, "-inf" if v[i] == NEG_INF else float(f"{v[i]:.6g}")] for i in order]
