package io.sightline.vision;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import tools.jackson.databind.json.JsonMapper;

/** Against Pillow's own output (pil-resample.json, written by onnx-models/tools/pil_resample_fixtures.py). */
class PilResampleTest {

    @TestFactory
    @SuppressWarnings("unchecked")
    Stream<DynamicTest> resizesBitForBitLikePillow() throws IOException {
        Map<String, Object> fixtures;
        try (InputStream in = PilResampleTest.class.getResourceAsStream("pil-resample.json")) {
            fixtures = JsonMapper.builder().build().readValue(in, Map.class);
        }
        return ((List<Map<String, Object>>) fixtures.get("cases")).stream().map(c -> {
            List<Integer> in = (List<Integer>) c.get("in_wh");
            List<Integer> out = (List<Integer>) c.get("out_wh");
            String name = c.get("filter") + " " + in.get(0) + "x" + in.get(1) + " -> " + out.get(0) + "x" + out.get(1);
            return DynamicTest.dynamicTest(name, () -> assertThat(PilResample.resize(bytes(c.get("in_rgb")), in.get(0),
                    in.get(1), out.get(0), out.get(1), PilResample.Filter.valueOf((String) c.get("filter"))))
                    .as(name).containsExactly(bytes(c.get("out_rgb"))));
        });
    }

    @Test
    void sameSizeIsACopy() {
        byte[] rgb = {1, 2, 3, 4, 5, 6};
        byte[] out = PilResample.resize(rgb, 2, 1, 2, 1, PilResample.Filter.LANCZOS);
        assertThat(out).containsExactly(rgb).isNotSameAs(rgb);
    }

    @Test
    void rejectsBytesThatAreNotTheSize() {
        assertThatThrownBy(() -> PilResample.resize(new byte[5], 2, 1, 3, 3, PilResample.Filter.BOX))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private static byte[] bytes(Object base64) {
        return Base64.getDecoder().decode((String) base64);
    }
}
