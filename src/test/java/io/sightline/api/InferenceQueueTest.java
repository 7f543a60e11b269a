package io.sightline.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sightline.engine.OverloadedException;
import org.junit.jupiter.api.Test;

class InferenceQueueTest {

    @Test
    void refusesBeyondWorkersPlusQueueAndFreesAPlaceOnClose() {
        try (InferenceQueue queue = new InferenceQueue(1, 1)) {
            InferenceQueue.Place running = queue.reserve();
            InferenceQueue.Place waiting = queue.reserve();

            assertThatThrownBy(queue::reserve).isInstanceOf(OverloadedException.class)
                    .hasMessageContaining("all 2 inference places");

            waiting.close();
            waiting.close();  // idempotent: a second close must not free a second place
            InferenceQueue.Place next = queue.reserve();
            assertThatThrownBy(queue::reserve).isInstanceOf(OverloadedException.class);
            running.close();
            next.close();
        }
    }

    @Test
    void runsWorkOnAnInferenceThread() {
        try (InferenceQueue queue = new InferenceQueue(1, 0); InferenceQueue.Place place = queue.reserve()) {
            assertThat(place.run(() -> Thread.currentThread().getName()).block()).startsWith("inference-");
        }
    }
}
