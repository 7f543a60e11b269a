package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.BoundArm;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.vision.ImagePreprocessor;
import io.sightline.vision.PreparedImage;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Every check a generation passes before anything is stored: field ranges (400 invalid-request, all offending
 * fields at once), then the image (415/413/422), then each arm against the registry (422 unknown-intervention or
 * invalid-params). A request refused here leaves no row behind.
 */
public final class GenerationAdmission {

    static final int DEFAULT_MAX_NEW_TOKENS = 32;
    static final double MAX_TEMPERATURE = 2.0;
    static final int MAX_STOP_CHARS = 64;
    /** The arm of a request that names none: plain decoding. */
    static final GenerationBody.Arm PLAIN_ARM = new GenerationBody.Arm("none", Map.of());

    private final ImagePreprocessor images;
    private final InterventionRegistry registry;
    private final int maxPromptChars;
    private final int maxNewTokens;
    private final int maxArms;

    public GenerationAdmission(ImagePreprocessor images, InterventionRegistry registry, int maxPromptChars,
                               int maxNewTokens, int maxArms) {
        this.images = images;
        this.registry = registry;
        this.maxPromptChars = maxPromptChars;
        this.maxNewTokens = Math.min(maxNewTokens, DecodingOptions.MAX_NEW_TOKENS);
        this.maxArms = Math.min(maxArms, GenerationRequest.MAX_ARMS);
    }

    /** Blocking: decodes the image. */
    AdmittedGeneration admit(GenerationBody body, byte[] imageBytes) {
        List<FieldError> errors = new ArrayList<>();
        String prompt = body.prompt();
        if (prompt == null) {
            errors.add(new FieldError("prompt", "is required"));
        } else if (prompt.isBlank()) {
            errors.add(new FieldError("prompt", "must not be blank"));
        } else if (prompt.length() > maxPromptChars) {
            errors.add(new FieldError("prompt", "at most " + maxPromptChars + " characters, was " + prompt.length()));
        }
        int tokens = orDefault(body.maxNewTokens(), DEFAULT_MAX_NEW_TOKENS);
        if (tokens < 1 || tokens > maxNewTokens) {
            errors.add(new FieldError("max_new_tokens", "must be in 1.." + maxNewTokens + ", was " + tokens));
        }
        double temperature = orDefault(body.temperature(), 0.0);
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            errors.add(new FieldError("temperature", "must be in 0.." + MAX_TEMPERATURE + " (0 = greedy), was " + temperature));
        }
        int topK = orDefault(body.topK(), 0);
        if (topK < 0) {
            errors.add(new FieldError("top_k", "must be >= 0 (0 = off), was " + topK));
        }
        double topP = orDefault(body.topP(), 1.0);
        if (!(topP > 0 && topP <= 1)) {
            errors.add(new FieldError("top_p", "must be in (0, 1] (1 = off), was " + topP));
        }
        List<String> stop = body.stop() == null ? List.of() : body.stop();
        if (stop.size() > DecodingOptions.MAX_STOP_STRINGS) {
            errors.add(new FieldError("stop", "at most " + DecodingOptions.MAX_STOP_STRINGS + " strings, was " + stop.size()));
        }
        for (int i = 0; i < stop.size(); i++) {
            String s = stop.get(i);
            if (s == null || s.isEmpty() || s.length() > MAX_STOP_CHARS) {
                errors.add(new FieldError("stop[" + i + "]", "must be 1.." + MAX_STOP_CHARS + " characters"));
            }
        }
        List<GenerationBody.Arm> arms = body.arms() == null ? List.of(PLAIN_ARM) : body.arms();
        if (arms.isEmpty() || arms.size() > maxArms) {
            errors.add(new FieldError("arms", "must hold 1.." + maxArms + " arms, was " + arms.size()));
        }
        for (int i = 0; i < arms.size(); i++) {
            GenerationBody.Arm arm = arms.get(i);
            if (arm == null || arm.intervention() == null || arm.intervention().isBlank()) {
                errors.add(new FieldError("arms[" + i + "].intervention", "is required"));
            } else if (arm.params() != null && arm.params().values().stream().anyMatch(Objects::isNull)) {
                errors.add(new FieldError("arms[" + i + "].params", "values must not be null"));
            }
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }

        PreparedImage image = images.prepare(imageBytes);

        List<ArmSpec> specs = new ArrayList<>();
        List<Map<String, Object>> acceptedArms = new ArrayList<>();
        for (int i = 0; i < arms.size(); i++) {
            ArmSpec spec = new ArmSpec(arms.get(i).intervention(), arms.get(i).params());
            BoundArm bound = registry.bind(spec, "arms[" + i + "].params");
            specs.add(spec);
            Map<String, Object> accepted = new LinkedHashMap<>();
            accepted.put("intervention", bound.intervention());
            accepted.put("params", bound.params());
            acceptedArms.add(accepted);
        }
        // a sampled generation without a seed gets one drawn here, so every stored generation can be replayed
        Long seed = body.seed();
        if (seed == null && temperature > 0) {
            seed = ThreadLocalRandom.current().nextLong(1L << 53);
        }
        DecodingOptions decoding = new DecodingOptions(tokens, temperature, topK, topP, seed, stop);
        GenerationRequest request = new GenerationRequest(image.input(), prompt, decoding, specs);

        Map<String, Object> accepted = new LinkedHashMap<>();
        accepted.put("max_new_tokens", tokens);
        accepted.put("temperature", temperature);
        accepted.put("top_k", topK);
        accepted.put("top_p", topP);
        accepted.put("seed", seed);
        accepted.put("stop", stop);
        accepted.put("arms", acceptedArms);
        return new AdmittedGeneration(request, image, imageBytes, sha256(imageBytes), accepted,
                specs.stream().map(ArmSpec::intervention).toList());
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JRE has SHA-256", e);
        }
    }
}
