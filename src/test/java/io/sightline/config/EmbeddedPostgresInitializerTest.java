package io.sightline.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.core.env.MapPropertySource;

class EmbeddedPostgresInitializerTest {

    @Test
    void startsAServerWhenNoDatabaseIsConfiguredAndStopsItWithTheContext() throws Exception {
        GenericApplicationContext context = new GenericApplicationContext();
        new EmbeddedPostgresInitializer().initialize(context);
        context.refresh();

        String jdbc = context.getEnvironment().getRequiredProperty("spring.flyway.url");
        String r2dbc = context.getEnvironment().getRequiredProperty("spring.r2dbc.url");
        assertThat(r2dbc).isEqualTo("r2dbc:" + jdbc.substring("jdbc:".length()));
        try (Connection c = DriverManager.getConnection(jdbc, "postgres", "");
             ResultSet rs = c.createStatement().executeQuery("SELECT 1")) {
            assertThat(rs.next()).isTrue();
        }

        context.close();

        assertThatThrownBy(() -> DriverManager.getConnection(jdbc, "postgres", "").close())
                .isInstanceOf(SQLException.class);
    }

    @Test
    void pointsFlywayAtAnExternalR2dbcDatabase() {
        GenericApplicationContext context = new GenericApplicationContext();
        context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("test", Map.of(
                "spring.r2dbc.url", "r2dbc:postgresql://db.example:5433/sightline",
                "spring.r2dbc.username", "app", "spring.r2dbc.password", "secret")));

        new EmbeddedPostgresInitializer().initialize(context);

        assertThat(context.getEnvironment().getProperty("spring.flyway.url"))
                .isEqualTo("jdbc:postgresql://db.example:5433/sightline");
        assertThat(context.getEnvironment().getProperty("spring.flyway.user")).isEqualTo("app");
        assertThat(context.getEnvironment().getProperty("spring.flyway.password")).isEqualTo("secret");
        assertThat(context.getBeanFactory().containsSingleton("embeddedPostgres")).isFalse();
    }

    @Test
    void leavesAnExplicitFlywayUrlAlone() {
        GenericApplicationContext context = new GenericApplicationContext();
        context.getEnvironment().getPropertySources().addFirst(new MapPropertySource("test", Map.of(
                "spring.r2dbc.url", "r2dbc:postgresql://db.example/app",
                "spring.flyway.url", "jdbc:postgresql://admin.example/app")));

        new EmbeddedPostgresInitializer().initialize(context);

        assertThat(context.getEnvironment().getProperty("spring.flyway.url")).isEqualTo("jdbc:postgresql://admin.example/app");
    }
}
