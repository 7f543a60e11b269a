package io.sightline.api;

import io.sightline.engine.ArmResult;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodeLoop;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.SightlineException;
import io.sightline.engine.TokenListener;
import io.sightline.store.GenerationPage;
import io.sightline.store.GenerationStore;
import io.sightline.store.ImageRecord;
import io.sightline.store.ImageStore;
import io.sightline.store.NewGeneration;
import io.sightline.store.OutputRecord;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicReference;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import tools.jackson.databind.json.JsonMapper;

/**
 * One generation end to end: take a queue place (429 when none is left, before the image is decoded), admit
 * (nothing stored on refusal), store the image and the generation as {@code running}, join the decode batch
 * ({@link DecodeLoop}), then store the outputs and mark it {@code completed}, or mark it {@code failed} with the
 * reason (engine failure, timeout, client gone). The response is read back from the database.
 */
public final class GenerationService {

    private final GenerationAdmission admission;
    private final DecodeLoop loop;
    private final GenerationStore store;
    private final ImageStore images;
    private final JsonMapper json;

    public GenerationService(GenerationAdmission admission, DecodeLoop loop, GenerationStore store, ImageStore images,
                             JsonMapper json) {
        this.admission = admission;
        this.loop = loop;
        this.store = store;
        this.images = images;
        this.json = json;
    }

    /**
     * How a caller wants a generation run beyond its body.
     *
     * @param id       the generation's id, chosen up front so that a stream can name it before the first token
     * @param source   stored with the accepted request under {@code source} (the API it came from and that API's
     *                 own options); null for {@code /v1/generations}
     * @param listener told each token as the engine chooses it, on the inference thread
     * @param armSeeds which seed each arm samples with: shared for {@code /v1/generations}, whose arms are compared
     */
    public record Run(UUID id, Map<String, Object> source, TokenListener listener, DecodingOptions.ArmSeeds armSeeds) {

        static Run plain() {
            return new Run(UUID.randomUUID(), null, TokenListener.NONE, DecodingOptions.ArmSeeds.SHARED);
        }
    }

    public Mono<GenerationView> create(GenerationBody body, byte[] image) {
        return create(body, image, Run.plain());
    }

    public Mono<GenerationView> create(GenerationBody body, byte[] image, Run how) {
        // the place is taken first, so that a full queue costs no image decoding; decoding is CPU work: off the
        // event loop and off the decode loop
        return Mono.usingWhen(Mono.fromCallable(loop::reserve),
                        ticket -> Mono.fromCallable(() -> admission.admit(body, image, how.armSeeds()))
                                .subscribeOn(Schedulers.boundedElastic())
                                .flatMap(admitted -> run(admitted, ticket, how)),
                        ticket -> Mono.fromRunnable(ticket::close))
                .flatMap(this::find);
    }

    public Mono<GenerationView> find(UUID id) {
        return store.find(id)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no generation with id " + id)))
                .map(g -> GenerationView.of(g, json));
    }

    public Mono<GenerationPageView> list(int page, int size, String intervention) {
        return store.list(page, size, intervention).map(this::view);
    }

    private GenerationPageView view(GenerationPage p) {
        return new GenerationPageView(p.items().stream().map(g -> GenerationView.of(g, json)).toList(), p.page(),
                p.size(), p.total());
    }

    private record Finished(List<ArmResult> results, Instant finishedAt, double latencyMs) {
    }

    private Mono<UUID> run(AdmittedGeneration a, DecodeLoop.Ticket ticket, Run how) {
        UUID id = how.id();
        Cancellation cancellation = Cancellation.create();
        AtomicReference<Instant> startedAt = new AtomicReference<>();
        ImageRecord image = new ImageRecord(a.imageSha256(), a.imageBytes(), a.image().header().format().mediaType(),
                a.image().header().width(), a.image().header().height());
        Map<String, Object> accepted = a.accepted();
        if (how.source() != null) {
            accepted = new LinkedHashMap<>(accepted);
            accepted.put("source", how.source());
        }
        NewGeneration generation = new NewGeneration(id, a.request().prompt(), json.writeValueAsString(accepted),
                a.interventions(), a.imageSha256());

        Mono<Finished> inference = Mono.defer(() -> {
            startedAt.set(Instant.now());
            long t0 = System.nanoTime();
            // the loop drops the request's rows through the cancellation, on a timeout as on a client gone away
            return Mono.fromFuture(ticket.submit(a.request(), cancellation, how.listener()))
                    .doOnCancel(cancellation::cancel)
                    .timeout(a.timeout(), Mono.error(() -> new TimedOutException("no result within "
                            + a.timeout().toMillis() + " ms; the generation was cancelled")))
                    // off the decode loop's thread, which completes the future
                    .publishOn(Schedulers.parallel())
                    .map(results -> new Finished(results, Instant.now(), (System.nanoTime() - t0) / 1e6));
        });
        return images.save(image)
                .then(store.insertRunning(generation))
                .then(inference)
                .flatMap(f -> store.complete(id, startedAt.get(), f.finishedAt(), f.latencyMs(), outputs(f.results())))
                .onErrorResume(e -> store.fail(id, reason(e), startedAt.get()).then(Mono.error(e)))
                .doOnCancel(() -> {
                    cancellation.cancel();
                    store.fail(id, "cancelled: the client went away", startedAt.get()).subscribe();
                })
                .thenReturn(id);
    }

    private List<OutputRecord> outputs(List<ArmResult> results) {
        List<OutputRecord> out = new ArrayList<>(results.size());
        for (int i = 0; i < results.size(); i++) {
            ArmResult r = results.get(i);
            out.add(new OutputRecord(i, r.intervention(), json.writeValueAsString(r.params()), r.text(), r.tokens(),
                    json.writeValueAsString(r.logprobs()), r.latencyNanos() / 1e6, r.tokensPerSecond(),
                    json.writeValueAsString(r.scores())));
        }
        return out;
    }

    private static String reason(Throwable e) {
        return e instanceof SightlineException s ? s.code() + ": " + s.getMessage()
                : e.getClass().getSimpleName() + ": " + e.getMessage();
    }
}
