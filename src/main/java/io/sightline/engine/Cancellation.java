package io.sightline.engine;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Cancels one {@link Generator#generate} call from another thread. The generator checks it between steps and
 * also registers a listener that terminates the ONNX Runtime call in flight (RunOptions.setTerminate).
 */
public final class Cancellation {

    private volatile boolean cancelled;
    private final List<Listener> listeners = new CopyOnWriteArrayList<>();

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

    /**
     * Runs {@code r} on cancel (at once if already cancelled); closing the handle unregisters it, and once
     * {@code close} has returned {@code r} is not running and never runs. That matters because {@code r} touches
     * a native object (RunOptions) that the caller frees right after: {@link #cancel} iterates a snapshot of the
     * listeners, so without the guard it could still call a listener whose object is gone.
     */
    Registration onCancel(Runnable r) {
        Listener l = new Listener(r);
        listeners.add(l);
        if (cancelled) {
            l.run();
        }
        return l;
    }

    private final class Listener implements Runnable, Registration {

        private final Runnable action;
        private boolean closed;

        Listener(Runnable action) {
            this.action = action;
        }

        @Override
        public synchronized void run() {
            if (!closed) {
                action.run();
            }
        }

        @Override
        public synchronized void close() {
            closed = true;
            listeners.remove(this);
        }
    }

    /** A listener registration; closing it is idempotent. */
    interface Registration extends AutoCloseable {
        @Override
        void close();
    }
}
