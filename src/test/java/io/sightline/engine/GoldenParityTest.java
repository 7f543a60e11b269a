package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.none.None;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * The contract with the PyTorch reference (STYLE.md rule 8): for every golden file of the model under test, the
 * same token ids, the top-5 logits of every step within the file's tolerance, and the listed prefill probes.
 * Driven by whatever files are in {@code <model>/goldens/}; Java never rewrites them.
 */
class GoldenParityTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    /** Probes are rounded to 6 significant digits in the files and computed by two runtimes: compare loosely. */
    private static final double PROBE_TOLERANCE = 2e-3;

    @TestFactory
    Stream<DynamicTest> goldenFiles() throws IOException {
        Path dir = TestModel.DIR.resolve("goldens");
        if (!Files.isDirectory(dir)) {
            return Stream.empty();
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        return files.stream().map(f -> DynamicTest.dynamicTest(f.getFileName().toString(), () -> check(f)));
    }

    @SuppressWarnings("unchecked")
    private static void check(Path file) throws IOException {
        Map<String, Object> g = JSON.readValue(file.toFile(), Map.class);
        String name = (String) g.get("case");
        double tol = ((Number) ((Map<String, Object>) g.get("tolerance")).get("logits")).doubleValue();
        String prompt = (String) g.get("prompt");
        assertThat(TestModel.tokenizer().prompt(prompt).ids()).as("%s prompt_ids", name)
                .containsExactly(longs((List<Number>) g.get("prompt_ids")));

        GoldenControls.Record rec = new GoldenControls.Record();
        GoldenControls golden = new GoldenControls((List<Map<String, Object>>) g.get("controls"), rec);
        Generator gen = TestModel.generator(InterventionRegistry.of(None.INSTANCE, golden));
        GenerationRequest req = new GenerationRequest(TestModel.image((String) g.get("image")), prompt,
                TestModel.decoding((Map<String, Object>) g.get("decoding")), List.of(new ArmSpec("golden", Map.of())));
        ArmResult r = gen.generate(req, Cancellation.create()).get(0);

        List<Number> tokens = (List<Number>) g.get("tokens");
        int eos = TestModel.bundle().specialTokens().eosId();
        List<Integer> expected = new ArrayList<>(tokens.stream().map(Number::intValue).toList());
        if (!expected.isEmpty() && expected.get(expected.size() - 1) == eos) {
            expected.remove(expected.size() - 1);                       // the engine reports eos as the end, not a token
        }
        assertThat(r.tokens()).as("%s tokens", name).containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());

        List<Map<String, Object>> steps = (List<Map<String, Object>>) g.get("steps");
        assertThat(rec.logits).as("%s steps", name).hasSize(steps.size());
        for (int i = 0; i < steps.size(); i++) {
            float[] logits = rec.logits.get(i);
            for (List<Number> top : (List<List<Number>>) steps.get(i).get("top5")) {
                int id = top.get(0).intValue();
                assertThat((double) logits[id]).as("%s step %d logit of %d", name, i, id)
                        .isCloseTo(top.get(1).doubleValue(), org.assertj.core.data.Offset.offset(tol));
            }
            double fifth = ((List<List<Number>>) steps.get(i).get("top5")).get(4).get(1).doubleValue();
            long above = 0;
            for (float l : logits) {
                above += l > fifth + tol ? 1 : 0;
            }
            assertThat(above).as("%s step %d: tokens above the golden top-5", name, i).isLessThanOrEqualTo(4);
        }

        Map<String, Object> probes = (Map<String, Object>) g.get("probes");
        for (Map.Entry<String, Object> p : probes.entrySet()) {
            assertThat(rec.probes).as("%s probe %s recorded", name, p.getKey()).containsKey(p.getKey());
            compare(name + " " + p.getKey(), p.getValue(), rec.probes.get(p.getKey()));
        }
    }

    /** Nested lists of numbers (golden) against nested lists of float[] (engine). */
    private static void compare(String where, Object golden, Object actual) {
        if (actual instanceof float[] a) {
            List<?> gl = (List<?>) golden;
            assertThat(a).as(where + " length").hasSize(gl.size());
            for (int i = 0; i < a.length; i++) {
                double gv = ((Number) gl.get(i)).doubleValue();
                assertThat((double) a[i]).as("%s[%d]", where, i)
                        .isCloseTo(gv, org.assertj.core.data.Offset.offset(PROBE_TOLERANCE * Math.max(1, Math.abs(gv))));
            }
            return;
        }
        List<?> gl = (List<?>) golden;
        List<?> al = (List<?>) actual;
        assertThat(al).as(where + " length").hasSize(gl.size());
        for (int i = 0; i < gl.size(); i++) {
            compare(where + "[" + i + "]", gl.get(i), al.get(i));
        }
    }

    private static long[] longs(List<Number> l) {
        return l.stream().mapToLong(Number::longValue).toArray();
    }

    static String describe(float[] a) {
        return Arrays.toString(a);
    }
}
