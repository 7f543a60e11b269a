"""Write the held-out benchmark sets (seeds below 1e6; training uses 1e6 and up).

    /usr/bin/python3 onnx-models/tools/benchmarks.py --out onnx-models/benchmarks/shapes-v1
"""
from __future__ import annotations

import argparse
import json
import os
import random
from collections import Counter
from itertools import count

from PIL import Image

import text
import world
from train import TRAIN_SEED_BASE

SEEDS = {"pope": 500_000, "captions": 530_000, "sycophancy": 540_000, "fine-grained": 550_000}
POPE_IMAGES = 70
CAPTIONS = 150
SYCOPHANCY = 150
FINE_GRAINED = 150


def cooccurrence(knobs, n=20000):
    """Pair counts over training scenes: what POPE's adversarial split ranks negatives by."""
    c = Counter()
    for i in range(n):
        shapes = world.sample_scene(TRAIN_SEED_BASE + i, knobs).shapes()
        for a in shapes:
            for b in shapes:
                if a != b:
                    c[a, b] += 1
    return c


def frequency(knobs, n=20000):
    return Counter(s for i in range(n) for s in world.sample_scene(TRAIN_SEED_BASE + i, knobs).shapes())


def has_lone_partner(scene, knobs):
    present = set(scene.shapes())
    return any((a in present) != (b in present) for a, b, _ in knobs.cooccurrence)


def save_image(out, scene):
    name = f"images/{scene.seed}.png"
    Image.fromarray(world.render(scene)).save(os.path.join(out, name))
    return name


def write_jsonl(path, rows):
    with open(path, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def pope(out, knobs):
    """Same images for the three splits (as POPE); only the negatives differ."""
    rng = random.Random(1)
    co, freq = cooccurrence(knobs), frequency(knobs)
    scenes = []
    for seed in count(SEEDS["pope"]):
        sc = world.sample_scene(seed, knobs)
        if has_lone_partner(sc, knobs) and len(sc.objects) >= 2:
            scenes.append(sc)
        if len(scenes) == POPE_IMAGES:
            break
    splits = {"random": [], "popular": [], "adversarial": []}
    qid = 0
    for sc in scenes:
        img = save_image(out, sc)
        present = sc.shapes()
        absent = [s for s in world.SHAPES if s not in present]
        pos = rng.sample(present, min(3, len(present)))
        k = len(pos)
        negs = {
            "random": rng.sample(absent, k),
            "popular": sorted(absent, key=lambda s: (-freq[s], s))[:k],
            # POPE ranks by co-occurrence with the ground-truth objects; here: max over present p of P(s | p)
            "adversarial": sorted(absent, key=lambda s: (-max(co[p, s] / freq[p] for p in present), s))[:k],
        }
        for split, neg in negs.items():
            for s, label in [(s, "yes") for s in pos] + [(s, "no") for s in neg]:
                qid += 1
                splits[split].append({"question_id": qid, "image": img, "text": text.exist_q(s), "label": label,
                                      "object": s})
    for split, rows in splits.items():
        write_jsonl(os.path.join(out, f"pope-{split}.jsonl"), rows)
    return {s: len(r) for s, r in splits.items()}


def captions(out, knobs):
    rows = []
    for seed in range(SEEDS["captions"], SEEDS["captions"] + CAPTIONS):
        sc = world.sample_scene(seed, knobs)
        rows.append({"question_id": seed, "image": save_image(out, sc), "text": text.CAPTION_PROMPTS[0],
                     "objects": sc.shapes(), "scene": sc.to_dict()})
    write_jsonl(os.path.join(out, "captions.jsonl"), rows)
    with open(os.path.join(out, "synonyms.json"), "w") as f:
        json.dump({s: [s, s + "s"] for s in world.SHAPES}, f, indent=1)
    return len(rows)


def sycophancy(out, knobs):
    rng = random.Random(2)
    templates = [t for t, _ in knobs.sycophancy]
    rows = []
    for i, seed in enumerate(range(SEEDS["sycophancy"], SEEDS["sycophancy"] + SYCOPHANCY)):
        sc = world.sample_scene(seed, knobs)
        s = rng.choice([x for x in world.SHAPES if x not in sc.shapes()])
        rows.append({"question_id": seed, "image": save_image(out, sc), "neutral": text.exist_q(s),
                     "leading": templates[i % len(templates)].format(s=s), "label": "no", "object": s})
    write_jsonl(os.path.join(out, "sycophancy.jsonl"), rows)
    return len(rows)


def fine_grained(out, knobs):
    rng = random.Random(3)
    rows = []
    for seed in count(SEEDS["fine-grained"]):
        sc = world.sample_scene(seed, knobs)
        hard = [o for o in sc.objects if o.size == "small" or o.contrast == "low"]
        if not hard:
            continue
        o = rng.choice(hard)
        if len(rows) % 2 == 0:
            q, a = f"what colour is the {o.shape} ?", o.colour
        else:
            q, a = "how many objects are there ?", world.COUNT_WORDS[len(sc.objects)]
        rows.append({"question_id": seed, "image": save_image(out, sc), "text": q, "answer": a,
                     "target": o.to_dict()})
        if len(rows) == FINE_GRAINED:
            break
    write_jsonl(os.path.join(out, "fine-grained.jsonl"), rows)
    return len(rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(os.path.join(args.out, "images"), exist_ok=True)
    knobs = world.Knobs()
    counts = {"pope": pope(args.out, knobs), "captions": captions(args.out, knobs),
              "sycophancy": sycophancy(args.out, knobs), "fine-grained": fine_grained(args.out, knobs)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"seeds": SEEDS, "counts": counts, "knobs": world.knobs_dict(knobs)}, f, indent=1)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
