package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class OrtVlmTest {

    @Test
    void requestingCudaGivesAWorkingEngineFallingBackToCpuWithoutCuda() {
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-c.png"), "describe the image .",
                DecodingOptions.greedy(8), List.of(ArmSpec.none()));
        ArmResult cpu = TestModel.generator().generate(req, Cancellation.create()).get(0);
        try (OrtVlm cuda = OrtVlm.open(TestModel.bundle(), new EngineOptions("cuda", 1))) {
            if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
                assertThat(cuda.executionProvider()).isEqualTo("cpu");
            }
            ArmResult r = new Generator(cuda, TestModel.tokenizer(), InterventionRegistry.standard(TestModel.bundle()))
                    .generate(req, Cancellation.create()).get(0);
            if (cuda.executionProvider().equals("cpu")) {
                assertThat(r.tokens()).containsExactly(cpu.tokens());
            } else {
                assertThat(r.tokens()).isNotEmpty();
            }
        }
    }

    @Test
    void closeIsIdempotent() {
        OrtVlm vlm = OrtVlm.open(TestModel.bundle(), new EngineOptions("cpu", 1));
        vlm.close();
        vlm.close();
    }

    @Test
    void missingModelDirectoryIsAnEngineFailureNamingTheFile() {
        assertThatThrownBy(() -> ModelBundle.load(Path.of("no-such-model")))
                .isInstanceOf(EngineFailureException.class).hasMessageContaining("model.json");
    }

    @Test
    void bundleReadsTheShippedModelJson() {
        ModelBundle b = TestModel.bundle();
        assertThat(b.dims().imageTokens()).isEqualTo(b.grid()[0] * b.grid()[1]);
        assertThat(b.dims().heads() * b.dims().headDim()).isEqualTo(b.dims().hidden());
        assertThat(b.promptTemplate()).contains("{prompt}").contains(b.specialTokens().image());
        assertThat(b.templateParts()[0] + "{prompt}" + b.templateParts()[1]).isEqualTo(b.promptTemplate());
        assertThat(b.sinkDims()).isNotEmpty();
    }

    @Test
    void unknownExecutionProviderIsInvalidParams() {
        assertThatThrownBy(() -> new EngineOptions("tpu", 0)).isInstanceOf(InvalidParamsException.class)
                .hasMessageContaining("execution_provider");
    }
}
