package io.sightline.intervention.iaf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.InvalidParamsException;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.m3id.M3id;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IafTest {

    private final InterventionRegistry registry = InterventionRegistry.of(new Iaf(TestModel.bundle()));

    @Test
    void outOfRangeValuesNameTheParameter() {
        Map<String, Object> bad = Map.of("alpha", -0.1, "beta", Double.NaN, "local_ratio", 1.5, "gamma", -1.0,
                "cutoff", 2.0, "end_layer", 99, "summary_vit_layer", 3, "local_vit_layer", -1);
        bad.forEach((key, value) -> assertThatThrownBy(() -> registry.bind(new ArmSpec("iaf", Map.of(key, value)), "p"))
                .as(key).isInstanceOf(InvalidParamsException.class)
                .extracting(e -> ((InvalidParamsException) e).field()).isEqualTo("p." + key));
    }

    @Test
    void composesWithAnotherMethodThroughItsNamespacedProbeRow() {
        Generator gen = TestModel.generator(InterventionRegistry.of(new M3id(TestModel.bundle()),
                new Iaf(TestModel.bundle())));
        GenerationRequest req = new GenerationRequest(TestModel.image("samples/scene-a.png"), "describe the image .",
                DecodingOptions.greedy(4), List.of(new ArmSpec("m3id+iaf", Map.of())));
        assertThat(gen.generate(req, Cancellation.create()).get(0).tokens()).isNotEmpty();
    }

    @Test
    void outliersUseNumpyLinearPercentiles() {
        // 1..8 and 100: Q1 = 3, Q3 = 7, fence 13 -> one outlier
        assertThat(Iaf.outliers(new float[] {5, 1, 100, 2, 3, 4, 6, 7, 8})).isEqualTo(1);
        assertThat(Iaf.top(new float[] {1, 3, 3, 2}, 2)).containsExactly(1, 2);
    }
}
