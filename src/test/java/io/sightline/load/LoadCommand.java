package io.sightline.load;

import io.sightline.SightlineApplication;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.r2dbc.core.DatabaseClient;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Load on {@code POST /v1/generations} over loopback (docs/load.md): for each client count in turn, that many
 * clients each post a request and wait for its answer, then post the next (the sample images in turn, JSON with
 * base64), for a number of requests per level. Reports requests/s, generated tokens/s, p50/p95 latency and the
 * 429 count per level, the ratio of each level's requests/s to the first level's, and the machine's CPU time over
 * the level (all processes: this JVM, the app, PostgreSQL), as cores busy and per accepted request; then it checks
 * the database:
 * every accepted request is exactly one generation row, completed with one output, none left running, and no
 * row for a refused request.
 *
 * <p>Without {@code load.url} it starts the app in this JVM (embedded PostgreSQL, random port) and checks the
 * database through the app's own connection; with {@code load.url} it targets a running app and checks through
 * the API ({@code GET /v1/generations/{id}} per accepted request and the list's total).
 *
 * <pre>
 * -Dload.clients=1,8  -Dload.requests=80  -Dload.warmup=3000  -Dload.tokens=32  -Dload.prompt="describe the image ."
 * -Dload.samples=onnx-models/samples  -Dload.url=http://localhost:8080   (optional)
 * </pre>
 */
public final class LoadCommand {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    private LoadCommand() {
    }

    /**
     * One answered request.
     *
     * @param engineMs the generation's {@code latency_ms}: from joining the decode queue to its last token
     */
    private record Sample(int status, long nanos, int tokens, String id, double engineMs) {
    }

    /**
     * @param cpuTicks    the machine's busy CPU time over the level ({@link CpuTime} ticks); -1 if unknown
     * @param threadTicks CPU time over the level by thread group, in the same ticks
     */
    private record Level(int clients, List<Sample> samples, long wallNanos, long cpuTicks,
                         Map<String, Long> threadTicks) {

        double coresBusy() {
            return cpuTicks < 0 ? Double.NaN : CpuTime.millis(cpuTicks) / (wallNanos / 1e6);
        }

        /** {@code ticks} of CPU time over the level, in ms per accepted request; NaN if unknown. */
        double msPerRequest(long ticks) {
            return ticks < 0 ? Double.NaN : CpuTime.millis(ticks) / accepted().size();
        }

        List<Sample> accepted() {
            return samples.stream().filter(s -> s.status() == 201).toList();
        }

        long count(int status) {
            return samples.stream().filter(s -> s.status() == status).count();
        }

        double requestsPerSecond() {
            return accepted().size() / (wallNanos / 1e9);
        }

        double tokensPerSecond() {
            return accepted().stream().mapToInt(Sample::tokens).sum() / (wallNanos / 1e9);
        }

        double percentileMs(double p) {
            return percentile(accepted().stream().mapToDouble(s -> s.nanos() / 1e6).sorted().toArray(), p);
        }

        double enginePercentileMs(double p) {
            return percentile(accepted().stream().mapToDouble(Sample::engineMs).sorted().toArray(), p);
        }

        private static double percentile(double[] sorted, double p) {
            return sorted.length == 0 ? Double.NaN
                    : sorted[(int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
        }
    }

    public static void main(String[] args) throws Exception {
        List<Integer> levels = Arrays.stream(System.getProperty("load.clients", "1,8").split(","))
                .map(String::trim).map(Integer::parseInt).toList();
        int requests = Integer.getInteger("load.requests", 80);
        int warmup = Integer.getInteger("load.warmup", 3000);
        int tokens = Integer.getInteger("load.tokens", 32);
        String prompt = System.getProperty("load.prompt", "describe the image .");
        Path samples = Path.of(System.getProperty("load.samples", "onnx-models/samples"));
        String url = System.getProperty("load.url");

        List<String> bodies = new ArrayList<>();
        try (var files = Files.list(samples)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".png")).sorted().toList()) {
                bodies.add(JSON.writeValueAsString(Map.of("prompt", prompt, "max_new_tokens", tokens,
                        "image", Base64.getEncoder().encodeToString(Files.readAllBytes(p)))));
            }
        }
        ConfigurableApplicationContext app = url == null ? new SpringApplicationBuilder(SightlineApplication.class)
                .properties("server.port=0").run() : null;
        try {
            URI target = URI.create((url != null ? url : "http://127.0.0.1:"
                    + app.getEnvironment().getProperty("local.server.port")) + "/v1/generations");
            System.out.printf("# %s; JDK %s; %d CPUs; load average before: %s; %s%n", Instant.now(),
                    System.getProperty("java.version"), Runtime.getRuntime().availableProcessors(), loadAverage(),
                    url != null ? "target " + url : "app started in this JVM");
            int most = levels.stream().mapToInt(Integer::intValue).max().orElseThrow();
            System.out.printf("# %d requests per level after %d warm-up requests from %d clients, max_new_tokens %d,"
                    + " prompt \"%s\", %d images%n", requests, warmup, most, tokens, prompt, bodies.size());
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            long rowsBefore = rows(app, target, http);
            Instant since = Instant.now();
            // warm-up at the largest client count, so that the JIT has compiled the concurrent paths too before any
            // level is measured
            List<Sample> all = new ArrayList<>(run(http, target, bodies, most, warmup).samples());
            List<Level> measured = new ArrayList<>();
            for (int clients : levels) {
                Level level = run(http, target, bodies, clients, requests);
                measured.add(level);
                all.addAll(level.samples());
            }
            System.out.printf("# load average after: %s%n%n", loadAverage());
            System.out.println("| clients | requests | 201 | 429 | other | requests/s | tokens/s | p50 ms | p95 ms"
                    + " | engine p50 ms | cores busy | CPU ms per request | requests/s vs " + levels.get(0)
                    + " client(s) |");
            System.out.println("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
            for (Level l : measured) {
                System.out.printf("| %d | %d | %d | %d | %d | %.1f | %.0f | %.1f | %.1f | %.1f | %.2f of %d | %.1f | %.2fx |%n",
                        l.clients(), l.samples().size(), l.accepted().size(), l.count(429),
                        l.samples().size() - l.accepted().size() - l.count(429), l.requestsPerSecond(),
                        l.tokensPerSecond(), l.percentileMs(0.50), l.percentileMs(0.95), l.enginePercentileMs(0.50),
                        l.coresBusy(), Runtime.getRuntime().availableProcessors(), l.msPerRequest(l.cpuTicks()),
                        l.requestsPerSecond() / measured.get(0).requestsPerSecond());
            }
            printThreads(measured);
            List<String> problems = check(app, target, http, all, rowsBefore, since);
            System.out.println();
            System.out.println(problems.isEmpty() ? "database check: OK (" + all.stream().filter(s -> s.id() != null).count()
                    + " accepted requests, each exactly one completed row with one output; no row left running; none for a refused request)"
                    : "database check FAILED:\n  " + String.join("\n  ", problems));
            if (!problems.isEmpty()) {
                System.exit(1);
            }
        } finally {
            if (app != null) {
                app.close();
            }
        }
    }

    /** {@code clients} threads send {@code count} requests in all, each thread one at a time. */
    private static Level run(HttpClient http, URI target, List<String> bodies, int clients, int count)
            throws Exception {
        AtomicInteger next = new AtomicInteger();
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(clients);
        long cpu0 = CpuTime.machineBusy();
        CpuTime.Snapshot threads0 = CpuTime.byGroup();
        long t0 = System.nanoTime();
        List<Future<?>> done = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            done.add(pool.submit(() -> {
                for (int i; (i = next.getAndIncrement()) < count; ) {
                    samples.add(post(http, target, bodies.get(i % bodies.size())));
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        long wall = System.nanoTime() - t0;
        long cpu1 = CpuTime.machineBusy();
        Map<String, Long> threads = CpuTime.byGroup().since(threads0);
        pool.shutdown();
        return new Level(clients, List.copyOf(samples), wall, cpu0 < 0 || cpu1 < 0 ? -1 : cpu1 - cpu0, threads);
    }

    private static Sample post(HttpClient http, URI target, String body) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(target).header("Content-Type", "application/json")
                .timeout(Duration.ofMinutes(2)).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        long t0 = System.nanoTime();
        HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
        long nanos = System.nanoTime() - t0;
        if (r.statusCode() != 201) {
            return new Sample(r.statusCode(), nanos, 0, null, Double.NaN);
        }
        JsonNode json = JSON.readTree(r.body());
        int tokens = 0;
        for (JsonNode o : json.get("outputs")) {
            tokens += o.get("tokens").size();
        }
        return new Sample(201, nanos, tokens, json.get("id").asString(), json.get("latency_ms").asDouble());
    }

    /** Generation rows now: from the database when the app runs here, else the list's total. */
    private static long rows(ConfigurableApplicationContext app, URI target, HttpClient http) throws Exception {
        if (app != null) {
            return db(app).sql("SELECT count(*) AS n FROM generations").map(r -> r.get("n", Long.class)).one().block();
        }
        HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(target + "?size=1")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body()).get("total").asLong();
    }

    private static DatabaseClient db(ConfigurableApplicationContext app) {
        return app.getBean(DatabaseClient.class);
    }

    private static List<String> check(ConfigurableApplicationContext app, URI target, HttpClient http,
                                      List<Sample> all, long rowsBefore, Instant since) throws Exception {
        List<String> problems = new ArrayList<>();
        List<String> ids = all.stream().map(Sample::id).filter(id -> id != null).toList();
        Set<String> unique = new HashSet<>(ids);
        if (unique.size() != ids.size()) {
            problems.add((ids.size() - unique.size()) + " ids answered twice");
        }
        long added = rows(app, target, http) - rowsBefore;
        if (added != ids.size()) {
            problems.add(added + " generation rows added for " + ids.size() + " accepted requests");
        }
        if (app != null) {
            DatabaseClient db = db(app);
            long running = db.sql("SELECT count(*) AS n FROM generations WHERE status = 'running'")
                    .map(r -> r.get("n", Long.class)).one().block();
            if (running != 0) {
                problems.add(running + " generations left running");
            }
            List<Map<String, Object>> rows = db.sql("SELECT g.id::text AS id, g.status, count(o.*) AS outputs"
                            + " FROM generations g LEFT JOIN outputs o ON o.generation_id = g.id"
                            + " WHERE g.created_at >= :since GROUP BY g.id, g.status")
                    .bind("since", since.minusSeconds(1).atOffset(java.time.ZoneOffset.UTC)).fetch().all()
                    .collectList().block();
            Set<String> stored = new HashSet<>();
            for (Map<String, Object> row : rows) {
                stored.add((String) row.get("id"));
                if (!"completed".equals(row.get("status")) || ((Number) row.get("outputs")).longValue() != 1) {
                    problems.add("generation " + row.get("id") + ": " + row.get("status") + " with "
                            + row.get("outputs") + " outputs");
                }
            }
            if (!stored.equals(unique)) {
                problems.add("stored ids differ from the accepted ones: " + stored.size() + " vs " + unique.size());
            }
        } else {
            for (String id : unique) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(target + "/" + UUID.fromString(id)))
                        .GET().build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200 || !JSON.readTree(r.body()).get("status").asString().equals("completed")) {
                    problems.add("generation " + id + ": " + r.statusCode() + " " + r.body());
                }
            }
        }
        return problems;
    }

    /**
     * CPU ms per accepted request by thread group and level, the groups that took most in the last level first:
     * where the machine's time goes, and what batching shares (the decoder threads) and what it does not.
     */
    private static void printThreads(List<Level> measured) {
        Level last = measured.get(measured.size() - 1);
        List<String> groups = last.threadTicks().entrySet().stream().filter(e -> e.getValue() > 0)
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(12).map(Map.Entry::getKey).toList();
        if (groups.isEmpty()) {
            return;
        }
        System.out.println();
        System.out.println("| CPU ms per request, by thread group | " + String.join(" | ",
                measured.stream().map(l -> l.clients() + " client(s)").toList()) + " |");
        System.out.println("|---" + "|---".repeat(measured.size()) + "|");
        for (String g : groups) {
            StringBuilder row = new StringBuilder("| " + g);
            for (Level l : measured) {
                row.append(String.format(" | %.1f", l.msPerRequest(l.threadTicks().getOrDefault(g, 0L))));
            }
            System.out.println(row.append(" |"));
        }
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
