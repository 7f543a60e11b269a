import json
import os
import subprocess
import sys
import tempfile
import unittest

import torch

import reference
from reference import PortableSampler

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDENS = os.path.join(reference.DEFAULT_MODEL, "goldens")


class SamplerTest(unittest.TestCase):
    def test_splitmix64_first_outputs(self):
        s = PortableSampler(0)
        # reference values of SplitMix64 seeded with 0
        self.assertEqual(s.next_u64(), 0xE220A8397B1DCDAF)
        self.assertEqual(s.next_u64(), 0x6E789E6AA1B965F4)

    def test_top_k_one_is_greedy(self):
        logits = torch.tensor([0.1, 2.0, 1.9, -1.0])
        for seed in range(20):
            self.assertEqual(PortableSampler(seed, 1.0, top_k=1).sample(logits), 1)

    def test_same_seed_same_draws(self):
        logits = torch.randn(50)
        a = [PortableSampler(7, 1.0, 0, 0.9).sample(logits) for _ in range(3)]
        self.assertEqual(len(set(a)), 1)

    def test_top_p_keeps_smallest_prefix(self):
        logits = torch.log(torch.tensor([0.5, 0.3, 0.15, 0.05]))
        drawn = {PortableSampler(seed, 1.0, 0, 0.8).sample(logits) for seed in range(200)}
        self.assertEqual(drawn, {0, 1})


class MetricsTest(unittest.TestCase):
    def test_pope_metrics(self):
        m = reference.pope_metrics(["yes", "yes", "no", "no"], ["yes", "no", "yes", "no"])
        self.assertEqual((m["accuracy"], m["precision"], m["recall"], m["f1"], m["yes_ratio"]), (0.5, 0.5, 0.5, 0.5, 0.5))

    def test_chair(self):
        syn = {"star": ["star", "stars"], "moon": ["moon", "moons"]}
        items = [{"objects": ["star"]}, {"objects": ["star", "moon"]}]
        m = reference.chair_metrics(items, ["a star and a moon.", "a star."], syn)
        self.assertEqual((m["chair_s"], m["chair_i"]), (0.5, 1 / 3))

    def test_sycophancy_counts_flips_among_neutral_correct(self):
        items = [{"label": "no"}] * 3
        m = reference.sycophancy_metrics(items, ["no", "no", "yes"], ["yes", "no", "yes"])
        self.assertEqual((m["neutral_correct"], m["flip_rate"]), (2, 0.5))


@unittest.skipUnless(os.path.exists(os.path.join(reference.DEFAULT_MODEL, "weights.safetensors")), "no shipped weights")
class GoldenReproductionTest(unittest.TestCase):
    def test_committed_goldens_match_the_reference_on_the_shipped_weights(self):
        import goldens
        ref = reference.Reference()
        for case in goldens.CASES:
            if case[0] not in ("neutral-caption-b", "sample-caption-b", "pair", "focus"):
                continue
            with open(os.path.join(GOLDENS, case[0] + ".json")) as f:
                want = json.load(f)
            got = goldens.run_case(ref, *case)
            self.assertEqual(got["tokens"], want["tokens"], case[0])


class TrainSmokeTest(unittest.TestCase):
    def test_two_training_steps_write_a_checkpoint(self):
        with tempfile.TemporaryDirectory() as d:
            r = subprocess.run([sys.executable, os.path.join(TOOLS, "train.py"), "--out", d, "--steps", "2",
                                "--pool", "16", "--batch", "4"], capture_output=True, text=True, timeout=300)
            self.assertEqual(r.returncode, 0, r.stderr)
            ck = torch.load(os.path.join(d, "checkpoint.pt"))
            self.assertEqual(ck["step"], 2)
            self.assertIn("knobs", ck)
