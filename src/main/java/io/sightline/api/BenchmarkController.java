package io.sightline.api;

import io.sightline.eval.BenchmarkCatalog;
import io.swagger.v3.oas.annotations.Operation;
import java.util.List;
import org.springframework.http.MediaType;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /v1/benchmarks}: the shipped sets an evaluation can name, so clients (the dashboard) need not guess. */
@RestController
public class BenchmarkController {

    /**
     * @param kind  how the set's items are prompted and scored: pope, chair, sycophancy, fine-grained
     * @param items how many items the set holds (the largest useful {@code limit})
     */
    public record BenchmarkView(String name, String kind, int items) {
    }

    private final BenchmarkCatalog catalog;

    public BenchmarkController(BenchmarkCatalog catalog) {
        this.catalog = catalog;
    }

    @Operation(operationId = "listBenchmarks", summary = "The shipped benchmark sets")
    @GetMapping(path = "/v1/benchmarks", produces = MediaType.APPLICATION_JSON_VALUE)
    public List<BenchmarkView> list() {
        return catalog.names().stream().map(catalog::find)
                .map(e -> new BenchmarkView(e.name(), e.kind().code(), e.items().size())).toList();
    }
}
