package io.sightline.eval;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.CancelledException;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.Generator;
import io.sightline.engine.ImageInput;
import io.sightline.engine.SightlineException;
import io.sightline.intervention.ArmSpec;
import io.sightline.scoring.Synonyms;
import io.sightline.store.ClaimedItem;
import io.sightline.store.EvaluationResultRecord;
import io.sightline.store.EvaluationStore;
import io.sightline.store.ImageStore;
import io.sightline.store.StoredEvaluation;
import io.sightline.vision.ImagePreprocessor;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Runs evaluation items from the PostgreSQL queue on one background thread: claim a batch of one evaluation's
 * items with a lease, run every item's prompts for every arm in one {@link Generator#generateBatch} call, store
 * each item's results (marking it done in the same transaction), and end the evaluation when no item is open.
 * While a batch runs its leases are renewed every third of the lease, and a cancelled evaluation stops the engine
 * call. Stopping lets the leases go at once; a crashed instance's leases run out and other workers claim the items.
 *
 * <p>Failures are per item: an item whose image cannot be prepared fails alone, a batch that fails hands all its
 * items back with the error, and an item that failed before is claimed alone next time (EvaluationStore#claim), so
 * one bad item does not sink the others. An item that fails {@code maxAttempts} runs is failed for good; the
 * evaluation then ends {@code failed}, its report over the items that are done. Cancelling and stopping hand the
 * items back without counting an attempt.
 */
public final class EvaluationWorker implements SmartLifecycle {

    private static final Logger log = LoggerFactory.getLogger(EvaluationWorker.class);

    /**
     * @param batchSize    items claimed and run together
     * @param lease        how long a claimed item stays with this worker without a renewal
     * @param pollInterval the wait after finding nothing to claim
     * @param maxAttempts  failed runs (or lost leases) after which an item is failed for good
     */
    public record Settings(int batchSize, Duration lease, Duration pollInterval, int maxAttempts) {
    }

    private final String owner;
    private final Settings settings;
    private final EvaluationStore store;
    private final ImageStore images;
    private final ImagePreprocessor preprocessor;
    private final Generator generator;
    private final JsonMapper json;
    private final Counter itemsDone;
    private final AtomicLong openItems = new AtomicLong();
    private final AtomicReference<Double> itemsPerSecond = new AtomicReference<>(0.0);
    private final ScheduledExecutorService renewals;
    private final AtomicReference<Cancellation> inFlight = new AtomicReference<>();
    private volatile boolean running;
    private Thread thread;

    /** @param owner this worker's name in lease rows; unique per worker across instances */
    public EvaluationWorker(String owner, Settings settings, EvaluationStore store, ImageStore images,
                            ImagePreprocessor preprocessor, Generator generator, JsonMapper json, MeterRegistry meters) {
        this.owner = owner;
        this.settings = settings;
        this.store = store;
        this.images = images;
        this.preprocessor = preprocessor;
        this.generator = generator;
        this.json = json;
        this.itemsDone = Counter.builder("sightline.evaluation.items.done").tag("worker", owner)
                .description("evaluation items this worker finished").register(meters);
        meters.gauge("sightline.evaluation.items.open", openItems);
        meters.gauge("sightline.evaluation.items.per.second", Tags.of("worker", owner),
                itemsPerSecond, AtomicReference::get);
        this.renewals = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "evaluation-lease-" + owner);
            t.setDaemon(true);
            return t;
        });
    }

    public String owner() {
        return owner;
    }

    @Override
    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        thread = new Thread(this::loop, "evaluation-worker-" + owner);
        thread.setDaemon(true);
        thread.start();
        log.info("Evaluation worker {} started (batch {}, lease {}, poll {}, max attempts {})", owner,
                settings.batchSize(), settings.lease(), settings.pollInterval(), settings.maxAttempts());
    }

    /** Stops after cancelling the batch in flight, and lets this worker's leases go. */
    @Override
    public synchronized void stop() {
        if (!running) {
            return;
        }
        running = false;
        Cancellation c = inFlight.get();
        if (c != null) {
            c.cancel();
        }
        thread.interrupt();
        try {
            thread.join(Duration.ofSeconds(30).toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Long released = store.release(owner).block();
        log.info("Evaluation worker {} stopped; {} leased items released", owner, released);
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    private void loop() {
        while (running) {
            try {
                if (!runBatch()) {
                    openItems.set(store.openItems().blockOptional().orElse(0L));
                    Thread.sleep(settings.pollInterval().toMillis());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                if (!running) {
                    return;
                }
                log.warn("Evaluation worker {}: {}; retrying after the poll interval", owner, e.toString(), e);
                try {
                    Thread.sleep(settings.pollInterval().toMillis());
                } catch (InterruptedException stop) {
                    return;
                }
            }
        }
    }

    /** One claim and its run; false when there was nothing to claim. */
    private boolean runBatch() {
        store.failExpired(settings.maxAttempts()).block().forEach(this::finish);
        List<ClaimedItem> claimed = store.claim(owner, settings.batchSize(), settings.lease(), settings.maxAttempts())
                .block();
        if (claimed == null || claimed.isEmpty()) {
            return false;
        }
        StoredEvaluation evaluation = store.find(claimed.get(0).evaluationId()).block();
        Cancellation cancellation = Cancellation.create();
        inFlight.set(cancellation);
        long period = Math.max(1, settings.lease().toMillis() / 3);
        ScheduledFuture<?> renewal = renewals.scheduleAtFixedRate(() -> renew(evaluation, cancellation), period,
                period, TimeUnit.MILLISECONDS);
        long t0 = System.nanoTime();
        try {
            int stored = run(evaluation, claimed, cancellation);
            // items the store would not mark done (the evaluation ended meanwhile) go back, no attempt counted
            store.release(owner).block();
            double seconds = (System.nanoTime() - t0) / 1e9;
            itemsPerSecond.set(stored / seconds);
            itemsDone.increment(stored);
            StoredEvaluation now = store.find(evaluation.id()).block();
            log.info("Evaluation {} ({}): {} items in {} s by {}; {}/{} done", evaluation.id(), evaluation.setName(),
                    stored, String.format("%.2f", seconds), owner, now.doneItems(), now.totalItems());
        } catch (RuntimeException e) {
            if (e instanceof CancelledException || cancellation.isCancelled() || !running) {
                // the evaluation was cancelled, or this worker is stopping: not the items' fault
                store.release(owner).block();
                return true;
            }
            failAttempt(evaluation, claimed, e);
        } finally {
            renewal.cancel(false);
            inFlight.set(null);
        }
        finish(evaluation.id());
        return true;
    }

    /** Hands the items back with the error, or fails them for good at the attempt limit. */
    private void failAttempt(StoredEvaluation evaluation, List<ClaimedItem> items, RuntimeException e) {
        String reason = e instanceof SightlineException s ? s.code() + ": " + s.getMessage() : e.toString();
        List<Integer> indexes = items.stream().map(ClaimedItem::index).toList();
        Long failed = store.failAttempt(evaluation.id(), indexes, owner, reason, settings.maxAttempts()).block();
        if (e instanceof SightlineException) {
            log.warn("Evaluation {}: items {} failed ({}); {} of them for good", evaluation.id(), indexes, reason, failed);
        } else {
            log.warn("Evaluation {}: items {} failed; {} of them for good", evaluation.id(), indexes, failed, e);
        }
    }

    private void finish(UUID id) {
        String status = store.finishIfDrained(id, settings.maxAttempts()).block();
        if (status != null) {
            log.info("Evaluation {} {}", id, status);
        }
    }

    private void renew(StoredEvaluation evaluation, Cancellation cancellation) {
        try {
            store.renew(owner, settings.lease()).block();
            StoredEvaluation now = store.find(evaluation.id()).block();
            if (now == null || !now.status().equals("running")) {
                cancellation.cancel();
            }
        } catch (RuntimeException e) {
            log.warn("Evaluation worker {} could not renew its leases: {}", owner, e.toString());
        }
    }

    /**
     * Runs the items' prompts for all arms in one engine call and stores each item; returns items stored. An item
     * whose image cannot be prepared (refused by the preprocessor) fails alone before the call.
     */
    private int run(StoredEvaluation evaluation, List<ClaimedItem> claimed, Cancellation cancellation) {
        BenchmarkKind kind = BenchmarkKind.ofCode(evaluation.kind());
        JsonNode request = json.readTree(evaluation.requestJson());
        List<ArmSpec> arms = new ArrayList<>();
        for (JsonNode arm : request.get("arms")) {
            arms.add(new ArmSpec(arm.get("intervention").asString(), json.convertValue(arm.get("params"), Map.class)));
        }
        Synonyms synonyms = BenchmarkCatalog.storedSynonyms(evaluation.synonymsJson());
        Map<String, byte[]> bytes = images.bytes(claimed.stream().map(ClaimedItem::imageSha256).distinct().toList())
                .block();
        Map<String, ImageInput> pixels = new HashMap<>();
        List<ClaimedItem> runnable = new ArrayList<>();
        for (ClaimedItem c : claimed) {
            try {
                pixels.computeIfAbsent(c.imageSha256(), sha -> preprocessor.prepare(bytes.get(sha)).input());
                runnable.add(c);
            } catch (SightlineException e) {
                failAttempt(evaluation, List.of(c), e);
            }
        }
        if (runnable.isEmpty()) {
            return 0;
        }

        List<Record> items = new ArrayList<>();
        List<GenerationRequest> requests = new ArrayList<>();
        for (ClaimedItem c : runnable) {
            Record item = kind.item(json.readTree(c.payloadJson()));
            items.add(item);
            for (String prompt : kind.prompts(item)) {
                requests.add(new GenerationRequest(pixels.get(c.imageSha256()), prompt, decoding(request, c.index()),
                        arms));
            }
        }
        List<List<ArmResult>> results = generator.generateBatch(requests, cancellation);

        int stored = 0;
        int next = 0;
        for (int i = 0; i < runnable.size(); i++) {
            Record item = items.get(i);
            List<List<ArmResult>> perPrompt = results.subList(next, next + kind.prompts(item).size());
            next += perPrompt.size();
            List<EvaluationResultRecord> rows = new ArrayList<>();
            for (int arm = 0; arm < arms.size(); arm++) {
                rows.add(result(kind, item, runnable.get(i).index(), arm, perPrompt, synonyms));
            }
            if (Boolean.TRUE.equals(store.complete(evaluation.id(), runnable.get(i).index(), owner, rows).block())) {
                stored++;
            }
        }
        return stored;
    }

    /**
     * The accepted options; a seeded evaluation seeds each item with seed + item index, so an item draws the same
     * tokens whichever batch or worker runs it.
     */
    private static DecodingOptions decoding(JsonNode request, int itemIndex) {
        JsonNode seed = request.get("seed");
        List<String> stop = new ArrayList<>();
        request.get("stop").forEach(s -> stop.add(s.asString()));
        return new DecodingOptions(request.get("max_new_tokens").asInt(), request.get("temperature").asDouble(),
                request.get("top_k").asInt(), request.get("top_p").asDouble(),
                seed == null || seed.isNull() ? null : seed.asLong() + itemIndex, stop);
    }

    /**
     * One arm's row: answers per prompt, tokens summed over prompts; latency is the slowest prompt's, from the start
     * of the batched engine call (so it includes the other items of the batch); engine scores of the first prompt.
     */
    private EvaluationResultRecord result(BenchmarkKind kind, Record item, int itemIndex, int arm,
                                          List<List<ArmResult>> perPrompt, Synonyms synonyms) {
        List<String> answers = new ArrayList<>();
        int tokens = 0;
        long nanos = 0;
        for (List<ArmResult> prompt : perPrompt) {
            ArmResult r = prompt.get(arm);
            answers.add(r.text());
            tokens += r.tokens().length;
            nanos = Math.max(nanos, r.latencyNanos());
        }
        ArmResult first = perPrompt.get(0).get(arm);
        Map<String, Object> scores = new LinkedHashMap<>(kind.scores(item, answers, synonyms));
        scores.putAll(first.scores());
        return new EvaluationResultRecord(itemIndex, arm, first.intervention(), answers.get(0),
                answers.size() > 1 ? answers.get(1) : null, tokens, nanos / 1e6,
                nanos == 0 ? 0 : tokens / (nanos / 1e9), json.writeValueAsString(scores), owner);
    }
}
