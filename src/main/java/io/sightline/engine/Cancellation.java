package io.sightline.engine;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Cancels one {@link Generator#generate} call from another thread. The generator checks it between steps and
 * also registers a listener that terminates the ONNX Runtime call in flight (RunOptions.setTerminate).
 */
public final class Cancellation {

    private volatile boolean cancelled;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    /** A fresh token nobody cancels unless they hold it. */
    public static Cancellation create() {
        return new Cancellation();
    }

    public void cancel() {
        if (cancelled) {
            return;
        }
        cancelled = true;
        listeners.forEach(Runnable::run);
    }

    public boolean isCancelled() {
        return cancelled;
    }

    void throwIfCancelled() {
        if (cancelled) {
            throw new CancelledException("generation cancelled");
        }
    }

    /** Runs {@code r} on cancel (at once if already cancelled); closing the handle unregisters it. */
    Registration onCancel(Runnable r) {
        listeners.add(r);
        if (cancelled) {
            r.run();
        }
        return () -> listeners.remove(r);
    }

    /** A listener registration; closing it is idempotent. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
