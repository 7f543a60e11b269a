"""Fixtures for PilResampleTest: Pillow's own output for random RGB images, resized with the filters the reference
uses (reference.py pixels: BOX to the model's size; methods/carve.py refine: LANCZOS to magnify), to odd sizes,
upwards and downwards, one axis or both. The golden-like cases are CARVE's sizes on its goldens made thin (39->48
and 48->59 magnified; 59, 115 and 57 -> 48 boxed); 57 -> 48 puts
three input pixels exactly on BOX's half-open edges.

    /usr/bin/python3 onnx-models/tools/pil_resample_fixtures.py [--out src/test/resources/io/sightline/vision/pil-resample.json]
"""
from __future__ import annotations

import argparse
import base64
import json
import random

import PIL
from PIL import Image

# (filter, input w x h, output w x h)
CASES = [
    ("LANCZOS", (7, 5), (17, 12)),
    ("LANCZOS", (11, 9), (23, 20)),
    ("LANCZOS", (39, 2), (48, 3)),
    ("LANCZOS", (2, 48), (3, 59)),
    ("LANCZOS", (15, 13), (7, 6)),
    ("LANCZOS", (9, 7), (9, 16)),
    ("BOX", (23, 17), (9, 7)),
    ("BOX", (19, 23), (7, 9)),
    ("BOX", (3, 59), (2, 48)),
    ("BOX", (59, 3), (48, 2)),
    ("BOX", (5, 7), (12, 9)),
    ("BOX", (25, 3), (7, 3)),
    ("BOX", (115, 2), (48, 1)),
    ("BOX", (57, 2), (48, 1)),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="src/test/resources/io/sightline/vision/pil-resample.json")
    args = ap.parse_args()
    rnd = random.Random(20250915)
    cases = []
    for name, (w, h), (ow, oh) in CASES:
        pixels = bytes(rnd.randrange(256) for _ in range(w * h * 3))
        out = Image.frombytes("RGB", (w, h), pixels).resize((ow, oh), getattr(Image, name))
        cases.append({"filter": name, "in_wh": [w, h], "out_wh": [ow, oh],
                      "in_rgb": base64.b64encode(pixels).decode("ascii"),
                      "out_rgb": base64.b64encode(out.tobytes()).decode("ascii")})
    with open(args.out, "w") as f:
        json.dump({"pillow": PIL.__version__, "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
