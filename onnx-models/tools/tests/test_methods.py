"""Tests of the ten method references (tools/methods), the calibration and the method goldens.

No-op parameters must give plain greedy decoding token for token; each method's key step is checked on a
hand-computable case; committed goldens must be reproduced. Without shipped weights the no-op tests run on a
seeded random model of the shipped architecture (calibrated on the fly with calibrate.py's rules).
"""
import json
import math
import os
import unittest

import numpy as np
import torch

torch.set_num_threads(1)

import abi  # noqa: E402
import calibrate  # noqa: E402
import method_goldens  # noqa: E402
import reference  # noqa: E402
import text  # noqa: E402
from methods import carve, causalmm, common, gift, iaf, lqcd, m3id, pai, var, vcd, vhr  # noqa: E402
from vlm import Config, Vlm  # noqa: E402

MODEL = os.environ.get("SIGHTLINE_METHODS_MODEL", reference.DEFAULT_MODEL)   # another export dir to test
SHIPPED = os.path.exists(os.path.join(MODEL, "weights.safetensors")) and \
    os.path.exists(os.path.join(MODEL, "calibration.json"))
SAMPLES = os.path.join(reference.MODELS, "samples")
G = {"mode": "greedy", "max_new_tokens": 12}
_REF = []


class RandomReference(reference.Reference):
    """The shipped architecture with seeded random weights (no files needed)."""

    def __init__(self):
        torch.manual_seed(0)
        self.c = Config(vocab_size=len(text.VOCAB))
        self.model = Vlm(self.c).eval()
        self.meta = {"image": {"size": self.c.image_size, "mean": [0.5] * 3, "std": [0.25] * 3},
                     "sink_dims": [0, 1], "name": "random"}
        self.image_id, self.eos_id = text.IDS[text.IMAGE], text.IDS[text.EOS]
        self.layers_v = self.c.feature_layers
        self.decoder = abi.DecoderAbi(self.model, self.meta["sink_dims"]).eval()
        self.vision = abi.VisionAbi(self.model, self.layers_v).eval()


def ref():
    if not _REF:
        if SHIPPED:
            r = common.load(MODEL)
        else:
            r = RandomReference()
            r.calibration = {"methods": calibrate.calibrate(r, 4)}
        _REF.append(r)
    return _REF[0]


class NoOpTest(unittest.TestCase):
    """Each method with its no-op parameters equals plain greedy decoding token for token."""

    def check(self, module, cases=(("scene-a", "describe the image ."), ("scene-b", "is there a star in the image ?"))):
        r = ref()
        for image, prompt in cases:
            path = os.path.join(SAMPLES, image + ".png")
            plain = common.plain_generate(r, r.pixels(path), prompt, G)
            got = module.generate(r, path, prompt, module.NOOP, G)
            self.assertEqual(got.tokens, plain.tokens, f"{module.NAME} {image} {prompt}")

    def test_plain_hookable_forward_equals_reference_generate(self):
        r = ref()
        pix = r.pixels(os.path.join(SAMPLES, "scene-c.png"))
        self.assertEqual(common.plain_generate(r, pix, "describe the image .", G).tokens,
                         reference.generate(r, pix, "describe the image .", 12))

    def test_vcd(self):
        self.check(vcd)

    def test_causalmm(self):
        self.check(causalmm)

    def test_lqcd(self):
        # neutral input: the leading row is synthesised, alpha 0 removes it
        self.check(lqcd, (("scene-b", "is there a star in the image ?"), ("scene-c", "is there a heart in the image ?")))

    def test_pai(self):
        self.check(pai)

    def test_m3id(self):
        self.check(m3id)

    def test_vhr(self):
        self.check(vhr)

    def test_var(self):
        self.check(var)

    def test_iaf(self):
        self.check(iaf)

    def test_gift(self):
        self.check(gift)

    def test_carve(self):
        self.check(carve, (("scene-b", "is there a star in the image ?"),))


class KeyStepTest(unittest.TestCase):
    def test_vcd_cutoff_and_contrast(self):
        l0 = torch.tensor([2.0, 1.0, -1.0, 0.0])
        l1 = torch.tensor([1.0, 2.0, 0.0, 5.0])
        c = common.contrast(l0, l1, 1.0, 0.1)          # keep l0 >= 2 + ln 0.1 = -0.3026
        self.assertEqual(c[:2].tolist(), [3.0, 0.0])
        self.assertEqual(c[2].item(), float("-inf"))
        self.assertEqual(c[3].item(), -5.0)

    def test_vcd_noise_schedule(self):
        a, b = vcd.noise_coefficients(500)
        self.assertAlmostEqual(a, 0.86302, places=4)
        self.assertAlmostEqual(b, 0.50517, places=4)
        self.assertAlmostEqual(a * a + b * b, 1.0, places=12)

    def test_portable_gaussian_and_permutation(self):
        z = common.SplitMix64(3).gaussian(20000)
        self.assertAlmostEqual(float(z.mean()), 0.0, delta=0.03)
        self.assertAlmostEqual(float(z.std()), 1.0, delta=0.03)
        self.assertEqual(sorted(common.SplitMix64(1).permutation(37)), list(range(37)))
        self.assertEqual(common.SplitMix64(1).permutation(37), common.SplitMix64(1).permutation(37))

    def test_causalmm_uniform_counterfactual_weight_is_one_over_n_plus_one(self):
        A = torch.softmax(torch.randn(4, 37, 37), -1)
        w = causalmm.patch_weights(causalmm.edit_attention(A, "uniform", None), 6)
        torch.testing.assert_close(w, torch.full((36,), 1 / 37))
        rev = causalmm.edit_attention(A, "reversed", None)
        torch.testing.assert_close(rev[0], A[0].max() - A[0])

    def test_pai_log_softmax_cfg(self):
        pc, pu = torch.tensor([0.65, 0.3, 0.05]), torch.tensor([0.2, 0.3, 0.5])
        out = pai.cfg_combine(pc.log(), pu.log(), 2.0, 0.1)   # 2 ln pc - ln pu; cutoff pc < 0.065
        torch.testing.assert_close(out[:2], torch.tensor([2 * math.log(0.65) - math.log(0.2), math.log(0.3)]))
        self.assertEqual(out[2].item(), float("-inf"))
        torch.testing.assert_close(pai.cfg_combine(pc.log(), pu.log(), 1.0, 0.1), pc.log())

    def test_pai_amplifies_last_row_image_keys_only(self):
        h = pai.Amplify((1, 3), [0], 0.2)
        a = torch.tensor([[[[-2.0, 1.0, 3.0, -1.0], [-2.0, 1.0, 3.0, -1.0]]]])
        ctx = common.Ctx(0, 2, 0, torch.ones(1, 1, 2, 4, dtype=torch.bool))
        out = h.scores(0, a, ctx)
        torch.testing.assert_close(out[0, 0, 1], torch.tensor([-2.0, 1.2, 3.6, -1.0]))
        torch.testing.assert_close(out[0, 0, 0], a[0, 0, 0])
        self.assertIs(h.scores(1, a, ctx), a)

    def test_m3id_gate_and_weight(self):
        p = m3id.Params(threshold=0.5)
        lu = torch.log(torch.tensor([0.25, 0.25, 0.5]))
        confident = torch.log(torch.tensor([0.9, 0.05, 0.05]))
        out, applied = m3id.m3id_combine(confident, lu, 1, p)
        self.assertFalse(applied)
        torch.testing.assert_close(out, torch.log_softmax(confident, -1))
        unsure = torch.log(torch.tensor([0.4, 0.35, 0.25]))
        out, applied = m3id.m3id_combine(unsure, lu, 1, p)
        self.assertTrue(applied)
        k = math.exp(0.02) - 1                          # (1 - g) / g with g = exp(-0.02)
        want = torch.log(torch.tensor([0.4, 0.35, 0.25])) * (1 + k) - k * lu
        torch.testing.assert_close(out, want)

    def test_var_redistribution_on_a_four_key_row(self):
        # keys: 0 BOS (sink), 1 image sink, 2 and 3 image
        A = torch.tensor([[[0.4, 0.3, 0.2, 0.1]]])
        vis = torch.tensor([False, True, True, True])
        sink = torch.tensor([True, True, False, False])
        out, gate = var.redistribute(A, vis, sink, torch.tensor([True]), 0.2, 0.5, 0.4)
        self.assertTrue(bool(gate[0, 0]))               # vis 0.6 >= 0.2; share 0.3 / 0.6 <= 1 - 0.5
        torch.testing.assert_close(out[0, 0], torch.tensor([0.24, 0.18, 0.2 + 0.4 * 0.7 * 2 / 3, 0.1 + 0.4 * 0.7 / 3]))
        self.assertAlmostEqual(float(out.sum()), 1.0, places=6)
        B = torch.tensor([[[0.2, 0.5, 0.2, 0.1]]])      # visual sink share 0.625 > 0.5: no change
        out, gate = var.redistribute(B, vis, sink, torch.tensor([True]), 0.2, 0.5, 0.4)
        self.assertFalse(bool(gate[0, 0]))
        torch.testing.assert_close(out, B)
        self.assertEqual((var.Params.from_code(0.5, 0.6).rho, round(var.Params.from_code(0.5, 0.6).p, 6)), (0.5, 0.4))

    def test_var_sink_score(self):
        x = torch.zeros(2, 8)
        x[0, 3] = 4.0                                   # rms = sqrt(16/8) = sqrt(2)
        x[1] = 1.0
        phi = var.sink_score(x, [3, 5])
        torch.testing.assert_close(phi, torch.tensor([4 / math.sqrt(2 + 1e-6), 1 / math.sqrt(1 + 1e-6)]))

    def test_vhr_median_rule(self):
        o_txt = torch.zeros(6, 4)
        o_img = torch.zeros(6, 4)
        o_img[:, 0] = torch.arange(1.0, 7.0)            # VHD 1..6, TA 0: lower median 3 -> heads 3, 4, 5
        chosen, _ = vhr.select_heads(o_img, o_txt)
        self.assertEqual(chosen.tolist(), [False, False, False, True, True, True])
        o_img[:, 0] = torch.tensor([1.0, 2, 2, 3, 3, 12])
        o_txt[5, 1] = 3.0                               # head 5: VHD and TA both above mean + std -> VHD 0
        o_img[5, 1] = 3.0
        chosen, v = vhr.select_heads(o_img, o_txt)
        self.assertEqual(v[5].item(), 0.0)
        self.assertEqual(chosen.tolist(), [False, False, False, True, True, False])   # median 2

    def test_gift_enhancement_row(self):
        A = torch.tensor([[0.1, 0.5, 0.2, 0.2], [0.4, 0.1, 0.1, 0.4]])
        vis = torch.tensor([False, True, True, False])
        q = torch.tensor([False, False, False, True])
        w = torch.tensor([1.0, math.e, 1.0, 1.0])
        out, hv, hq, r = gift.enhance(A, vis, q, w, 1)
        self.assertEqual((hv, hq), ([0], [1]))
        self.assertAlmostEqual(r, (0.5 * math.e + 0.2) / 0.7, places=6)
        h0 = torch.tensor([0.1, 0.5 * math.e, 0.2, 0.2])
        h1 = torch.tensor([0.4, 0.1, 0.1, 0.4 * r])
        torch.testing.assert_close(out, torch.stack([h0 / h0.sum(), h1 / h1.sum()]))

    def test_gift_saliency_and_content_words(self):
        r = ref()
        ids = text.prompt_ids("is there a star in the image ?")
        n = r.c.num_patches
        i0 = ids.index(r.image_id)
        self.assertEqual(gift.content_rows(r, ids), [i0 + n + 3, i0 + n + 6])   # star, image
        A = torch.zeros(2, 6, 10)
        A[0, 4, 2] = 0.5                                 # row 4 gains 0.5 on visual key 2 vs row 3
        A[1, 3, 3] = 0.2                                 # row 4 loses on key 3 in head 1: clamped to 0
        s, heads = gift.saliency(A, [4], (2, 5), 1)
        self.assertEqual(heads, [0])
        torch.testing.assert_close(s, torch.tensor([1.0, 0.0, 0.0]))

    def test_iaf_token_selection(self):
        c0 = torch.tensor([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.7, 0.0])
        cs = torch.tensor([0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 5.0])   # one outlier above Q3 + 1.5 IQR
        local, summary = iaf.select_tokens(c0, cs, 0.25)
        self.assertEqual((local, summary), ([0, 2], [7]))
        local, summary = iaf.select_tokens(c0, torch.tensor([0.1] * 6 + [5.0, 0.1]), 0.5)
        self.assertEqual((local, summary), ([0, 2, 4], [6]))

    def test_carve_components_and_identity_refinement(self):
        m = np.array([[1, 1, 0, 1], [0, 1, 0, 1], [1, 0, 0, 0]], dtype=bool)
        lab, n = carve.components(m)
        self.assertEqual(n, 3)
        self.assertEqual(lab.tolist(), [[1, 1, 0, 2], [0, 1, 0, 2], [3, 0, 0, 0]])
        rgb = (np.arange(48 * 40 * 3) % 251).astype(np.uint8).reshape(40, 48, 3)
        S = np.random.RandomState(0).rand(40, 48)
        out, info = carve.refine(rgb, S, carve.Params(layers=[0], keep_ratio=1.0))
        self.assertTrue(np.array_equal(out, rgb))
        out, info = carve.refine(rgb, S, carve.Params(layers=[0]))
        self.assertLessEqual(len(info["kept"]), max(3, info["components"] // 5))
        self.assertEqual(out.shape[1] >= 48 and out.shape[0] >= 40, True)

    def test_carve_step_weights(self):
        mq = [{0: torch.ones(4, dtype=torch.float64)}, {0: torch.full((4,), 2.0, dtype=torch.float64)}]
        mg = [{0: torch.ones(4, dtype=torch.float64)}] * 3
        g = carve.contrast_map(mq, mg, [0], 0.0, 2, True)
        torch.testing.assert_close(g, torch.full((2, 2), 1.0 + 2 * 2.0, dtype=torch.float64))

    def test_lqcd_query_pairs(self):
        self.assertEqual(lqcd.query_pair("i think there is a star here . is there a star in the image ?"),
                         ("is there a star in the image ?", "i think there is a star here . is there a star in the image ?"))
        self.assertEqual(lqcd.query_pair("is there a moon in the image ?"),
                         ("is there a moon in the image ?", "i am sure there is a moon here . is there a moon in the image ?"))
        self.assertEqual(lqcd.query_pair("describe the image ."), ("describe the image .", None))


@unittest.skipUnless(SHIPPED, "no shipped weights / calibration.json")
class GoldenTest(unittest.TestCase):
    def test_calibration_matches_the_shipped_weights(self):
        with open(os.path.join(MODEL, "calibration.json")) as f:
            cal = json.load(f)
        self.assertEqual(cal["weights_sha256"], method_goldens.sha(os.path.join(MODEL, "weights.safetensors")))
        for method, entries in cal["methods"].items():
            for k, v in entries.items():
                self.assertIn("rule", v, f"{method}.{k}")

    def test_method_goldens_reproduce(self):
        r = ref()
        d = os.path.join(MODEL, "goldens", "methods")
        for case, name, image, prompt, decoding, over in method_goldens.all_cases():
            with open(os.path.join(d, case + ".json")) as f:
                want = json.load(f)
            self.assertEqual(want["reference"]["weights_sha256"],
                             method_goldens.sha(os.path.join(MODEL, "weights.safetensors")), "stale goldens")
            got = method_goldens.run_case(r, case, name, image, prompt, decoding, over)
            self.assertEqual(got["tokens"], want["tokens"], case)
            self.assertEqual(got["params"], want["params"], case)
            for gs, ws in zip(got["steps"], want["steps"]):
                self.assertEqual([i for i, _ in gs["top5"]], [i for i, _ in ws["top5"]], case)
                for (_, a), (_, b) in zip(gs["top5"], ws["top5"]):
                    if a == "-inf" or b == "-inf":
                        self.assertEqual(a, b, case)
                    else:
                        # the files round to 6 significant digits and contrasts such as M3ID's multiply float
                        # rounding by their weight: relative slack as in Java's MethodParityTest
                        self.assertAlmostEqual(a, b, delta=want["tolerance"]["logits"] + 1e-4 * abs(b), msg=case)


if __name__ == "__main__":
    unittest.main()
