package io.sightline.intervention;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.Generator;
import io.sightline.engine.TestModel;
import io.sightline.engine.TokenListener;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import tools.jackson.databind.json.JsonMapper;

/**
 * Each served method against its PyTorch reference (onnx-models/tools/methods, goldens written by
 * method_goldens.py): the same tokens, and the final (combined) logits of every step equal to the golden top 5
 * within the file's tolerance, with no other token above the fifth. The golden's parameters are passed explicitly
 * (every field), and for a method's first three cases (the reference's defaults) the Java defaults, calibrated
 * ones included, must equal them. {@code -Dparity.method=vcd} runs one method's cases.
 */
class MethodParityTest {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    static final Path DIR = TestModel.DIR.resolve("goldens").resolve("methods");
    /** Cases 1..3 of every method run the reference's default parameters (method_goldens.py CASES). */
    private static final int DEFAULT_CASES = 3;
    /**
     * Relative slack on top of the file's absolute tolerance: the files round to 6 significant digits, and
     * contrasts multiply the rows' float32 rounding by their weight (M3ID's (1 - γ_t)/γ_t reaches hundreds), so
     * large combined logits carry proportionally larger differences.
     */
    private static final double RELATIVE = 1e-4;
    /**
     * Golden cases whose parameters the engine refuses at admission (422), with the parameter the refusal names:
     * CARVE's two-image final prompt (one image per row, see Carve). They are checked to stay refused.
     */
    private static final Map<String, String> REFUSED = Map.of("carve-4", "two_images");

    @TestFactory
    Stream<DynamicTest> servedMethodsMatchTheirReference() throws IOException {
        InterventionRegistry registry = InterventionRegistry.standard(TestModel.bundle());
        Generator gen = TestModel.generator(registry);
        String only = System.getProperty("parity.method", "");
        List<DynamicTest> tests = new ArrayList<>();
        try (Stream<Path> s = Files.list(DIR)) {
            for (Path f : s.filter(p -> p.toString().endsWith(".json")).sorted().toList()) {
                Map<String, Object> g = read(f);
                String method = (String) g.get("method");
                String name = (String) g.get("case");
                if (!registry.known().contains(method) || !(only.isEmpty() || only.equals(method))) {
                    continue;
                }
                tests.add(REFUSED.containsKey(name)
                        ? DynamicTest.dynamicTest(name + " is refused", () -> assertRefused(registry, g, REFUSED.get(name)))
                        : DynamicTest.dynamicTest(name, () -> check(registry, gen, g)));
            }
        }
        return tests.stream();
    }

    @SuppressWarnings("unchecked")
    private static void check(InterventionRegistry registry, Generator gen, Map<String, Object> g) {
        String method = (String) g.get("method");
        Map<String, Object> params = (Map<String, Object>) g.get("params");
        assertDefaultsMatch(registry, g);
        GenerationRequest req = new GenerationRequest(TestModel.image((String) g.get("image")), (String) g.get("prompt"),
                TestModel.decoding((Map<String, Object>) g.get("decoding")), List.of(new ArmSpec(method, params)));
        assertMatchesGolden(gen, req, g);
    }

    @SuppressWarnings("unchecked")
    private static void assertRefused(InterventionRegistry registry, Map<String, Object> g, String param) {
        ArmSpec spec = new ArmSpec((String) g.get("method"), (Map<String, Object>) g.get("params"));
        assertThatThrownBy(() -> registry.bind(spec, "params")).isInstanceOfSatisfying(InvalidParamsException.class,
                e -> assertThat(e.field()).isEqualTo("params." + param));
    }

    /** For a method's first cases (the reference's defaults): the Java defaults, calibrated ones included, are the golden's. */
    @SuppressWarnings("unchecked")
    static void assertDefaultsMatch(InterventionRegistry registry, Map<String, Object> g) {
        String name = (String) g.get("case");
        Map<String, Object> params = (Map<String, Object>) g.get("params");
        if (Integer.parseInt(name.substring(name.lastIndexOf('-') + 1)) <= DEFAULT_CASES) {
            Map<String, Object> defaults = registry.bind(new ArmSpec((String) g.get("method"), Map.of()), "params").params();
            assertThat(defaults.keySet()).as("%s parameter names", name).isEqualTo(params.keySet());
            params.forEach((k, v) -> assertThat(same(defaults.get(k), v))
                    .as("%s default %s: java %s, reference %s", name, k, defaults.get(k), v).isTrue());
        }
    }

    /**
     * Runs {@code req} (one arm) and checks it against golden {@code g}: the same tokens, and the final logits of
     * every step equal to the golden top 5 within the file's tolerance, with no other token above the fifth.
     */
    @SuppressWarnings("unchecked")
    static void assertMatchesGolden(Generator gen, GenerationRequest req, Map<String, Object> g) {
        String name = (String) g.get("case");
        List<float[]> logits = new ArrayList<>();
        TokenListener listener = new TokenListener() {
            @Override
            public void onToken(int arm, int token, float logprob, long nanos) {
            }

            @Override
            public void onLogits(int arm, float[] l) {
                logits.add(l.clone());
            }
        };
        ArmResult r = gen.generate(req, Cancellation.create(), listener).get(0);

        List<Integer> expected = new ArrayList<>(((List<Number>) g.get("tokens")).stream().map(Number::intValue).toList());
        int eos = TestModel.bundle().specialTokens().eosId();
        if (!expected.isEmpty() && expected.get(expected.size() - 1) == eos) {
            expected.remove(expected.size() - 1);      // the engine reports eos as the end, not as a token
        }
        assertThat(r.tokens()).as("%s tokens (text %s)", name, r.text())
                .containsExactly(expected.stream().mapToInt(Integer::intValue).toArray());

        double tol = ((Number) ((Map<String, Object>) g.get("tolerance")).get("logits")).doubleValue();
        List<Map<String, Object>> steps = (List<Map<String, Object>>) g.get("steps");
        assertThat(logits).as("%s steps", name).hasSize(steps.size());
        for (int i = 0; i < steps.size(); i++) {
            float[] l = logits.get(i);
            List<List<Object>> top5 = (List<List<Object>>) steps.get(i).get("top5");
            double fifth = Double.POSITIVE_INFINITY;
            for (List<Object> top : top5) {
                int id = ((Number) top.get(0)).intValue();
                double want = value(top.get(1));
                fifth = want;
                if (Double.isInfinite(want)) {
                    assertThat((double) l[id]).as("%s step %d logit of %d", name, i, id).isEqualTo(want);
                } else {
                    assertThat((double) l[id]).as("%s step %d logit of %d", name, i, id).isCloseTo(want, offset(tol + RELATIVE * Math.abs(want)));
                }
            }
            long above = 0;
            for (float v : l) {
                above += v > fifth + tol + RELATIVE * Math.abs(fifth) ? 1 : 0;
            }
            assertThat(above).as("%s step %d: tokens above the golden top 5", name, i).isLessThanOrEqualTo(4);
        }
    }

    /** A golden logit: a number, or "-inf" for entries the method removed. */
    private static double value(Object v) {
        return v instanceof Number n ? n.doubleValue() : Double.parseDouble(((String) v).replace("inf", "Infinity"));
    }

    /** Parameter values equal across JSON number types and lists. */
    private static boolean same(Object java, Object golden) {
        if (java instanceof Number a && golden instanceof Number b) {
            return Math.abs(a.doubleValue() - b.doubleValue()) <= 1e-6 * Math.max(1, Math.abs(b.doubleValue()));
        }
        if (java instanceof List<?> a && golden instanceof List<?> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!same(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }
        return java == null ? golden == null : java.equals(golden);
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> read(Path f) {
        return JSON.readValue(f.toFile(), Map.class);
    }
}
