package io.sightline.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CancellationTest {

    @Test
    void aClosedRegistrationNeverRuns() {
        Cancellation c = Cancellation.create();
        AtomicInteger runs = new AtomicInteger();
        c.onCancel(runs::incrementAndGet).close();
        c.cancel();
        assertThat(runs).hasValue(0);
    }

    @Test
    void registeringOnACancelledTokenRunsAtOnce() {
        Cancellation c = Cancellation.create();
        c.cancel();
        AtomicInteger runs = new AtomicInteger();
        try (Cancellation.Registration ignored = c.onCancel(runs::incrementAndGet)) {
            assertThat(runs).hasValue(1);
        }
    }

    /**
     * The listener frees nothing itself, but its caller frees what it touches right after closing the registration:
     * close must wait for a listener that {@link Cancellation#cancel} is running on another thread.
     */
    @Test
    void closeWaitsForTheListenerThatIsRunning() throws Exception {
        Cancellation c = Cancellation.create();
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger finished = new AtomicInteger();
        Cancellation.Registration r = c.onCancel(() -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            finished.incrementAndGet();
        });
        Thread canceller = new Thread(c::cancel);
        canceller.start();
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();
        Thread closer = new Thread(r::close);
        closer.start();
        closer.join(200);
        assertThat(closer.isAlive()).as("close returned while the listener was still running").isTrue();
        release.countDown();
        closer.join(10_000);
        canceller.join(10_000);
        assertThat(closer.isAlive()).isFalse();
        assertThat(finished).hasValue(1);
    }
}
