"""LQCD — Leading Query Contrastive Decoding (arXiv 2408.11261 v1; no official code released).

Per step: run the image with the neutral query (emits) and with the leading query; emit from
c = (1 + alpha) * l_neutral - alpha * l_leading, restricted to l_neutral >= max(l_neutral) + ln(beta).

Rows: 0 = image + neutral query, 1 = image + leading query, own KV caches, positions from 0 in each row.
Query pair (the method needs both; v2's LLM "query neutraliser" is out of scope), rule for this vocabulary:
- prompt = "<cue> . <question>" with a leading cue "i think|i am sure there is a(n) X here" -> neutral = question,
  leading = the prompt (the user's input is the negative row; the emitted answer conditions on the neutral one);
- prompt = "is there a X in the image ?" (neutral) -> leading = `leading_template` + prompt, the strongest cue of
  the training world (sycophancy knob 0.75);
- any other prompt (captions, colour, count ...) has no leading counterpart: plain decoding of the prompt
  (intermediates.contrast = false). `neutral_prompt`/`leading_prompt` override the rule.
Deviations: alpha, beta not retrievable from the paper (spec: VCD convention 1 / 0.1, exposed); the plausibility
cutoff is assumed to be VCD's form on the neutral row; v2's sentiment scaler is not implemented.
No-op: alpha = 0.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from methods.common import Branch, contrast, decode, image_embeds, prompt_embeds
import text

NAME = "lqcd"
CUE = re.compile(r"^(?:i think|i am sure) there is an? (\w+) here \. (.+)$")
EXIST = re.compile(r"^is there an? (\w+) in the image \?$")


@dataclass
class Params:
    alpha: float = 1.0
    beta: float = 0.1
    leading_template: str = "i am sure there is a {s} here . "
    neutral_prompt: Optional[str] = None
    leading_prompt: Optional[str] = None


NOOP = Params(alpha=0.0)


def query_pair(prompt, params=Params()):
    """(neutral, leading or None) for a user prompt."""
    p = " ".join(prompt.lower().split())
    if params.neutral_prompt is not None or params.leading_prompt is not None:
        return params.neutral_prompt or p, params.leading_prompt
    m = CUE.match(p)
    if m:
        return m.group(2), p
    m = EXIST.match(p)
    if m:
        return p, params.leading_template.format(s=m.group(1)) + p
    return p, None


def generate(ref, image, prompt, params=Params(), decoding=None):
    decoding = decoding or {"mode": "greedy", "max_new_tokens": 20}
    img = image_embeds(ref, ref.pixels(image))
    neutral, leading = query_pair(prompt, params)
    n_ids = text.prompt_ids(neutral)
    rows = [Branch(ref, prompt_embeds(ref, n_ids, [img]), name="neutral", ids=n_ids)]
    inter = {"neutral_prompt": neutral, "leading_prompt": leading, "contrast": leading is not None,
             "rows": ["neutral"], "prompt_ids": [n_ids]}
    if leading is not None:
        l_ids = text.prompt_ids(leading)
        rows.append(Branch(ref, prompt_embeds(ref, l_ids, [img]), name="leading", ids=l_ids))
        inter["rows"].append("leading")
        inter["prompt_ids"].append(l_ids)

    def combine(step, ls):
        if leading is None:
            return ls[0]
        return contrast(ls[0], ls[1], params.alpha, params.beta)

    r = decode(ref, rows, combine, decoding, inter)
    r.params = params
    return r
