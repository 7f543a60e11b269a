package io.sightline.engine;

import java.util.Locale;

/**
 * How {@link OrtVlm} opens its sessions.
 *
 * @param executionProvider {@code "cpu"} or {@code "cuda"}; cuda falls back to cpu with one warning when the
 *                          runtime has no CUDA provider
 * @param intraOpThreads    threads per ONNX Runtime call; 0 lets the runtime choose
 */
public record EngineOptions(String executionProvider, int intraOpThreads) {

    public EngineOptions {
        executionProvider = executionProvider == null ? "cpu" : executionProvider.toLowerCase(Locale.ROOT);
        if (!executionProvider.equals("cpu") && !executionProvider.equals("cuda")) {
            throw new InvalidParamsException("execution_provider", "must be cpu or cuda, was " + executionProvider);
        }
        if (intraOpThreads < 0) {
            throw new InvalidParamsException("intra_op_threads", "must be >= 0, was " + intraOpThreads);
        }
    }

    public static EngineOptions cpu() {
        return new EngineOptions("cpu", 0);
    }
}
