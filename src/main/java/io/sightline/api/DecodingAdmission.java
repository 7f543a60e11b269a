package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.BoundArm;
import io.sightline.intervention.InterventionRegistry;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Checks and binds {@link DecodingFields} the same way for generations and evaluations: field ranges first
 * ({@link #check}, 400 with every offending field), then each arm against the registry ({@link #bind}, 422
 * unknown-intervention or invalid-params).
 */
public final class DecodingAdmission {

    static final double MAX_TEMPERATURE = 2.0;
    static final int MAX_STOP_CHARS = 64;
    /** The arm of a request that names none: plain decoding. */
    static final GenerationBody.Arm PLAIN_ARM = new GenerationBody.Arm("none", Map.of());

    /**
     * Decoding options and arms ready to run.
     *
     * @param accepted the options and arms as they will be stored: effective values, arm parameters over defaults
     */
    record Bound(DecodingOptions decoding, List<ArmSpec> arms, Map<String, Object> accepted) {
    }

    private final InterventionRegistry registry;
    private final int maxNewTokens;
    private final int maxArms;

    public DecodingAdmission(InterventionRegistry registry, int maxNewTokens, int maxArms) {
        this.registry = registry;
        this.maxNewTokens = Math.min(maxNewTokens, DecodingOptions.MAX_NEW_TOKENS);
        this.maxArms = Math.min(maxArms, GenerationRequest.MAX_ARMS);
    }

    /** Range errors of the fields, in field order; empty when all are fine. */
    List<FieldError> check(DecodingFields body, int defaultMaxNewTokens) {
        List<FieldError> errors = new ArrayList<>();
        int tokens = orDefault(body.maxNewTokens(), defaultMaxNewTokens);
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
        List<GenerationBody.Arm> arms = arms(body);
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
        return errors;
    }

    /** Binds fields that passed {@link #check}; throws the registry's 422 errors for an arm. */
    Bound bind(DecodingFields body, int defaultMaxNewTokens, DecodingOptions.ArmSeeds armSeeds) {
        List<GenerationBody.Arm> arms = arms(body);
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
        int tokens = orDefault(body.maxNewTokens(), defaultMaxNewTokens);
        double temperature = orDefault(body.temperature(), 0.0);
        int topK = orDefault(body.topK(), 0);
        double topP = orDefault(body.topP(), 1.0);
        List<String> stop = body.stop() == null ? List.of() : body.stop();
        // a sampled request without a seed gets one drawn here, so everything stored can be replayed
        Long seed = body.seed();
        if (seed == null && temperature > 0) {
            seed = ThreadLocalRandom.current().nextLong(1L << 53);
        }
        Map<String, Object> accepted = new LinkedHashMap<>();
        accepted.put("max_new_tokens", tokens);
        accepted.put("temperature", temperature);
        accepted.put("top_k", topK);
        accepted.put("top_p", topP);
        accepted.put("seed", seed);
        accepted.put("stop", stop);
        accepted.put("arms", acceptedArms);
        return new Bound(new DecodingOptions(tokens, temperature, topK, topP, seed, stop, armSeeds), specs, accepted);
    }

    private static List<GenerationBody.Arm> arms(DecodingFields body) {
        return body.arms() == null ? List.of(PLAIN_ARM) : body.arms();
    }

    private static <T> T orDefault(T value, T fallback) {
        return value == null ? fallback : value;
    }
}
