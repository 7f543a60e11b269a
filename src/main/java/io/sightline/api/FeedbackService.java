package io.sightline.api;

import io.sightline.api.InvalidRequestException.FieldError;
import io.sightline.eval.Wilson;
import io.sightline.store.FeedbackStore;
import io.sightline.store.GenerationStore;
import io.sightline.store.NewFeedback;
import io.sightline.store.StoredGeneration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import reactor.core.publisher.Mono;
import tools.jackson.databind.json.JsonMapper;

/**
 * Live A/B: people's feedback on stored generations, checked against the generation's arms, and the per-arm
 * summary of stored generations with feedback win and hallucination rates.
 */
public final class FeedbackService {

    static final int MAX_NOTE_CHARS = 2000;

    private final GenerationStore generations;
    private final FeedbackStore feedback;
    private final JsonMapper json;

    public FeedbackService(GenerationStore generations, FeedbackStore feedback, JsonMapper json) {
        this.generations = generations;
        this.feedback = feedback;
        this.json = json;
    }

    public Mono<FeedbackView> create(UUID generationId, FeedbackBody body) {
        return generations.find(generationId)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no generation with id " + generationId)))
                .flatMap(g -> {
                    NewFeedback f = admit(g, body);
                    return feedback.save(f).then(feedback.forGeneration(generationId))
                            .map(all -> all.stream().filter(s -> s.id().equals(f.id())).findFirst().map(FeedbackView::of)
                                    .orElseThrow());
                });
    }

    public Mono<List<FeedbackView>> list(UUID generationId) {
        return generations.find(generationId)
                .switchIfEmpty(Mono.error(() -> new NotFoundException("no generation with id " + generationId)))
                .flatMap(g -> feedback.forGeneration(generationId))
                .map(all -> all.stream().map(FeedbackView::of).toList());
    }

    private static NewFeedback admit(StoredGeneration g, FeedbackBody body) {
        if (!g.status().equals("completed")) {
            throw new InvalidStateException("generation " + g.id() + " is " + g.status() + "; only completed ones take feedback");
        }
        int arms = g.outputs().size();
        List<FieldError> errors = new ArrayList<>();
        List<FeedbackBody.Arm> judged = body.arms() == null ? List.of() : body.arms();
        if (body.preferredArm() == null && judged.isEmpty()) {
            errors.add(new FieldError("body", "give preferred_arm, arms, or both"));
        }
        if (body.preferredArm() != null) {
            if (arms < 2) {
                errors.add(new FieldError("preferred_arm", "the generation has one arm, so it is no comparison"));
            } else if (body.preferredArm() < 0 || body.preferredArm() >= arms) {
                errors.add(new FieldError("preferred_arm", "must be in 0.." + (arms - 1) + ", was " + body.preferredArm()));
            }
        }
        checkNote("note", body.note(), errors);
        Set<Integer> seen = new HashSet<>();
        List<NewFeedback.Arm> out = new ArrayList<>();
        for (int i = 0; i < judged.size(); i++) {
            FeedbackBody.Arm a = judged.get(i);
            String field = "arms[" + i + "]";
            if (a == null || a.arm() == null || a.hallucinated() == null) {
                errors.add(new FieldError(field, "needs arm and hallucinated"));
                continue;
            }
            if (a.arm() < 0 || a.arm() >= arms) {
                errors.add(new FieldError(field + ".arm", "must be in 0.." + (arms - 1) + ", was " + a.arm()));
            } else if (!seen.add(a.arm())) {
                errors.add(new FieldError(field + ".arm", "arm " + a.arm() + " is judged twice"));
            }
            checkNote(field + ".note", a.note(), errors);
            out.add(new NewFeedback.Arm(a.arm(), a.hallucinated(), a.note()));
        }
        if (!errors.isEmpty()) {
            throw new InvalidRequestException(errors);
        }
        return new NewFeedback(UUID.randomUUID(), g.id(), body.preferredArm(), body.note(), out);
    }

    private static void checkNote(String field, String note, List<FieldError> errors) {
        if (note != null && note.length() > MAX_NOTE_CHARS) {
            errors.add(new FieldError(field, "at most " + MAX_NOTE_CHARS + " characters, was " + note.length()));
        }
    }

    public Mono<ExperimentSummaryView> summary(Instant from, Instant to, String intervention) {
        if (from != null && to != null && !from.isBefore(to)) {
            return Mono.error(new InvalidRequestException("to", "must be after from"));
        }
        return feedback.summary(from, to, intervention).map(rows -> new ExperimentSummaryView(from, to, intervention,
                rows.stream().map(r -> new ExperimentSummaryView.Arm(r.intervention(), json.readTree(r.paramsJson()),
                        r.outputs(), r.visualAttentionRatio(), r.meanTokens(), r.latencyP50Ms(), r.latencyP95Ms(),
                        r.preferences(), r.wins(), Wilson.interval95(r.wins(), r.preferences()), r.judgements(),
                        r.hallucinated(), Wilson.interval95(r.hallucinated(), r.judgements()))).toList()));
    }
}
