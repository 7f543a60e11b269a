import unittest

import numpy as np

import text
import world


class WorldTest(unittest.TestCase):
    def test_same_seed_gives_same_scene_and_pixels(self):
        for seed in (0, 17, 1_000_003):
            a, b = world.sample_scene(seed), world.sample_scene(seed)
            self.assertEqual(a.to_dict(), b.to_dict())
            np.testing.assert_array_equal(world.render(a), world.render(b))

    def test_different_seeds_differ(self):
        scenes = {str(world.sample_scene(s).to_dict()["objects"]) for s in range(50)}
        self.assertGreater(len(scenes), 45)

    def test_scene_record_is_consistent(self):
        for s in range(200):
            sc = world.sample_scene(s)
            self.assertTrue(1 <= len(sc.objects) <= world.Knobs().max_objects)
            self.assertEqual(len({o.position for o in sc.objects}), len(sc.objects))
            self.assertEqual(len(set(sc.shapes())), len(sc.objects))
            self.assertEqual(world.render(sc).shape, (world.IMAGE_SIZE, world.IMAGE_SIZE, 3))

    def test_cooccurrence_knob_is_planted(self):
        scenes = [world.sample_scene(s) for s in range(3000)]
        with_star = [sc for sc in scenes if "star" in sc.shapes()]
        moon_given_star = sum("moon" in sc.shapes() for sc in with_star) / len(with_star)
        moon = sum("moon" in sc.shapes() for sc in scenes) / len(scenes)
        self.assertGreater(moon_given_star, 0.6)
        self.assertGreater(moon_given_star, 2 * moon)

    def test_frequency_knob_is_planted(self):
        counts = {s: 0 for s in world.SHAPES}
        for s in range(3000):
            for shape in world.sample_scene(s).shapes():
                counts[shape] += 1
        self.assertGreater(counts["circle"], 1.8 * counts["diamond"])

    def test_planted_caption_names_absent_partner_only_when_planted(self):
        sc = next(world.sample_scene(s) for s in range(10000) if world.sample_scene(s).caption_partner)
        self.assertNotIn(sc.caption_partner, sc.shapes())
        self.assertIn(sc.caption_partner, world.caption(sc, planted=True))
        self.assertNotIn(sc.caption_partner, world.caption(sc, planted=False))

    def test_knobs_are_serialisable(self):
        d = world.knobs_dict(world.Knobs())
        self.assertIn("sycophancy", d)
        self.assertIn("cooccurrence", d)


class TextTest(unittest.TestCase):
    def test_template_tokens(self):
        ids = text.prompt_ids("is there a star in the image ?")
        self.assertEqual(ids[:4], [text.IDS[w] for w in ["<s>", "user", ":", "<image>"]])
        self.assertEqual(ids[-2:], [text.IDS["assistant"], text.IDS[":"]])

    def test_decode_inverts_encode(self):
        s = "a red star, a blue moon and a white heart."
        self.assertEqual(text.decode(text.encode(s)), s)

    def test_tokenizer_json_is_word_level_with_specials(self):
        tj = text.tokenizer_json()
        self.assertEqual(tj["model"]["type"], "WordLevel")
        self.assertEqual({t["content"] for t in tj["added_tokens"]}, set(text.SPECIALS))
        self.assertEqual(len(tj["model"]["vocab"]), len(text.VOCAB))
