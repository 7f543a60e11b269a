import json
import os
import tempfile
import unittest

import onnx
import torch

import abi
import export
import llava_layout
from tests.test_abi import model

MODELS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHIPPED = os.path.join(MODELS, "shapes-vlm")


def io(path):
    m = onnx.load(path)
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
    return m, {i.name: dims(i) for i in m.graph.input}, {o.name: dims(o) for o in m.graph.output}


class ExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.model = model()
        export.export_graphs(cls.model, cls.tmp.name, [1, 2], cls.model.c.feature_layers)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def check_decoder(self, path, c):
        m, ins, outs = io(path)
        self.assertEqual(list(ins), abi.DECODER_INPUTS)
        self.assertEqual(list(outs), abi.DECODER_OUTPUTS)
        self.assertGreaterEqual(m.opset_import[0].version, 14)
        L, H, dh = c["layers"], c["heads"], c["head_dim"]
        self.assertEqual(ins["inputs_embeds"], ["B", "T", c["hidden"]])
        self.assertEqual(ins["past_kv"], [L, 2, "B", H, "P", dh])
        self.assertEqual(ins["attn_bias"], ["B", L, H, "S"])
        self.assertEqual(outs["present_kv"], [L, 2, "B", H, "S", dh])
        self.assertEqual(outs["attn_query"], ["B", L, "T", "S"])
        self.assertEqual(outs["logits"], ["B", c["vocab"]])
        onnx.checker.check_model(path)

    def test_decoder_names_shapes_and_dynamic_axes(self):
        c = self.model.c
        self.check_decoder(os.path.join(self.tmp.name, "decoder.onnx"),
                           {"layers": c.text_layers, "heads": c.text_heads, "head_dim": c.text_dim // c.text_heads,
                            "hidden": c.text_dim, "vocab": c.vocab_size})

    def test_vision_and_embed_names(self):
        _, ins, outs = io(os.path.join(self.tmp.name, "vision.onnx"))
        self.assertEqual(list(ins), abi.VISION_INPUTS)
        self.assertEqual(list(outs), abi.VISION_OUTPUTS)
        self.assertEqual(ins["pixel_values"][0], "B")
        _, ins, outs = io(os.path.join(self.tmp.name, "decoder_plain.onnx"))
        self.assertEqual(list(ins), abi.PLAIN_INPUTS)
        self.assertEqual(list(outs), abi.PLAIN_OUTPUTS)
        _, ins, outs = io(os.path.join(self.tmp.name, "embed.onnx"))
        self.assertEqual(ins["input_ids"], ["B", "T"])
        for name, (edits, probes) in abi.DECODER_VARIANTS.items():
            _, ins, outs = io(os.path.join(self.tmp.name, name + ".onnx"))
            self.assertEqual((list(ins), list(outs)), abi.variant_io(edits, probes))

    def test_shipped_model_matches_model_json(self):
        with open(os.path.join(SHIPPED, "model.json")) as f:
            meta = json.load(f)
        self.check_decoder(os.path.join(SHIPPED, "decoder.onnx"), meta["text"])
        size = sum(os.path.getsize(os.path.join(SHIPPED, f)) for f in os.listdir(SHIPPED)
                   if os.path.isfile(os.path.join(SHIPPED, f)))
        self.assertLess(size, 40 * 2 ** 20)
        for key in ("prompt_template", "special_tokens", "sink_dims", "image", "image_tokens", "files"):
            self.assertIn(key, meta)


class LlavaLayoutTest(unittest.TestCase):
    def test_round_trip_tiny_random_llava_checkpoint(self):
        with tempfile.TemporaryDirectory() as d:
            llava_layout.write_tiny(d)
            m, meta = llava_layout.load(d)
            with open(os.path.join(d, "expected.json")) as f:
                exp = json.load(f)
            pix = torch.tensor(exp["pixel_values"]).view(exp["pixel_shape"])
            ids = exp["input_ids"]
            i = ids.index(llava_layout.TINY["image_token_index"])
            with torch.no_grad():
                v = abi.VisionAbi(m, m.c.feature_layers)(**abi.neutral_vision_inputs(m.c, pix[None], m.c.feature_layers))
                e = m.language_model.embed_tokens(torch.tensor(ids))
                x = torch.cat([e[:i], v[0][0], e[i + 1:]])[None]
                t = x.shape[1]
                out = abi.DecoderAbi(m, meta["sink_dims"])(
                    **abi.neutral_decoder_inputs(m.c, x, torch.arange(t)[None], torch.ones(1, t)))
            torch.testing.assert_close(out[0][0], torch.tensor(exp["last_logits"]), atol=1e-4, rtol=0)
            export.export_graphs(m, os.path.join(d, "export"), meta["sink_dims"], meta["feature_layers"])
            _, ins, _ = io(os.path.join(d, "export", "vision.onnx"))
            self.assertEqual(ins["mix"], ["B", 2, 4])         # vision_feature_layer -2 of 3 layers: 2 run

    def test_committed_fixture_is_reproducible(self):
        fixture = os.path.join(MODELS, "tests", "tiny-llava")
        with tempfile.TemporaryDirectory() as d:
            llava_layout.write_tiny(d)
            with open(os.path.join(d, "expected.json")) as a, open(os.path.join(fixture, "expected.json")) as b:
                self.assertEqual(json.load(a)["last_logits"], json.load(b)["last_logits"])

    def test_rejects_grouped_query_attention(self):
        cfg = json.loads(json.dumps(llava_layout.TINY))
        cfg["text_config"]["num_key_value_heads"] = 2
        with self.assertRaises(ValueError):
            llava_layout.config_from_hf(cfg)
