package io.sightline.config;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.HashMap;
import java.util.Map;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;

/**
 * Gives the app a database when none is configured: with no {@code spring.r2dbc.url}, starts an embedded
 * PostgreSQL (zonky) before the context refreshes and points both R2DBC (the app) and Flyway (JDBC, start-up
 * migrations) at its port. The container stops the server on shutdown.
 *
 * <p>With {@code spring.r2dbc.url} set but no {@code spring.flyway.url}, Flyway gets the same server through
 * the JDBC driver, so an external database needs only the standard R2DBC properties.
 *
 * <p>Registered in {@code META-INF/spring.factories}; an initializer rather than a bean because the URLs
 * must exist before auto-configuration binds them.
 */
public final class EmbeddedPostgresInitializer implements ApplicationContextInitializer<GenericApplicationContext> {

    private static final Log log = LogFactory.getLog(EmbeddedPostgresInitializer.class);
    private static final String R2DBC_URL = "spring.r2dbc.url";
    private static final String FLYWAY_URL = "spring.flyway.url";

    @Override
    public void initialize(GenericApplicationContext context) {
        ConfigurableEnvironment env = context.getEnvironment();
        Map<String, Object> derived = new HashMap<>();
        if (!env.containsProperty(R2DBC_URL)) {
            EmbeddedPostgres postgres = start();
            // a registered singleton exists from the start, so even a refresh that fails early stops the server;
            // registered first, it is destroyed last, after the pools that talk to it
            context.getBeanFactory().registerSingleton("embeddedPostgres", postgres);
            context.getDefaultListableBeanFactory().registerDisposableBean("embeddedPostgres", postgres::close);
            int port = postgres.getPort();
            log.info("No spring.r2dbc.url configured: started embedded PostgreSQL on port " + port);
            derived.put(R2DBC_URL, "r2dbc:postgresql://localhost:" + port + "/postgres");
            derived.put("spring.r2dbc.username", "postgres");
            derived.put(FLYWAY_URL, "jdbc:postgresql://localhost:" + port + "/postgres");
            derived.put("spring.flyway.user", "postgres");
        } else if (!env.containsProperty(FLYWAY_URL)) {
            String r2dbc = env.getRequiredProperty(R2DBC_URL);
            if (r2dbc.startsWith("r2dbc:postgresql://")) {
                derived.put(FLYWAY_URL, "jdbc:" + r2dbc.substring("r2dbc:".length()));
                derived.put("spring.flyway.user", env.getProperty("spring.r2dbc.username", ""));
                derived.put("spring.flyway.password", env.getProperty("spring.r2dbc.password", ""));
            }
        }
        if (!derived.isEmpty()) {
            env.getPropertySources().addLast(new MapPropertySource("sightlineDatabase", derived));
        }
    }

    private static EmbeddedPostgres start() {
        try {
            // no shutdown hook of its own: on SIGTERM it would stop the server at once, beside Spring's hook, while
            // the graceful shutdown still stores the generations in flight; the context closes it last instead
            return EmbeddedPostgres.builder().setRegisterShutdownHook(false).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start embedded PostgreSQL", e);
        }
    }
}
