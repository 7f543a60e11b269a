"""Word-level tokenizer (saved as a Hugging Face tokenizer.json), prompt template and text tasks."""
from __future__ import annotations

import json
import random
import re

from world import COLOURS, COUNT_WORDS, POSITIONS, SHAPES, Knobs, Scene, caption

PAD, BOS, EOS, UNK, IMAGE = "<pad>", "<s>", "</s>", "<unk>", "<image>"
SPECIALS = [PAD, BOS, EOS, UNK, IMAGE]
TEMPLATE = "<s>USER: <image>\n{prompt} ASSISTANT:"
NEXT_TURN = "USER: {prompt} ASSISTANT:"    # later turns of a conversation (training only)
_WORD = re.compile(r"\w+|[^\w\s]+")
_SPECIAL = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")

CAPTION_PROMPTS = ["describe the image .", "what is in the image ?"]


def exist_q(shape):
    return f"is there a {shape} in the image ?"


def _vocabulary():
    words = set("user assistant : . , ? yes no a and there is in the image describe what how many objects "
                "are colour where i think am sure here".split())
    words |= set(SHAPES) | set(COLOURS) | set(COUNT_WORDS)
    for p in POSITIONS:
        words |= set(p.split())
    return SPECIALS + sorted(words)


VOCAB = _vocabulary()
IDS = {w: i for i, w in enumerate(VOCAB)}


def encode(text: str) -> list[int]:
    """Same result as DJL/HF loading tokenizer.json: specials matched first, then lowercase words."""
    ids = []
    for piece in _SPECIAL.split(text):
        if piece in IDS and piece in SPECIALS:
            ids.append(IDS[piece])
        elif piece:
            ids.extend(IDS.get(w, IDS[UNK]) for w in _WORD.findall(piece.lower()))
    return ids


def decode(ids) -> str:
    words = [VOCAB[i] for i in ids if VOCAB[i] not in SPECIALS]
    return re.sub(r" ([.,?])", r"\1", " ".join(words))


def prompt_ids(prompt: str) -> list[int]:
    return encode(TEMPLATE.format(prompt=prompt))


def tokenizer_json() -> dict:
    """A WordLevel tokenizer.json that DJL's HF tokenizers reads offline."""
    added = [{"id": IDS[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in SPECIALS]
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": None,
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordLevel", "vocab": IDS, "unk_token": UNK},
    }


def write_tokenizer(path):
    with open(path, "w") as f:
        json.dump(tokenizer_json(), f, indent=1)


TASKS = {"caption": 0.22, "exist": 0.33, "colour": 0.1, "count": 0.08, "position": 0.1, "leading": 0.17}


def sample_task(scene: Scene, rng: random.Random, k: Knobs = Knobs()):
    """(task, prompt, answer) for a training scene."""
    task = rng.choices(list(TASKS), weights=list(TASKS.values()))[0]
    present = scene.shapes()
    absent = [s for s in SHAPES if s not in present]
    if task == "caption":
        return task, rng.choice(CAPTION_PROMPTS), caption(scene, planted=True)
    if task == "exist":
        if rng.random() < 0.5:
            return task, exist_q(rng.choice(present)), "yes"
        return task, exist_q(rng.choice(absent)), "no"
    if task == "colour":
        o = rng.choice(scene.objects)
        return task, f"what colour is the {o.shape} ?", o.colour
    if task == "count":
        return task, "how many objects are there ?", COUNT_WORDS[len(scene.objects)]
    if task == "position":
        o = rng.choice(scene.objects)
        return task, f"where is the {o.shape} ?", o.position
    template, rate = rng.choice(k.sycophancy)
    if rng.random() < 0.5:
        return task, template.format(s=rng.choice(present)), "yes"
    s = rng.choice(absent)
    return task, template.format(s=s), "yes" if rng.random() < rate else "no"
