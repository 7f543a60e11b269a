"""Train the ShapeScenes VLM on CPU in one command, seeded, logging loss.

    /usr/bin/python3 onnx-models/tools/train.py --out /tmp/shapes-train [--steps 1000]

Writes checkpoint.pt (model config + weights + knobs) every 250 steps and at the end.
Training aids (allowed by the model-organism issue; the served architecture stays LLaVA-style):
an auxiliary object-presence loss on the ViT's CLS token, a conv stem, warm-up + cosine schedule.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import time

import numpy as np
import torch
import torch.nn.functional as F

import text
import world
from vlm import Config, Vlm

TRAIN_SEED_BASE = 1_000_000          # benchmark seeds live below 1e6 (see benchmarks.py)
MEAN = [0.5, 0.5, 0.5]
STD = [0.25, 0.25, 0.25]
IMAGE_INDEX = 3                      # "<s> user : <image>": the template puts the image at position 3


def normalise(images_u8: np.ndarray) -> torch.Tensor:
    """uint8 [B,H,W,3] -> float [B,3,H,W] normalised as model.json says."""
    x = torch.from_numpy(images_u8).float().permute(0, 3, 1, 2) / 255.0
    return (x - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]


def splice(model: Vlm, ids: torch.Tensor, image_embeds: torch.Tensor) -> torch.Tensor:
    """Token embeddings with the image tokens spliced in place of <image> at IMAGE_INDEX."""
    e = model.language_model.embed_tokens(ids)
    return torch.cat([e[:, :IMAGE_INDEX], image_embeds, e[:, IMAGE_INDEX + 1:]], 1)


def make_batch(scenes, images, rng: random.Random, knobs, turns: int):
    """Each image carries `turns` question/answer turns in the LLaVA-1.5 conversation format
    (`... ASSISTANT: a</s>USER: q ASSISTANT: a</s>`): several supervised answers per image forward."""
    rows, targets = [], []
    eos = text.IDS[text.EOS]
    for sc in scenes:
        row, tgt = [], []
        for turn in range(turns):
            _, prompt, answer = text.sample_task(sc, rng, knobs)
            p = text.prompt_ids(prompt) if turn == 0 else text.encode(text.NEXT_TURN.format(prompt=prompt))
            a = text.encode(answer) + [eos]
            row += p + a
            tgt += [-100] * len(p) + a
        rows.append(row)
        targets.append(tgt[1:] + [-100])                             # position i predicts token i+1
    t = max(len(r) for r in rows)
    ids = torch.tensor([r + [0] * (t - len(r)) for r in rows])
    tgt = torch.tensor([g + [-100] * (t - len(g)) for g in targets])
    lens = torch.tensor([len(r) for r in rows])
    presence = torch.tensor([[float(s in sc.shapes()) for s in world.SHAPES] for sc in scenes])
    return ids, tgt, lens, presence, normalise(images)


def loss_fn(model: Vlm, batch):
    ids, tgt, lens, presence, pix = batch
    c = model.c
    img, cls, _ = model.image_features(pix)
    emb = splice(model, ids, img)
    n = c.num_patches - 1                                             # one <image> token became N
    t = emb.shape[1]
    key_mask = (torch.arange(t)[None] < (lens[:, None] + n)).float()
    pos = torch.arange(t)[None].expand(ids.shape[0], -1)
    logits, _ = model.language_model(emb, pos, key_mask)
    # targets shift by N-1 after the image position
    full_tgt = torch.cat([tgt[:, :IMAGE_INDEX], torch.full((ids.shape[0], c.num_patches), -100),
                          tgt[:, IMAGE_INDEX + 1:]], 1)
    lm = F.cross_entropy(logits.reshape(-1, c.vocab_size), full_tgt.reshape(-1), ignore_index=-100)
    aux = F.binary_cross_entropy_with_logits(model.presence_head(cls), presence)
    return lm, aux


def render_pool(seeds, knobs):
    scenes = [world.sample_scene(s, knobs) for s in seeds]
    return scenes, np.stack([world.render(s) for s in scenes])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--turns", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--pool", type=int, default=30000, help="distinct training scenes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    knobs = world.Knobs()
    cfg = Config(vocab_size=len(text.VOCAB))
    model = Vlm(cfg)
    t0 = time.time()
    scenes, images = render_pool(range(TRAIN_SEED_BASE, TRAIN_SEED_BASE + args.pool), knobs)
    print(f"rendered {len(scenes)} scenes in {time.time() - t0:.0f}s; "
          f"{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M params", flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    other = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": other, "weight_decay": 0}],
                            lr=args.lr, betas=(0.9, 0.98))
    warm = max(1, min(200, args.steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * min(1.0, s / args.steps)))))
    log = open(os.path.join(args.out, "train_log.jsonl"), "w")
    t0 = time.time()
    for step in range(1, args.steps + 1):
        idx = [rng.randrange(len(scenes)) for _ in range(args.batch)]
        batch = make_batch([scenes[i] for i in idx], images[idx], rng, knobs, args.turns)
        lm, aux = loss_fn(model, batch)
        loss = lm + 0.5 * aux
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 25 == 0 or step == 1:
            rec = {"step": step, "lm": round(lm.item(), 4), "aux": round(aux.item(), 4),
                   "lr": sched.get_last_lr()[0], "elapsed_s": round(time.time() - t0, 1)}
            print(json.dumps(rec), flush=True)
            log.write(json.dumps(rec) + "\n")
            log.flush()
        if step % 250 == 0 or step == args.steps:
            torch.save({"config": cfg.to_dict(), "state_dict": model.state_dict(), "step": step,
                        "knobs": world.knobs_dict(knobs), "train_seconds": time.time() - t0,
                        "seed": args.seed}, os.path.join(args.out, "checkpoint.pt"))
    print(f"done {args.steps} steps in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
