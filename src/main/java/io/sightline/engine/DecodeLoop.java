package io.sightline.engine;

import ai.onnxruntime.OrtSession;
import io.sightline.engine.RowPlan.Arm;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Continuous batching: one thread runs one decode batch, one decoder call per step, and requests join it between
 * steps. A newcomer is admitted on the loop thread, then prefilled on a prefill thread together with the other
 * newcomers waiting for one (its own preludes, then one vision call, probe call and prefill for all of them, while
 * the batch goes on decoding), and their rows and KV cache are appended to the running batch at the next step
 * boundary ({@link Cohort#absorb}); rows leave as their arms finish, and a request's future completes when all its
 * arms have. Each row keeps its own interventions and branches, so a request decodes as it would alone.
 *
 * <p>Prefilling apart is what lets the batch scale: a newcomer's prefill (vision and all its prompt positions)
 * costs as much as several decode steps of the whole batch, and on the loop thread every running row would wait
 * for it.
 *
 * <p>Admission is bounded twice: at most {@code maxRows} rows decode or prefill together (a newcomer that does not
 * fit waits, in order, for rows to leave; one that is larger alone runs when nothing else does), and at most
 * {@code queueCapacity} requests wait to join ({@link #reserve} refuses beyond that). A request's cancellation
 * removes its rows at the next step boundary; a failed decoder call fails every request in it.
 */
public final class DecodeLoop implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DecodeLoop.class);

    private final Generator generator;
    private final int maxRows;
    private final int queueCapacity;
    private final Semaphore waiting;
    private final BlockingQueue<Member> incoming = new LinkedBlockingQueue<>();
    private final BlockingQueue<Member> toPrefill = new LinkedBlockingQueue<>();
    private final BlockingQueue<Prefill> prefilled = new LinkedBlockingQueue<>();
    private final Semaphore wake = new Semaphore(0);    // a permit per arrival on either queue
    private final ExecutorService prefillThreads;
    private final Cancellation shutdown = Cancellation.create();
    private final Thread thread;
    private volatile boolean closed;

    // touched by the loop thread only
    private Cohort batch;
    private final List<Member> members = new ArrayList<>();
    private Member next;          // admitted, waiting for rows to leave
    private int prefilling;       // requests sent to prefill and not absorbed yet
    private int prefillingRows;   // their rows
    private int nextArm;          // arm indices stay unique across the rows of one batch and of those prefilling
    private final AtomicInteger prefills = new AtomicInteger();

    /**
     * @param maxRows        rows (arms and their branches) decoding or prefilling together at most
     * @param queueCapacity  requests waiting to join the batch at most
     * @param prefillThreads threads that prefill newcomers while the batch decodes
     */
    public DecodeLoop(Generator generator, int maxRows, int queueCapacity, int prefillThreads) {
        if (maxRows < 1 || queueCapacity < 1 || prefillThreads < 1) {
            throw new IllegalArgumentException("maxRows, queueCapacity and prefillThreads must be >= 1, were "
                    + maxRows + ", " + queueCapacity + ", " + prefillThreads);
        }
        this.generator = generator;
        this.maxRows = maxRows;
        this.queueCapacity = queueCapacity;
        this.waiting = new Semaphore(queueCapacity);
        this.batch = Cohort.empty(generator.bundle());
        AtomicInteger threads = new AtomicInteger();
        this.prefillThreads = Executors.newFixedThreadPool(prefillThreads, r -> {
            Thread t = new Thread(r, "prefill-" + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.thread = new Thread(this::loop, "decode-loop");
        thread.setDaemon(true);
        thread.start();
    }

    /**
     * Takes a place in the queue, before the caller does any work for the request (image decoding), or throws
     * {@link OverloadedException} when all are taken.
     */
    public Ticket reserve() {
        if (closed || !waiting.tryAcquire()) {
            throw new OverloadedException(closed ? "the decode loop is shutting down"
                    : "all " + queueCapacity + " places in the generation queue are taken; retry later");
        }
        return new Ticket();
    }

    /** A request's place in the queue; it is freed when the request joins the batch, or on close. */
    public final class Ticket implements AutoCloseable {

        private final AtomicBoolean released = new AtomicBoolean();

        private Ticket() {
        }

        /**
         * Queues the request to join the batch. The future completes with the arms' results, in arm order, or
         * fails with a {@link SightlineException} ({@link CancelledException} after {@code cancel}). {@code listener}
         * is called on the prefill thread for each arm's first token, then on the loop thread, one call at a time.
         */
        public CompletableFuture<List<ArmResult>> submit(GenerationRequest request, Cancellation cancel,
                                                         TokenListener listener) {
            Member m = new Member(this, request, cancel, listener);
            incoming.add(m);
            wake.release();
            if (closed) {
                failQueued();
            }
            return m.future;
        }

        /** Frees the place unless joining the batch already did; idempotent. */
        @Override
        public void close() {
            if (released.compareAndSet(false, true)) {
                waiting.release();
            }
        }
    }

    /** One submitted request; {@code arms} are set at admission (before any row runs). */
    private static final class Member {
        final Ticket ticket;
        final GenerationRequest request;
        final Cancellation cancel;
        final TokenListener listener;
        final CompletableFuture<List<ArmResult>> future = new CompletableFuture<>();
        RowPlan plan;
        List<Arm> arms = List.of();
        int rows;                 // the plan's rows when it was sent to prefill (the prefill retires some)
        RuntimeException failure; // its preludes'

        Member(Ticket ticket, GenerationRequest request, Cancellation cancel, TokenListener listener) {
            this.ticket = ticket;
            this.request = request;
            this.cancel = cancel;
            this.listener = listener;
        }

        void fail(Throwable e) {
            ticket.close();
            arms.forEach(a -> a.done = true);
            future.completeExceptionally(e);
        }
    }

    private void loop() {
        try (OrtSession.RunOptions run = Generator.runOptions(shutdown);
             Cancellation.Registration ignored = shutdown.onCancel(() -> Generator.terminate(run))) {
            while (!closed) {
                join();
                settle();
                if (batch.isEmpty()) {
                    continue;
                }
                try {
                    generator.decode(batch, shutdown, run);
                } catch (SightlineException e) {
                    // the call was shared: every request in it fails, and the batch starts over
                    log.warn("decode step failed for {} requests", members.size(), e);
                    members.forEach(m -> m.fail(e));
                    members.clear();
                    batch = Cohort.empty(generator.bundle());
                    continue;
                }
                settle();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            log.error("decode loop stopped", e);
        } finally {
            CancelledException stopped = new CancelledException("the decode loop stopped");
            members.forEach(m -> m.fail(stopped));
            if (next != null) {
                next.fail(stopped);
            }
            closed = true;
            failQueued();
            failPrefilled();
        }
    }

    /**
     * Absorbs the prefilled newcomers, then admits queued requests and sends them to prefill while their rows
     * fit; waits when there is nothing to decode.
     */
    private void join() throws InterruptedException {
        while (true) {
            // permits released before this drain belong to arrivals the polls below see
            wake.drainPermits();
            for (Prefill p; (p = prefilled.poll()) != null; ) {
                absorb(p);
            }
            while (true) {
                if (next == null) {
                    Member m = incoming.poll();
                    if (m == null) {
                        break;
                    }
                    admit(m);
                    continue;
                }
                int rows = batch.plan.rows() + prefillingRows;
                if (rows > 0 && rows + next.plan.rows() > maxRows) {
                    break;
                }
                send(next);
                next = null;
            }
            if (!batch.isEmpty() || !members.isEmpty()) {
                return;       // rows to decode, or requests whose rows all ended in their prefill to settle
            }
            if (prefilling == 0 && next == null) {
                nextArm = 0;
            }
            wake.acquire();
        }
    }

    private void admit(Member m) {
        try {
            m.plan = generator.admit(m.request, nextArm, m.listener);
        } catch (RuntimeException e) {
            m.fail(e);
            return;
        }
        m.arms = m.plan.arms;
        nextArm += m.arms.size();
        next = m;
    }

    /** Hands an admitted request to a prefill thread; its place in the queue is freed now. */
    private void send(Member m) {
        m.ticket.close();
        if (m.cancel.isCancelled()) {
            m.fail(new CancelledException("generation cancelled before it started"));
            return;
        }
        toPrefill.add(m);
        try {
            prefillThreads.execute(this::prefillWaiting);
        } catch (RejectedExecutionException e) {
            toPrefill.remove(m);
            m.fail(new CancelledException("the decode loop is shutting down"));
            return;
        }
        m.rows = m.plan.rows();
        prefilling++;
        prefillingRows += m.rows;
    }

    /** A group of requests prefilled together, handed back to the loop thread. */
    private record Prefill(List<Member> group, Cohort cohort, RuntimeException failure) {
    }

    /**
     * On a prefill thread: the requests waiting for a prefill (none if another thread took them) run their own
     * preludes, then prefill together: one vision call and one decoder prefill for all of them, cheaper than one
     * each. A request whose preludes fail fails alone; a failed shared call fails the group.
     *
     * <p>A request's cancellation does not terminate the shared calls, which would fail the others: its rows
     * prefill with the rest and {@link #settle}, right after they join, fails it and drops them. The calls are
     * terminated once every request of the group is cancelled, or when the loop shuts down.
     */
    private void prefillWaiting() {
        List<Member> group = new ArrayList<>();
        toPrefill.drainTo(group);
        if (group.isEmpty()) {
            return;
        }
        List<Member> ready = new ArrayList<>();
        for (Member m : group) {
            try {
                generator.preludes(m.plan, m.cancel);
                ready.add(m);
            } catch (RuntimeException e) {
                m.failure = e;
            }
        }
        Cohort cohort = null;
        RuntimeException failure = null;
        if (!ready.isEmpty()) {
            List<Cancellation.Registration> following = new ArrayList<>();
            Cancellation everyone = allCancelled(ready, following);
            prefills.incrementAndGet();
            try (OrtSession.RunOptions run = Generator.runOptions(everyone);
                 Cancellation.Registration ignored = everyone.onCancel(() -> Generator.terminate(run))) {
                cohort = generator.prefill(RowPlan.join(ready.stream().map(m -> m.plan).toList()), everyone, run);
            } catch (RuntimeException e) {
                failure = e;
            } finally {
                following.forEach(Cancellation.Registration::close);
            }
        }
        prefilled.add(new Prefill(group, cohort, failure));
        wake.release();
        if (closed) {
            failPrefilled();
        }
    }

    /**
     * A cancellation that follows {@code group}'s: cancelled once every one of them is, or on shutdown. The
     * registrations go to {@code following}, for the caller to close.
     */
    private Cancellation allCancelled(List<Member> group, List<Cancellation.Registration> following) {
        Cancellation all = Cancellation.create();
        AtomicInteger live = new AtomicInteger(group.size());
        following.add(shutdown.onCancel(all::cancel));
        group.forEach(m -> following.add(m.cancel.onCancel(() -> {
            if (live.decrementAndGet() == 0) {
                all.cancel();
            }
        })));
        return all;
    }

    /** Runs on the loop thread once a group's prefill has ended: its rows join the batch, or its requests fail. */
    private void absorb(Prefill p) {
        for (Member m : p.group()) {
            prefilling--;
            prefillingRows -= m.rows;
            if (m.failure != null) {
                m.fail(m.failure);
            } else if (p.failure() != null) {
                m.fail(p.failure());
            } else {
                members.add(m);
            }
        }
        if (p.cohort() != null && !p.cohort().isEmpty()) {
            batch.absorb(p.cohort());
        }
    }

    /** Completes the requests whose arms all finished, fails those cancelled or failed, and drops their rows. */
    private void settle() {
        for (Iterator<Member> it = members.iterator(); it.hasNext(); ) {
            Member m = it.next();
            RuntimeException failure = m.cancel.isCancelled() ? new CancelledException("generation cancelled")
                    : m.arms.stream().map(a -> a.failure).filter(f -> f != null).findFirst().orElse(null);
            if (failure != null) {
                m.fail(failure);
                it.remove();
            } else if (m.arms.stream().allMatch(a -> a.done)) {
                m.future.complete(generator.results(m.arms));
                it.remove();
            }
        }
        batch.retire(false);
    }

    private void failQueued() {
        for (Member m; (m = incoming.poll()) != null; ) {
            m.fail(new CancelledException("the decode loop is shutting down"));
        }
    }

    /** Prefills run so far (each for a group) and requests waiting for one: tests see how newcomers were grouped. */
    int prefills() {
        return prefills.get();
    }

    int waitingForPrefill() {
        return toPrefill.size();
    }

    /** After the loop stopped, fails the requests whose prefill ended; whichever thread sees one first does. */
    private void failPrefilled() {
        for (Prefill p; (p = prefilled.poll()) != null; ) {
            p.group().forEach(m -> m.fail(new CancelledException("the decode loop is shutting down")));
        }
    }

    /**
     * Stops the loop: the call in flight is terminated and every request not finished fails as cancelled (one
     * being prefilled when its prefill ends).
     */
    @Override
    public void close() {
        closed = true;
        shutdown.cancel();
        thread.interrupt();
        prefillThreads.shutdown();
        try {
            thread.join(10_000);
            prefillThreads.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
