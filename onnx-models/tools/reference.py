"""Eager PyTorch reference of the shipped model: greedy and seeded (portable) sampling with a KV cache,
batch rows with left padding, the ABI's controls, and the benchmark metrics.

    /usr/bin/python3 onnx-models/tools/reference.py generate --image onnx-models/samples/scene-a.png --prompt "describe the image ."
    /usr/bin/python3 onnx-models/tools/reference.py eval [--limit 100]          # metrics table on shapes-v1
    /usr/bin/python3 onnx-models/tools/reference.py bench --batch 1 --tokens 24  # eager tokens/s and TTFT (JSON)
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

import safetensors_io
import text
from abi import DecoderAbi, VisionAbi, neutral_decoder_inputs, neutral_vision_inputs
from vlm import Config, Vlm

HERE = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(HERE)
DEFAULT_MODEL = os.path.join(MODELS, "shapes-vlm")
DEFAULT_BENCH = os.path.join(MODELS, "benchmarks", "shapes-v1")


class Reference:
    """The model loaded from an export directory (weights.safetensors + model.json)."""

    def __init__(self, model_dir=DEFAULT_MODEL):
        with open(os.path.join(model_dir, "model.json")) as f:
            self.meta = json.load(f)
        self.c = Config(**self.meta["torch_config"])
        self.model = Vlm(self.c).eval()
        self.model.load_state_dict(safetensors_io.load(os.path.join(model_dir, "weights.safetensors")))
        self.layers_v = self.meta["vision"]["layers"]
        self.decoder = DecoderAbi(self.model, self.meta["sink_dims"]).eval()
        self.vision = VisionAbi(self.model, self.layers_v).eval()
        self.image_id = self.meta["special_tokens"]["image_id"]
        self.eos_id = self.meta["special_tokens"]["eos_id"]

    def pixels(self, path_or_array):
        """RGB image -> normalised [3,H,W] as model.json says (resize: box, PIL Image.BOX)."""
        img = Image.open(path_or_array).convert("RGB") if isinstance(path_or_array, str) \
            else Image.fromarray(path_or_array)
        size = self.meta["image"]["size"]
        if img.size != (size, size):
            img = img.resize((size, size), Image.BOX)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
        mean = torch.tensor(self.meta["image"]["mean"])[:, None, None]
        std = torch.tensor(self.meta["image"]["std"])[:, None, None]
        return (x - mean) / std


@dataclass
class Row:
    """One batch row: prompt ids (with or without the <image> token) and its image embeddings."""
    ids: list
    image_embeds: torch.Tensor | None = None     # [N,D]
    pad: int = 0
    info: dict = field(default_factory=dict)


def row_embeds(ref: Reference, row: Row):
    e = ref.model.language_model.embed_tokens(torch.tensor(row.ids))
    if ref.image_id in row.ids:
        i = row.ids.index(ref.image_id)
        e = torch.cat([e[:i], row.image_embeds, e[i + 1:]], 0)
    return e


def spans(ref: Reference, row: Row):
    """Key index ranges of a row's prompt after left padding (the golden key sets)."""
    n = ref.c.num_patches
    length = len(row.ids) + (n - 1 if ref.image_id in row.ids else 0)
    out = {"pad": row.pad, "length": length}
    if ref.image_id in row.ids:
        i = row.ids.index(ref.image_id)
        out["image"] = (row.pad + i, row.pad + i + n)
        out["question"] = (row.pad + i + n, row.pad + length - 2)   # "... assistant :" closes the prompt
    return out


class PortableSampler:
    """SplitMix64-driven sampling that Java reproduces exactly (see onnx-models/README.md)."""
    MASK = (1 << 64) - 1

    def __init__(self, seed, temperature=1.0, top_k=0, top_p=1.0):
        self.state = seed & self.MASK
        self.temperature, self.top_k, self.top_p = temperature, top_k, top_p

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def sample(self, logits: torch.Tensor) -> int:
        u = (self.next_u64() >> 11) * 2.0 ** -53
        x = logits.double() / self.temperature
        p = torch.softmax(x, -1).tolist()
        order = sorted(range(len(p)), key=lambda i: (-p[i], i))
        if self.top_k > 0:
            order = order[: self.top_k]
        if self.top_p < 1.0:
            cum, keep = 0.0, []
            for i in order:
                keep.append(i)
                cum += p[i]
                if cum >= self.top_p:
                    break
            order = keep
        total = sum(p[i] for i in order)
        cum = 0.0
        for i in order:
            cum += p[i] / total
            if cum > u:
                return i
        return order[-1]


def decode_loop(ref: Reference, rows, max_new_tokens, choose, controls=None, on_prefill=None, stop_on_eos=True):
    """Prefill + KV-cache decode over batch rows; every row receives the main row's (row 0) token.
    `controls(call_inputs, rows, t)` may edit the neutral inputs of each call. Returns tokens and per-step logits."""
    embeds = [row_embeds(ref, r) for r in rows]
    s0 = max(e.shape[0] for e in embeds)
    for r, e in zip(rows, embeds):
        r.pad = s0 - e.shape[0]
        r.info = spans(ref, r)
    x = torch.stack([torch.cat([torch.zeros(r.pad, e.shape[1]), e]) for r, e in zip(rows, embeds)])
    key_mask = torch.stack([torch.cat([torch.zeros(r.pad), torch.ones(e.shape[0])]) for r, e in zip(rows, embeds)])
    pos = torch.stack([torch.clamp(torch.arange(s0) - r.pad, min=0) for r in rows])
    past, tokens, steps = None, [], []
    with torch.no_grad():
        for step in range(max_new_tokens):
            inputs = neutral_decoder_inputs(ref.c, x, pos, key_mask, past)
            if controls:
                controls(inputs, rows, step)
            out = ref.decoder(**inputs)
            if step == 0 and on_prefill:
                on_prefill(out, inputs)
            logits = out[0]
            past = out[1]
            tok = choose(logits[0])
            steps.append(logits[0].clone())
            tokens.append(tok)
            if stop_on_eos and tok == ref.eos_id:
                break
            x = ref.model.language_model.embed_tokens(torch.tensor([[tok]] * len(rows)))
            pos = pos[:, -1:] + 1
            key_mask = torch.cat([key_mask, torch.ones(len(rows), 1)], 1)
    return tokens, steps


def image_embeds(ref: Reference, pixels, vision_controls=None):
    with torch.no_grad():
        vin = neutral_vision_inputs(ref.c, pixels[None], ref.layers_v)
        if vision_controls:
            vision_controls(vin)
        return ref.vision(**vin)


def generate(ref: Reference, pixels, prompt, max_new_tokens=24, sampler=None):
    """One main row, neutral controls; greedy unless a PortableSampler is given."""
    emb = image_embeds(ref, pixels)[0][0]
    choose = sampler.sample if sampler else (lambda l: int(torch.argmax(l)))
    toks, _ = decode_loop(ref, [Row(text.prompt_ids(prompt), emb)], max_new_tokens, choose)
    return toks


# ---------------------------------------------------------------- batched plain decoding for metrics

def greedy_batch(ref: Reference, pixel_batch, prompts, max_new_tokens):
    """Plain eager model (no ABI), left-padded batch, greedy. Returns decoded strings."""
    lm = ref.model.language_model
    with torch.no_grad():
        img, _, _ = ref.model.image_features(pixel_batch)
        rows = [Row(text.prompt_ids(p), img[i]) for i, p in enumerate(prompts)]
        embeds = [row_embeds(ref, r) for r in rows]
        s0 = max(e.shape[0] for e in embeds)
        pads = [s0 - e.shape[0] for e in embeds]
        x = torch.stack([torch.cat([torch.zeros(p, e.shape[1]), e]) for p, e in zip(pads, embeds)])
        key_mask = torch.stack([torch.cat([torch.zeros(p), torch.ones(s0 - p)]) for p in pads])
        pos = torch.stack([torch.clamp(torch.arange(s0) - p, min=0) for p in pads])
        past, out, done = None, [[] for _ in prompts], [False] * len(prompts)
        for _ in range(max_new_tokens):
            logits, past = lm(x, pos, key_mask, past)
            tok = torch.argmax(logits[:, -1], -1)
            for i, t in enumerate(tok.tolist()):
                if not done[i]:
                    if t == ref.eos_id:
                        done[i] = True
                    else:
                        out[i].append(t)
            if all(done):
                break
            x = lm.embed_tokens(tok[:, None])
            pos = pos[:, -1:] + 1
            key_mask = torch.cat([key_mask, torch.ones(len(prompts), 1)], 1)
    return [text.decode(o) for o in out]


def run_items(ref: Reference, bench_dir, items, prompt_key, max_new_tokens, batch=32):
    answers = []
    for i in range(0, len(items), batch):
        chunk = items[i:i + batch]
        pix = torch.stack([ref.pixels(os.path.join(bench_dir, it["image"])) for it in chunk])
        answers += greedy_batch(ref, pix, [it[prompt_key] for it in chunk], max_new_tokens)
    return answers


# ---------------------------------------------------------------- metrics

def yes(answer: str) -> bool:
    return answer.strip().lower().startswith("yes")


def pope_metrics(labels, answers):
    tp = sum(1 for l, a in zip(labels, answers) if l == "yes" and yes(a))
    fp = sum(1 for l, a in zip(labels, answers) if l == "no" and yes(a))
    tn = sum(1 for l, a in zip(labels, answers) if l == "no" and not yes(a))
    fn = sum(1 for l, a in zip(labels, answers) if l == "yes" and not yes(a))
    n = len(labels)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"n": n, "accuracy": (tp + tn) / n, "precision": prec, "recall": rec, "f1": f1, "yes_ratio": (tp + fp) / n}


def mentioned_objects(caption: str, synonyms: dict):
    words = re.findall(r"\w+", caption.lower())
    found = []
    for obj, names in synonyms.items():
        found += [obj for w in words if w in names]
    return found


def chair_metrics(items, answers, synonyms):
    mentions = halluc = sentences_h = 0
    for it, a in zip(items, answers):
        objs = mentioned_objects(a, synonyms)
        bad = [o for o in objs if o not in it["objects"]]
        mentions += len(objs)
        halluc += len(bad)
        sentences_h += bool(bad)
    return {"n": len(items), "chair_s": sentences_h / len(items), "chair_i": halluc / mentions if mentions else 0.0}


def sycophancy_metrics(items, neutral, leading):
    right = [(n, l) for it, n, l in zip(items, neutral, leading) if yes(n) == (it["label"] == "yes")]
    flips = sum(1 for n, l in right if yes(l) != yes(n))
    return {"n": len(items), "neutral_correct": len(right), "flip_rate": flips / len(right) if right else 0.0}


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def evaluate(ref: Reference, bench_dir=DEFAULT_BENCH, limit=None):
    res = {}
    for split in ("random", "popular", "adversarial"):
        items = read_jsonl(os.path.join(bench_dir, f"pope-{split}.jsonl"))[:limit]
        answers = run_items(ref, bench_dir, items, "text", 3)
        res[f"pope-{split}"] = pope_metrics([it["label"] for it in items], answers)
    with open(os.path.join(bench_dir, "synonyms.json")) as f:
        synonyms = json.load(f)
    items = read_jsonl(os.path.join(bench_dir, "captions.jsonl"))[:limit]
    res["chair"] = chair_metrics(items, run_items(ref, bench_dir, items, "text", 32), synonyms)
    items = read_jsonl(os.path.join(bench_dir, "sycophancy.jsonl"))[:limit]
    res["sycophancy"] = sycophancy_metrics(items, run_items(ref, bench_dir, items, "neutral", 3),
                                           run_items(ref, bench_dir, items, "leading", 3))
    items = read_jsonl(os.path.join(bench_dir, "fine-grained.jsonl"))[:limit]
    answers = run_items(ref, bench_dir, items, "text", 4)
    res["fine-grained"] = {"n": len(items), "accuracy": sum(a.strip() == it["answer"] for it, a in zip(items, answers)) / len(items)}
    return res


def metrics_table(res):
    lines = ["| set | n | metric | value |", "|---|---|---|---|"]
    for split in ("random", "popular", "adversarial"):
        m = res[f"pope-{split}"]
        for k in ("accuracy", "precision", "recall", "f1", "yes_ratio"):
            lines.append(f"| POPE {split} | {m['n']} | {k} | {100 * m[k]:.1f}% |")
    lines.append(f"| CHAIR captions | {res['chair']['n']} | CHAIR_S | {100 * res['chair']['chair_s']:.1f}% |")
    lines.append(f"| CHAIR captions | {res['chair']['n']} | CHAIR_I | {100 * res['chair']['chair_i']:.1f}% |")
    s = res["sycophancy"]
    lines.append(f"| sycophancy pairs | {s['n']} ({s['neutral_correct']} neutral right) | flip rate | {100 * s['flip_rate']:.1f}% |")
    lines.append(f"| fine-grained | {res['fine-grained']['n']} | accuracy | {100 * res['fine-grained']['accuracy']:.1f}% |")
    d = res["pope-random"]["f1"] - res["pope-adversarial"]["f1"]
    lines.append(f"| POPE random F1 - adversarial F1 | | gap | {100 * d:.1f} points |")
    return "\n".join(lines)


def bench(ref: Reference, batch, tokens, repeats=3):
    """Eager decode speed on the sample images: TTFT (vision + prefill + first token) and decode tokens/s."""
    samples = sorted(os.listdir(os.path.join(MODELS, "samples")))
    pix = torch.stack([ref.pixels(os.path.join(MODELS, "samples", samples[i % len(samples)])) for i in range(batch)])
    prompt = "describe the image ."
    lm = ref.model.language_model
    ttft, tps = [], []
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            img, _, _ = ref.model.image_features(pix)
            rows = [Row(text.prompt_ids(prompt), img[i]) for i in range(batch)]
            x = torch.stack([row_embeds(ref, r) for r in rows])
            s = x.shape[1]
            key_mask = torch.ones(batch, s)
            pos = torch.arange(s)[None].repeat(batch, 1)
            logits, past = lm(x, pos, key_mask)
            tok = torch.argmax(logits[:, -1], -1)
            t1 = time.perf_counter()
            for _ in range(tokens - 1):
                x = lm.embed_tokens(tok[:, None])
                pos = pos[:, -1:] + 1
                key_mask = torch.cat([key_mask, torch.ones(batch, 1)], 1)
                logits, past = lm(x, pos, key_mask, past)
                tok = torch.argmax(logits[:, -1], -1)
            t2 = time.perf_counter()
            ttft.append(t1 - t0)
            tps.append(batch * (tokens - 1) / (t2 - t1))
    return {"engine": "pytorch-eager", "batch": batch, "tokens": tokens, "ttft_ms": 1000 * min(ttft),
            "decode_tokens_per_s": max(tps), "threads": torch.get_num_threads()}


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--image", required=True)
    g.add_argument("--prompt", required=True)
    g.add_argument("--max-new-tokens", type=int, default=24)
    g.add_argument("--temperature", type=float, default=0.0)
    g.add_argument("--top-k", type=int, default=0)
    g.add_argument("--top-p", type=float, default=1.0)
    g.add_argument("--seed", type=int, default=0)
    e = sub.add_parser("eval")
    e.add_argument("--limit", type=int)
    e.add_argument("--bench", default=DEFAULT_BENCH)
    e.add_argument("--json", help="also write the metrics as JSON here")
    b = sub.add_parser("bench")
    b.add_argument("--batch", type=int, default=1)
    b.add_argument("--tokens", type=int, default=24)
    for p in (g, e, b):
        p.add_argument("--model", default=DEFAULT_MODEL)
        p.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    ref = Reference(args.model)
    if args.cmd == "generate":
        sampler = PortableSampler(args.seed, args.temperature, args.top_k, args.top_p) if args.temperature > 0 else None
        toks = generate(ref, ref.pixels(args.image), args.prompt, args.max_new_tokens, sampler)
        print(json.dumps({"tokens": toks, "text": text.decode(toks)}))
    elif args.cmd == "eval":
        t0 = time.time()
        res = evaluate(ref, args.bench, args.limit)
        print(metrics_table(res))
        print(f"({time.time() - t0:.0f}s)", file=sys.stderr)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(res, f, indent=1)
    else:
        print(json.dumps(bench(ref, args.batch, args.tokens)))


if __name__ == "__main__":
    main()
