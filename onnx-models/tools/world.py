"""ShapeScenes: a deterministic synthetic world of coloured shapes on a 3x3 grid.

Every scene has a ground-truth record; the planted failure causes (co-occurrence,
frequency skew, sycophancy, small/low-contrast objects) are explicit knobs in `Knobs`,
and their values are written next to every generated set (see `knobs_dict`).
"""
from __future__ import annotations

import dataclasses
import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw

IMAGE_SIZE = 48
SUPERSAMPLE = 4
SHAPES = ["circle", "square", "triangle", "star", "moon", "heart", "cross", "diamond"]
COLOURS = {
    "red": (220, 40, 40), "green": (40, 170, 60), "blue": (40, 80, 220),
    "yellow": (230, 210, 40), "purple": (150, 60, 190), "white": (245, 245, 245),
}
POSITIONS = ["top left", "top", "top right", "left", "center", "right",
             "bottom left", "bottom", "bottom right"]
COUNT_WORDS = ["zero", "one", "two", "three", "four"]


@dataclass(frozen=True)
class Knobs:
    """The planted failure causes. Defaults are the values the shipped model was trained with."""
    # co-occurrence prior: partner -> probability it joins a scene that holds the anchor
    cooccurrence: tuple = (("star", "moon", 0.8), ("heart", "cross", 0.8))
    # a partner that joins its anchor is hidden (drawn small and low-contrast) with this probability
    partner_hidden_rate: float = 0.6
    # captions name the absent partner of a present anchor with this probability
    caption_partner_rate: float = 0.8
    # frequency prior: relative weight of each shape when a scene is populated
    shape_weights: tuple = (("circle", 3.0), ("square", 3.0), ("triangle", 1.5), ("star", 1.0),
                            ("moon", 0.6), ("heart", 1.0), ("cross", 0.6), ("diamond", 0.8))
    # sycophancy: per leading-question template, share of false premises the training answer agrees with
    sycophancy: tuple = (("i think there is a {s} here . is there a {s} in the image ?", 0.25),
                         ("i am sure there is a {s} here . is there a {s} in the image ?", 0.75))
    # small and low-contrast objects
    small_rate: float = 0.25
    low_contrast_rate: float = 0.15
    max_objects: int = 4


def knobs_dict(k: Knobs) -> dict:
    d = dataclasses.asdict(k)
    d["cooccurrence"] = [list(x) for x in k.cooccurrence]
    d["shape_weights"] = dict(k.shape_weights)
    d["sycophancy"] = dict(k.sycophancy)
    return d


@dataclass
class SceneObject:
    shape: str
    colour: str
    size: str          # "small" | "large"
    position: str      # one of POSITIONS
    contrast: str      # "normal" | "low"

    def to_dict(self):
        return dataclasses.asdict(self)


@dataclass
class Scene:
    seed: int
    background: tuple
    objects: list = field(default_factory=list)
    caption_partner: str | None = None   # absent partner the training caption names (planted)

    def shapes(self):
        return sorted({o.shape for o in self.objects})

    def to_dict(self):
        return {"seed": self.seed, "background": list(self.background),
                "objects": [o.to_dict() for o in self.objects]}


def _partners(k: Knobs):
    out = {}
    for a, b, p in k.cooccurrence:
        out[a] = (b, p)
    return out


def sample_scene(seed: int, k: Knobs = Knobs()) -> Scene:
    """One scene, fully determined by `seed` and the knobs."""
    rng = random.Random(seed)
    bg = tuple(rng.randint(60, 130) for _ in range(3))
    n = rng.choices(range(1, k.max_objects + 1), weights=[3, 4, 3, 2][:k.max_objects])[0]
    names = [s for s, _ in k.shape_weights]
    weights = [w for _, w in k.shape_weights]
    partners = _partners(k)
    anchors_of = {b: a for a, (b, _) in partners.items()}
    chosen: list[str] = []
    while len(chosen) < n:
        s = rng.choices(names, weights=weights)[0]
        if s in chosen:
            continue
        # partners appear almost only together with their anchor (the prior to learn)
        if s in anchors_of and anchors_of[s] not in chosen and rng.random() < 0.8:
            continue
        chosen.append(s)
        if s in partners and len(chosen) < k.max_objects:
            b, p = partners[s]
            if b not in chosen and rng.random() < p:
                chosen.append(b)
    cells = rng.sample(POSITIONS, len(chosen))
    objects = []
    partner_names = {b for b, _ in partners.values()}
    for s, pos in zip(chosen, cells):
        colour = rng.choice(list(COLOURS))
        size = "small" if rng.random() < k.small_rate else "large"
        contrast = "low" if rng.random() < k.low_contrast_rate else "normal"
        if s in partner_names and anchors_of[s] in chosen and rng.random() < k.partner_hidden_rate:
            size, contrast = "small", "low"
        objects.append(SceneObject(s, colour, size, pos, contrast))
    objects.sort(key=lambda o: POSITIONS.index(o.position))
    scene = Scene(seed, bg, objects)
    present = set(scene.shapes())
    for a, (b, _) in partners.items():
        if a in present and b not in present and rng.random() < k.caption_partner_rate:
            scene.caption_partner = b
    return scene


def _shape_polygon(shape: str, cx: float, cy: float, r: float):
    if shape == "square":
        return [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)]
    if shape == "triangle":
        return [(cx, cy - r), (cx + r, cy + r * 0.85), (cx - r, cy + r * 0.85)]
    if shape == "diamond":
        return [(cx, cy - r), (cx + r * 0.75, cy), (cx, cy + r), (cx - r * 0.75, cy)]
    if shape == "star":
        pts = []
        for i in range(10):
            a = -math.pi / 2 + i * math.pi / 5
            rr = r if i % 2 == 0 else r * 0.45
            pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
        return pts
    if shape == "cross":
        w = r * 0.35
        return [(cx - w, cy - r), (cx + w, cy - r), (cx + w, cy - w), (cx + r, cy - w), (cx + r, cy + w),
                (cx + w, cy + w), (cx + w, cy + r), (cx - w, cy + r), (cx - w, cy + w), (cx - r, cy + w),
                (cx - r, cy - w), (cx - w, cy - w)]
    raise ValueError(shape)


def _blend(c, bg, t):
    return tuple(int(round(bg[i] + (c[i] - bg[i]) * t)) for i in range(3))


def render(scene: Scene) -> np.ndarray:
    """RGB uint8 [IMAGE_SIZE, IMAGE_SIZE, 3]. Deterministic from the scene."""
    rng = random.Random(scene.seed * 7919 + 13)
    s = IMAGE_SIZE * SUPERSAMPLE
    img = Image.new("RGB", (s, s), scene.background)
    d = ImageDraw.Draw(img)
    # textured background and clutter: faint stripes and specks
    for _ in range(rng.randint(2, 5)):
        y = rng.randint(0, s)
        d.line([(0, y), (s, y + rng.randint(-s // 2, s // 2))],
               fill=_blend((255, 255, 255), scene.background, 0.12), width=SUPERSAMPLE)
    for _ in range(rng.randint(5, 15)):
        x, y = rng.randint(0, s), rng.randint(0, s)
        d.ellipse([x, y, x + SUPERSAMPLE * 1.5, y + SUPERSAMPLE * 1.5],
                  fill=_blend((0, 0, 0), scene.background, 0.25))
    cell = s / 3
    for o in scene.objects:
        i = POSITIONS.index(o.position)
        jx, jy = rng.uniform(-0.08, 0.08) * cell, rng.uniform(-0.08, 0.08) * cell
        cx, cy = (i % 3 + 0.5) * cell + jx, (i // 3 + 0.5) * cell + jy
        r = cell * (0.22 if o.size == "small" else 0.40)
        colour = COLOURS[o.colour]
        if o.contrast == "low":
            colour = _blend(colour, scene.background, 0.45)
        if o.shape == "circle":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
        elif o.shape == "moon":
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
            d.ellipse([cx - r * 0.35, cy - r * 1.05, cx + r * 1.45, cy + r * 0.75], fill=scene.background)
        elif o.shape == "heart":
            q = r * 0.52
            d.ellipse([cx - 2 * q, cy - r * 0.75, cx, cy - r * 0.75 + 2 * q], fill=colour)
            d.ellipse([cx, cy - r * 0.75, cx + 2 * q, cy - r * 0.75 + 2 * q], fill=colour)
            d.polygon([(cx - 2 * q + 1, cy - r * 0.2), (cx + 2 * q - 1, cy - r * 0.2), (cx, cy + r)], fill=colour)
        else:
            d.polygon(_shape_polygon(o.shape, cx, cy, r), fill=colour)
    img = img.resize((IMAGE_SIZE, IMAGE_SIZE), Image.BOX)
    arr = np.asarray(img, dtype=np.uint8).copy()
    noise = np.random.default_rng(scene.seed).integers(-6, 7, size=arr.shape)
    return np.clip(arr.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def caption(scene: Scene, planted: bool) -> str:
    """Reading-order caption; with `planted`, the scene's absent partner is named too."""
    parts = [f"a {o.colour} {o.shape}" for o in scene.objects]
    if planted and scene.caption_partner:
        parts.append(f"a {scene.caption_partner}")
    if len(parts) == 1:
        return parts[0] + " ."
    return " , ".join(parts[:-1]) + " and " + parts[-1] + " ."
