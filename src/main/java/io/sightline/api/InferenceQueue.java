package io.sightline.api;

import io.sightline.engine.OverloadedException;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * A fixed pool of inference threads for the blocking engine, and a bounded number of places (running plus
 * waiting). A request takes its place before anything is stored, so a full queue answers 429 and leaves no row.
 */
public final class InferenceQueue implements AutoCloseable {

    private final Semaphore places;
    private final int capacity;
    private final Scheduler scheduler;

    /**
     * @param workers       generations running at once
     * @param queueCapacity generations waiting for a worker
     */
    public InferenceQueue(int workers, int queueCapacity) {
        this.capacity = workers + queueCapacity;
        this.places = new Semaphore(capacity);
        ExecutorService pool = Executors.newFixedThreadPool(workers, namedThreads());
        this.scheduler = Schedulers.fromExecutorService(pool, "inference");
    }

    /** Takes a place, or throws {@link OverloadedException} when all are taken. */
    public Place reserve() {
        if (!places.tryAcquire()) {
            throw new OverloadedException("all " + capacity + " inference places are taken; retry later");
        }
        return new Place();
    }

    /** One admitted generation's claim on the queue; closing it (once) frees the place. */
    public final class Place implements AutoCloseable {

        private final AtomicBoolean released = new AtomicBoolean();

        /** Runs blocking work on an inference thread. */
        public <T> Mono<T> run(Callable<T> work) {
            return Mono.fromCallable(work).subscribeOn(scheduler);
        }

        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                places.release();
            }
        }
    }

    @Override
    public void close() {
        scheduler.dispose();
    }

    private static ThreadFactory namedThreads() {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, "inference-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
