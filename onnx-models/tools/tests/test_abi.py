import unittest

import torch

import abi
from abi import DecoderAbi, VisionAbi, neutral_decoder_inputs, neutral_vision_inputs
from vlm import Config, Vlm


def model():
    torch.manual_seed(0)
    c = Config(vocab_size=40, text_dim=48, text_heads=4, text_mlp=64, text_layers=3, vision_dim=32, vision_heads=4,
               vision_mlp=48, vision_layers=2, stem_channels=8)
    return Vlm(c).eval()


def padded_batch(c):
    b, t = 2, 9
    e = torch.randn(b, t, c.text_dim)
    km = torch.ones(b, t)
    km[1, :3] = 0
    pos = torch.stack([torch.arange(t), torch.clamp(torch.arange(t) - 3, min=0)])
    return e, pos, km


class NeutralIdentityTest(unittest.TestCase):
    def test_neutral_controls_equal_plain_attention_prefill_and_decode(self):
        m = model()
        c = m.c
        dec = DecoderAbi(m, [0, 5])
        e, pos, km = padded_batch(c)
        with torch.no_grad():
            plain, past = m.language_model(e, pos, km)
            out = dec(**neutral_decoder_inputs(c, e, pos, km))
            torch.testing.assert_close(out[0], plain[:, -1], atol=1e-5, rtol=0)
            for l in range(c.text_layers):
                torch.testing.assert_close(out[1][l, 0], past[l][0], atol=0, rtol=0)
            e2, pos2, km2 = torch.randn(2, 1, c.text_dim), pos[:, -1:] + 1, torch.cat([km, torch.ones(2, 1)], 1)
            plain2, _ = m.language_model(e2, pos2, km2, past)
            out2 = dec(**neutral_decoder_inputs(c, e2, pos2, km2, out[1]))
            torch.testing.assert_close(out2[0], plain2[:, -1], atol=1e-5, rtol=0)
            self.assertFalse(torch.isnan(torch.cat([o.flatten().float() for o in out2])).any())

    def test_plain_decoder_graph_equals_neutral_abi_bit_for_bit(self):
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        inp = neutral_decoder_inputs(c, e, pos, km)
        with torch.no_grad():
            full = DecoderAbi(m, [0])(**inp)
            plain = abi.PlainDecoder(m)(e, pos, km, inp["past_kv"])
            for i, j in ((0, 0), (1, 1), (2, 2)):
                torch.testing.assert_close(plain[j], full[i], atol=0, rtol=0)
            # a decode step on the prefill's cache (P > 0)
            e2, pos2, km2 = torch.randn(2, 1, c.text_dim), pos[:, -1:] + 1, torch.cat([km, torch.ones(2, 1)], 1)
            full = DecoderAbi(m, [0])(**neutral_decoder_inputs(c, e2, pos2, km2, full[1]))
            plain = abi.PlainDecoder(m)(e2, pos2, km2, plain[1])
            for i, j in ((0, 0), (1, 1), (2, 2)):
                torch.testing.assert_close(plain[j], full[i], atol=0, rtol=0)

    def test_decoder_variants_equal_the_full_decoder_bit_for_bit(self):
        """Each variant, given random values for the controls it takes, equals decoder.onnx's module with those values
        and every other control neutral, on the outputs it has (prefill with left padding, then a decode step)."""
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        b, t = e.shape[:2]
        L, H = c.text_layers, c.text_heads
        torch.manual_seed(1)
        r = lambda *sh: torch.rand(*sh)
        sink = (r(b, L, t) > 0.7).float()
        edits = dict(row_mask=(r(b, t) > 0.3).float(), visual_mask=(r(b, t) > 0.5).float(), attn_bias=r(b, L, H, t),
                     amp=r(b, L, H), amp_mask=r(b, L, t), redist=r(b, L, H),
                     redist_gate=torch.stack([r(b, L) * 0.2, 0.5 + r(b, L)], -1), sink_mask=sink,
                     target_mask=(r(b, L, t) > 0.5).float() * (1 - sink), focus_logw=r(b, L, t),
                     focus_k=torch.randint(0, 3, (b, L)), query_mask=(r(b, L, t) > 0.6).float(),
                     head_scale=2 * r(b, L, H), probe_layer=torch.tensor(1))
        full = DecoderAbi(m, [0, 5])
        for name, (ed, pr) in abi.DECODER_VARIANTS.items():
            v = DecoderAbi(m, [0, 5], ed, pr)
            inp = neutral_decoder_inputs(c, e, pos, km)
            inp.update({k: x for k, x in edits.items() if k in v.inputs})
            with torch.no_grad():
                want = dict(zip(abi.DECODER_OUTPUTS, full(**inp)))
                got = v(**{k: inp[k] for k in v.inputs})
            self.assertEqual(list(v.outputs), [o for o in abi.DECODER_OUTPUTS if o in v.outputs])
            for o, x in zip(v.outputs, got):
                torch.testing.assert_close(x, want[o], atol=0, rtol=0, msg=f"{name} {o}")

    def test_neutral_vision_equals_plain_tower(self):
        m = model()
        px = torch.randn(2, 3, m.c.image_size, m.c.image_size)
        with torch.no_grad():
            plain, cls, attn = m.image_features(px)
            out = VisionAbi(m, m.c.feature_layers)(**neutral_vision_inputs(m.c, px, m.c.feature_layers))
        torch.testing.assert_close(out[0], plain, atol=0, rtol=0)
        torch.testing.assert_close(out[1][:, 0], attn[0][:, :, 0, 1:].sum(1))

    def test_no_nan_with_empty_past(self):
        m = model()
        e, pos, km = padded_batch(m.c)
        with torch.no_grad():
            out = DecoderAbi(m, [0])(**neutral_decoder_inputs(m.c, e, pos, km))
        for o in out:
            self.assertFalse(torch.isnan(o.float()).any())


class ControlEffectTest(unittest.TestCase):
    """Hand-checkable cases of each in-graph op."""

    def test_attn_bias_of_ln2_doubles_a_key_relative_weight(self):
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        dec = DecoderAbi(m, [0])
        with torch.no_grad():
            base = dec(**neutral_decoder_inputs(c, e, pos, km))[2]
            inp = neutral_decoder_inputs(c, e, pos, km)
            inp["attn_bias"][0, 0, 1, 4] = torch.log(torch.tensor(2.0))
            edited = dec(**inp)[2]
        ratio = (edited[0, 0, 1, 4] / edited[0, 0, 1, 5]) / (base[0, 0, 1, 4] / base[0, 0, 1, 5])
        self.assertAlmostEqual(ratio.item(), 2.0, places=4)
        torch.testing.assert_close(edited[1], base[1])          # other rows untouched

    def test_amp_rewrites_logit_by_abs(self):
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        dec = DecoderAbi(m, [0])
        lay = m.language_model.layers[0]
        with torch.no_grad():
            q, k, _ = lay.self_attn.qkv(lay.input_layernorm(e), pos)
            a = (q @ k.transpose(-1, -2) / (q.shape[-1] ** 0.5))[0, 2, -1]
            inp = neutral_decoder_inputs(c, e, pos, km)
            inp["amp"][0, 0, 2] = 0.5
            inp["amp_mask"][0, 0, 3] = 1.0
            got = dec(**inp)[2][0, 0, 2]
        want = a.clone()
        want[3] = a[3] + 0.5 * a[3].abs()
        torch.testing.assert_close(got, torch.softmax(want, -1), atol=1e-6, rtol=0)

    def test_row_mask_limits_edits_to_chosen_query_rows(self):
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        dec = DecoderAbi(m, [0])
        with torch.no_grad():
            base = dec(**neutral_decoder_inputs(c, e, pos, km))[3]
            inp = neutral_decoder_inputs(c, e, pos, km)
            inp["attn_bias"][:, 0, :, 0] = 3.0
            inp["row_mask"][:, :-1] = 0
            got = dec(**inp)[3]
        torch.testing.assert_close(got[:, 0, :-1], base[:, 0, :-1])
        self.assertFalse(torch.allclose(got[0, 0, -1], base[0, 0, -1]))

    def test_head_scale_zero_removes_heads(self):
        m = model()
        c = m.c
        e, pos, km = padded_batch(c)
        dec = DecoderAbi(m, [0])
        with torch.no_grad():
            inp = neutral_decoder_inputs(c, e, pos, km)
            inp["head_scale"][:] = 0.0
            out = dec(**inp)
            x = e                                   # attention contributes nothing: each layer is x + mlp(norm(x))
            for layer in m.language_model.layers:
                x = x + layer.mlp(layer.post_attention_layernorm(x))
            want = m.language_model.lm_head(m.language_model.norm(x[:, -1]))
        torch.testing.assert_close(out[0], want, atol=1e-5, rtol=0)

    def test_redistribute_moves_fraction_of_sink_mass_onto_targets(self):
        A = torch.tensor([0.5, 0.1, 0.3, 0.1]).view(1, 1, 1, 4)
        vis = torch.tensor([1.0, 1, 1, 0]).view(1, 1, 1, 4)
        sink = torch.tensor([1.0, 0, 0, 0]).view(1, 1, 1, 4)
        tgt = torch.tensor([0.0, 1, 1, 0]).view(1, 1, 1, 4)
        moved, gate = abi.redistribute(A, vis, sink, tgt, torch.tensor(0.4), torch.tensor(0.2), torch.tensor(0.9))
        torch.testing.assert_close(moved.flatten(), torch.tensor([0.3, 0.15, 0.45, 0.1]))
        self.assertTrue(gate.item())
        _, closed = abi.redistribute(A, vis, sink, tgt, torch.tensor(0.4), torch.tensor(0.2), torch.tensor(0.5))
        self.assertFalse(closed.item())            # visual sink share 0.5/0.9 > rho 0.5

    def test_focus_reweights_visual_heads_and_balances_query_heads(self):
        A = torch.tensor([[0.6, 0.2, 0.1, 0.1],        # head 0: most visual
                          [0.1, 0.1, 0.2, 0.6]]).view(1, 2, 1, 4)  # head 1: most query
        vis = torch.tensor([1.0, 1, 0, 0]).view(1, 1, 1, 4)
        logw = torch.log(torch.tensor([2.0, 1, 1, 1])).view(1, 1, 1, 4)
        q = torch.tensor([0.0, 0, 0, 1]).view(1, 1, 1, 4)
        out = abi.focus(A, vis, logw, torch.tensor(1).view(1, 1, 1), q)
        r = (0.6 * 2 + 0.2) / 0.8
        h0 = torch.tensor([1.2, 0.2, 0.1, 0.1])
        h1 = torch.tensor([0.1, 0.1, 0.2, 0.6 * r])
        torch.testing.assert_close(out[0, 0, 0], h0 / h0.sum())
        torch.testing.assert_close(out[0, 1, 0], h1 / h1.sum())

    def test_topk_mask_breaks_ties_by_lower_head(self):
        s = torch.tensor([0.2, 0.5, 0.5, 0.1]).view(1, 4, 1)
        self.assertEqual(abi.topk_mask(s, torch.tensor(2).view(1, 1, 1)).flatten().tolist(), [False, True, True, False])
        self.assertEqual(abi.topk_mask(s, torch.tensor(1).view(1, 1, 1)).flatten().tolist(), [False, True, False, False])

    def test_counterfactual_modes(self):
        A = torch.tensor([0.5, 0.3, 0.2, 0.0]).view(1, 1, 1, 4)
        allowed = torch.tensor([1.0, 1, 1, 0]).view(1, 1, 1, 4)
        alt = torch.tensor([1.0, 0, 1, 1]).view(1, 1, 1, 4)
        perm = torch.tensor([2, 1, 0, 3]).view(1, 1, 1, 4)
        f = lambda mode: abi.counterfactual(A, allowed, torch.tensor(mode).view(1, 1, 1, 1), alt, perm).flatten()
        torch.testing.assert_close(f(abi.MIX_GIVEN), torch.tensor([0.5, 0, 0.5, 0]))
        torch.testing.assert_close(f(abi.MIX_UNIFORM), torch.tensor([1 / 3, 1 / 3, 1 / 3, 0]))
        torch.testing.assert_close(f(abi.MIX_REVERSE), torch.tensor([0.0, 0.2, 0.3, 0]))
        torch.testing.assert_close(f(abi.MIX_REVERSE_NORM), torch.tensor([0.0, 0.4, 0.6, 0]))
        torch.testing.assert_close(f(abi.MIX_PERMUTE), torch.tensor([0.2, 0.3, 0.5, 0]))

    def test_pair_heads_picks_heads_above_lower_median_after_outliers(self):
        o = torch.zeros(2, 4, 2)
        o[0, :, 0] = torch.tensor([1.0, 2.0, 3.0, 4.0])      # divergence from row 1 = 1, 2, 3, 4
        sel = abi.pair_heads(o, torch.tensor([1, -1]))
        self.assertEqual(sel[0].tolist(), [False, False, True, True])   # lower median 2


if __name__ == "__main__":
    unittest.main()
