package io.sightline.store;

import org.springframework.r2dbc.core.DatabaseClient;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * Whose rows a request may see and whose name new rows get, carried in the Reactor context of the request (the
 * API's auth filter writes it) so that every store query of the request is scoped without each caller passing it.
 * A query that finds no scope fails rather than see everything.
 *
 * @param team the caller's team; null when API keys are off and every caller sees every row
 */
public record TeamScope(String team) {

    /** API keys off: one trusted tenant, rows without a team. */
    public static final TeamScope ALL = new TeamScope(null);

    public static TeamScope of(String team) {
        return new TeamScope(team);
    }

    /** {@code context} with this scope in it. */
    public Context in(Context context) {
        return context.put(TeamScope.class, this);
    }

    static Mono<TeamScope> current() {
        return Mono.deferContextual(TeamScope::from);
    }

    private static Mono<TeamScope> from(ContextView context) {
        return context.<TeamScope>getOrEmpty(TeamScope.class)
                .map(Mono::just)
                .orElseGet(() -> Mono.error(new IllegalStateException("no TeamScope in the Reactor context")));
    }

    /** SQL condition on {@code column} that keeps this scope's rows, with {@code :team} bound by {@link #bind}. */
    String where(String column) {
        return team == null ? "true" : column + " = :team";
    }

    DatabaseClient.GenericExecuteSpec bind(DatabaseClient.GenericExecuteSpec spec) {
        return team == null ? spec : spec.bind("team", team);
    }

    /** Binds {@code :team} of an insert to the team a new row belongs to: this scope's, NULL when unscoped. */
    DatabaseClient.GenericExecuteSpec bindOwner(DatabaseClient.GenericExecuteSpec spec) {
        return team == null ? spec.bindNull("team", String.class) : spec.bind("team", team);
    }
}
