package io.sightline.engine.bench;

import io.sightline.engine.ArmLogits;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.EngineOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.ImageInput;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.OrtVlm;
import io.sightline.engine.ProbeKind;
import io.sightline.engine.Slot;
import io.sightline.engine.Step;
import io.sightline.engine.Tokenizer;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.ArmView;
import io.sightline.intervention.Footprint;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Steerer;
import java.awt.image.BufferedImage;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;

/**
 * Decode tokens/s and time to first token of the Java engine at several batch sizes, beside the PyTorch eager
 * reference on the same prompts in the same run (docs/bench.md). Both sides measure alike: B rows, the sample
 * images in turn, prompt "describe the image .", greedy, exactly {@code tokens} tokens per row (eos ignored);
 * TTFT = vision + prefill + first token; decode tokens/s = B * (tokens - 1) / time after the first token;
 * best of {@code repeats} after one warm-up.
 *
 * <pre>
 * -Dbench.model=onnx-models/shapes-vlm  -Dbench.samples=onnx-models/samples  -Dbench.batches=1,8  -Dbench.tokens=24  -Dbench.repeats=3
 * -Dbench.threads=2   (ONNX Runtime intra-op threads; the reference gets --threads the same)
 * -Dbench.reference="/usr/bin/python3 onnx-models/tools/reference.py bench --batch {batch} --tokens {tokens}
 *                    --model {model} --threads {threads}"   (prints one JSON line; "none" skips it)
 * </pre>
 */
public final class DecodeBench {

    private static final String PROMPT = "describe the image .";
    private static final String DEFAULT_REFERENCE = "/usr/bin/python3 onnx-models/tools/reference.py bench"
            + " --batch {batch} --tokens {tokens} --model {model} --threads {threads}";

    /** Masks eos so that every row decodes exactly the requested number of tokens, as the reference bench does. */
    static final class IgnoreEos implements Intervention<IgnoreEos.Params> {
        record Params() {
        }

        @Override
        public String name() {
            return "ignore-eos";
        }

        @Override
        public String paper() {
            return "";
        }

        @Override
        public String summary() {
            return "test intervention";
        }

        @Override
        public Params defaults() {
            return new Params();
        }

        @Override
        public Footprint footprint(Params p) {
            return new Footprint(List.of(), EnumSet.of(Slot.LOGITS), EnumSet.noneOf(ProbeKind.class));
        }

        @Override
        public Steerer open(Params p, ArmView arm) {
            int eos = arm.model().specialTokens().eosId();
            return new Steerer() {
                @Override
                public void combine(Step step, ArmLogits io) {
                    io.base()[eos] = Float.NEGATIVE_INFINITY;
                }
            };
        }
    }

    record Numbers(double ttftMs, double decodeTokensPerSecond) {
    }

    public static void main(String[] args) throws Exception {
        Path model = Path.of(System.getProperty("bench.model", "onnx-models/shapes-vlm"));
        int[] batches = Arrays.stream(System.getProperty("bench.batches", "1,8").split(","))
                .mapToInt(s -> Integer.parseInt(s.trim())).toArray();
        int tokens = Integer.getInteger("bench.tokens", 24);
        int repeats = Integer.getInteger("bench.repeats", 3);
        int threads = Integer.getInteger("bench.threads", 2);
        String reference = System.getProperty("bench.reference", DEFAULT_REFERENCE);

        ModelBundle bundle = ModelBundle.load(model);
        List<ImageInput> images = samples(bundle, Path.of(System.getProperty("bench.samples", "onnx-models/samples")));
        System.out.printf("DecodeBench: model %s, %d tokens per row, best of %d, %d intra-op threads, JDK %s, %s, "
                        + "ONNX Runtime %s%n", model, tokens, repeats, threads, System.getProperty("java.version"),
                cpu(), ai.onnxruntime.OrtEnvironment.getEnvironment().getVersion());
        System.out.printf("%-6s %-14s %10s %16s%n", "batch", "engine", "ttft_ms", "decode_tok/s");
        try (OrtVlm vlm = OrtVlm.open(bundle, new EngineOptions("cpu", threads));
             Tokenizer tok = Tokenizer.load(bundle)) {
            Generator gen = new Generator(vlm, tok, InterventionRegistry.of(new IgnoreEos()));
            for (int b : batches) {
                Numbers java = java(gen, images, b, tokens, repeats);
                System.out.printf("%-6d %-14s %10.2f %16.1f%n", b, "java-ort", java.ttftMs(), java.decodeTokensPerSecond());
                if (reference.equals("none")) {
                    continue;
                }
                Numbers py = reference(reference.replace("{batch}", "" + b).replace("{tokens}", "" + tokens)
                        .replace("{model}", model.toString()).replace("{threads}", "" + threads));
                System.out.printf("%-6d %-14s %10.2f %16.1f%n", b, "pytorch-eager", py.ttftMs(), py.decodeTokensPerSecond());
                System.out.printf("%-6d %-14s %10.2fx %15.2fx%n", b, "java speedup", py.ttftMs() / java.ttftMs(),
                        java.decodeTokensPerSecond() / py.decodeTokensPerSecond());
            }
        }
    }

    private static Numbers java(Generator gen, List<ImageInput> images, int batch, int tokens, int repeats) {
        List<GenerationRequest> reqs = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            reqs.add(new GenerationRequest(images.get(i % images.size()), PROMPT, DecodingOptions.greedy(tokens),
                    List.of(new ArmSpec("ignore-eos", Map.of()))));
        }
        double bestTtft = Double.MAX_VALUE;
        double bestTps = 0;
        for (int r = 0; r <= repeats; r++) {
            long[] first = {Long.MAX_VALUE};
            long[] last = {0};
            gen.generateBatch(reqs, Cancellation.create(), (arm, token, lp, nanos) -> {
                first[0] = Math.min(first[0], nanos);
                last[0] = Math.max(last[0], nanos);
            });
            if (r == 0) {
                continue;                                    // warm-up: session first-run allocations
            }
            bestTtft = Math.min(bestTtft, first[0] / 1e6);
            bestTps = Math.max(bestTps, batch * (tokens - 1) / ((last[0] - first[0]) / 1e9));
        }
        return new Numbers(bestTtft, bestTps);
    }

    private static Numbers reference(String command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("/bin/sh", "-c", command).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException("reference command failed (" + p.exitValue() + "): " + command);
        }
        return new Numbers(number(out, "ttft_ms"), number(out, "decode_tokens_per_s"));
    }

    private static double number(String json, String field) {
        Matcher m = Pattern.compile("\"" + field + "\"\\s*:\\s*([0-9.eE+-]+)").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("reference output has no " + field + ": " + json);
        }
        return Double.parseDouble(m.group(1));
    }

    private static List<ImageInput> samples(ModelBundle b, Path dir) throws IOException {
        List<ImageInput> out = new ArrayList<>();
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".png")).sorted().toList()) {
                out.add(normalise(b, ImageIO.read(f.toFile())));
            }
        }
        return out;
    }

    /** RGB / 255, then (x - mean) / std, as reference.py pixels() does for images already at the model's size. */
    private static ImageInput normalise(ModelBundle b, BufferedImage img) {
        int s = b.imageSize();
        float[] px = new float[3 * s * s];
        for (int y = 0; y < s; y++) {
            for (int x = 0; x < s; x++) {
                int rgb = img.getRGB(x, y);
                int[] c = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
                for (int ch = 0; ch < 3; ch++) {
                    px[(ch * s + y) * s + x] = ((float) c[ch] / 255.0f - b.mean()[ch]) / b.std()[ch];
                }
            }
        }
        return new ImageInput(px, s, s);
    }

    public static String cpu() {
        try {
            for (String line : Files.readAllLines(new File("/proc/cpuinfo").toPath())) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim() + " x" + Runtime.getRuntime().availableProcessors();
                }
            }
        } catch (IOException e) {
            // not Linux: the JVM's count is all we report
        }
        return Runtime.getRuntime().availableProcessors() + " CPUs";
    }
}
