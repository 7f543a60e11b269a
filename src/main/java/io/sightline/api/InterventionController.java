package io.sightline.api;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.sightline.intervention.Intervention;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.intervention.Params;
import io.sightline.intervention.Range;
import io.swagger.v3.oas.annotations.Operation;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /v1/interventions}: every served method with its paper, summary and parameter schema. */
@RestController
@RequestMapping(path = "/v1/interventions", produces = MediaType.APPLICATION_JSON_VALUE)
public class InterventionController {

    /** One method as served. */
    public record InterventionView(String name, String paper, String summary, List<ParameterView> parameters) {
    }

    /**
     * One parameter: JSON type, the default this model uses (calibrated ones included) and the accepted range
     * (null bounds: unbounded or not numeric).
     */
    public record ParameterView(String name, String type, @JsonProperty("default") Object defaultValue, Double minimum,
                                Double maximum, @JsonProperty("minimum_exclusive") boolean minimumExclusive,
                                @JsonProperty("maximum_exclusive") boolean maximumExclusive) {
    }

    private final List<InterventionView> views;

    public InterventionController(InterventionRegistry registry) {
        this.views = registry.known().stream().map(n -> view(registry.get(n))).toList();
    }

    @Operation(operationId = "listInterventions", summary = "The interventions, their parameters and defaults")
    @GetMapping
    public List<InterventionView> list() {
        return views;
    }

    private static InterventionView view(Intervention<?> iv) {
        List<ParameterView> params = Params.describe(iv.defaults()).stream().map(InterventionController::parameter).toList();
        return new InterventionView(iv.name(), iv.paper(), iv.summary(), params);
    }

    private static ParameterView parameter(Params.Spec s) {
        Range r = s.range();
        return new ParameterView(s.name(), s.type(), s.defaultValue(),
                r == null || Double.isInfinite(r.min()) ? null : r.min(),
                r == null || Double.isInfinite(r.max()) ? null : r.max(),
                r != null && r.minExclusive(), r != null && r.maxExclusive());
    }
}
