package io.sightline.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.sightline.SightlineApplication;
import io.sightline.engine.Cancellation;
import io.sightline.engine.DecodeLoop;
import io.sightline.engine.DecodingOptions;
import io.sightline.engine.GenerationRequest;
import io.sightline.engine.TestModel;
import io.sightline.intervention.ArmSpec;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.availability.AvailabilityChangeEvent;
import org.springframework.boot.availability.ReadinessState;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ApplicationListener;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.http.MediaType;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Shutdown and crash recovery against a PostgreSQL that outlives the app (started here, not by the app, so the rows
 * can be read after the context is closed). A generation is held "in flight" by taking the only inference thread
 * with a task that waits on a latch: the generation is stored {@code running} and waits for that thread.
 */
class ShutdownTest {

    private static EmbeddedPostgres postgres;

    @BeforeAll
    static void startDatabase() throws Exception {
        postgres = EmbeddedPostgres.builder().start();
        // migrated here too, so that rows can be planted before an app starts
        Flyway.configure().dataSource(postgres.getPostgresDatabase()).locations("classpath:db/migration").load().migrate();
    }

    @AfterAll
    static void stopDatabase() throws Exception {
        postgres.close();
    }

    @Test
    void generationsStillRunningAfterTheGracePeriodAreStoredFailedAndReadinessWentDownFirst() throws Exception {
        ConfigurableApplicationContext app = start("spring.lifecycle.timeout-per-shutdown-phase=500ms");
        List<Object> readiness = new CopyOnWriteArrayList<>();
        app.addApplicationListener((ApplicationListener<AvailabilityChangeEvent<?>>) e -> readiness.add(e.getState()));
        CountDownLatch hold = occupyTheInferenceThread(app);
        CompletableFuture<String> response = generate(app);
        UUID id = awaitRunningGeneration();

        app.close();
        hold.countDown();

        assertThat(row(id)).containsEntry("status", "failed").containsEntry("reason", InstanceLifecycle.SHUTDOWN_REASON);
        assertThat(countRunning()).isZero();
        assertThat(readiness).contains(ReadinessState.REFUSING_TRAFFIC);
        assertThat(response).failsWithin(Duration.ofSeconds(30));
    }

    @Test
    void aGenerationInFlightFinishesWithinTheGracePeriod() throws Exception {
        ConfigurableApplicationContext app = start("spring.lifecycle.timeout-per-shutdown-phase=60s");
        CountDownLatch hold = occupyTheInferenceThread(app);
        CompletableFuture<String> response = generate(app);
        UUID id = awaitRunningGeneration();

        CompletableFuture.runAsync(hold::countDown, CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS));
        app.close();

        assertThat(row(id)).containsEntry("status", "completed");
        assertThat(response.get(30, TimeUnit.SECONDS)).contains("\"status\":\"completed\"");
    }

    @Test
    void startUpFailsWhatADeadInstanceLeftRunningAndLeavesLiveInstancesAlone() throws Exception {
        UUID dead = UUID.randomUUID();
        UUID live = UUID.randomUUID();
        UUID abandoned = UUID.randomUUID();
        UUID elsewhere = UUID.randomUUID();
        sql("INSERT INTO instances (id, heartbeat_at) VALUES ('" + dead + "', now() - interval '1 hour'),"
                + " ('" + live + "', now())");
        sql("INSERT INTO images (sha256, bytes, media_type, width, height) VALUES (repeat('a', 64), '\\x00', 'image/png',"
                + " 1, 1) ON CONFLICT DO NOTHING");
        for (UUID[] g : new UUID[][] {{abandoned, dead}, {elsewhere, live}}) {
            sql("INSERT INTO generations (id, status, prompt, request, interventions, image_sha256, instance_id)"
                    + " VALUES ('" + g[0] + "', 'running', 'p', '{}', '{none}', repeat('a', 64), '" + g[1] + "')");
        }
        sql("INSERT INTO idempotency_keys (endpoint, idempotency_key, request_sha256, instance_id, expires_at)"
                + " VALUES ('POST /v1/generations', 'dead-key', repeat('b', 64), '" + dead + "', now() + interval '1 day')");

        ConfigurableApplicationContext app = start();
        try {
            assertThat(row(abandoned)).containsEntry("status", "failed");
            assertThat((String) row(abandoned).get("reason")).startsWith("instance-lost: instance " + dead);
            assertThat(row(elsewhere)).containsEntry("status", "running");
            assertThat(count("idempotency_keys WHERE idempotency_key = 'dead-key'")).isZero();
            assertThat(count("instances WHERE id = '" + dead + "'")).isZero();
        } finally {
            app.close();
            sql("DELETE FROM generations WHERE id = '" + elsewhere + "'");
            sql("DELETE FROM instances WHERE id = '" + live + "'");
        }
    }

    /** Properties as command-line arguments, so that they win over application.yml. */
    private static ConfigurableApplicationContext start(String... properties) {
        List<String> all = new ArrayList<>(List.of("server.port=0",
                "spring.r2dbc.url=r2dbc:postgresql://localhost:" + postgres.getPort() + "/postgres",
                "spring.r2dbc.username=postgres"));
        all.addAll(List.of(properties));
        return new SpringApplicationBuilder(SightlineApplication.class)
                .run(all.stream().map(p -> "--" + p).toArray(String[]::new));
    }

    /**
     * Holds the decode loop's thread until the returned latch opens: a request whose token listener waits on it, so
     * the next generation waits to join the batch, stored as running.
     */
    private static CountDownLatch occupyTheInferenceThread(ConfigurableApplicationContext app) {
        CountDownLatch hold = new CountDownLatch(1);
        GenerationRequest blocker = new GenerationRequest(TestModel.image("samples/scene-b.png"), "describe the image .",
                DecodingOptions.greedy(2), List.of(ArmSpec.none()));
        app.getBean(DecodeLoop.class).reserve().submit(blocker, Cancellation.create(), (arm, token, logprob, nanos) -> {
            try {
                hold.await(60, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                // the loop is closing: let it go
                Thread.currentThread().interrupt();
            }
        });
        return hold;
    }

    private static CompletableFuture<String> generate(ConfigurableApplicationContext app) throws Exception {
        byte[] png = Files.readAllBytes(Path.of("onnx-models/samples/scene-a.png"));
        String port = app.getEnvironment().getProperty("local.server.port");
        return WebClient.create("http://localhost:" + port).post().uri("/v1/generations")
                .contentType(MediaType.APPLICATION_JSON)
                .bodyValue(Map.of("prompt", "describe the image .", "max_new_tokens", 4,
                        "image", Base64.getEncoder().encodeToString(png)))
                .retrieve().bodyToMono(String.class).toFuture();
    }

    private static UUID awaitRunningGeneration() throws Exception {
        for (int i = 0; i < 300; i++) {
            try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
                 ResultSet r = s.executeQuery("SELECT id FROM generations WHERE status = 'running' AND instance_id IN"
                         + " (SELECT id FROM instances WHERE heartbeat_at > now() - interval '1 minute')")) {
                if (r.next()) {
                    return UUID.fromString(r.getString(1));
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no generation started running within 30 s");
    }

    private static Map<String, Object> row(UUID id) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT status, reason FROM generations WHERE id = '" + id + "'")) {
            assertThat(r.next()).as("generation " + id).isTrue();
            Map<String, Object> row = new java.util.HashMap<>();
            row.put("status", r.getString("status"));
            row.put("reason", r.getString("reason"));
            return row;
        }
    }

    private static long countRunning() throws Exception {
        return count("generations WHERE status = 'running'");
    }

    private static long count(String tableAndWhere) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement();
             ResultSet r = s.executeQuery("SELECT count(*) FROM " + tableAndWhere)) {
            r.next();
            return r.getLong(1);
        }
    }

    private static void sql(String statement) throws Exception {
        try (Connection c = postgres.getPostgresDatabase().getConnection(); Statement s = c.createStatement()) {
            s.execute(statement);
        }
    }
}
