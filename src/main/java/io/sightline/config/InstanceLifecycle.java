package io.sightline.config;

import io.sightline.store.InstanceStore;
import java.time.Duration;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.web.server.context.WebServerGracefulShutdownLifecycle;
import org.springframework.context.SmartLifecycle;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * This instance's heartbeat, the clean-up after dead instances, and the last step of a graceful shutdown.
 *
 * <p>Shutdown runs in phases (highest first): the web server's graceful phase stops accepting requests and waits
 * up to {@code spring.lifecycle.timeout-per-shutdown-phase} for those in flight, which finish normally; then
 * {@link #stop()} here stores every generation of this instance still running as failed with the reason; then the
 * web server stops, closing the remaining connections, which cancels their decodes. So this phase sits between the
 * two, and nothing this instance accepted is left {@code running} once the context is closed. Readiness goes down
 * first of all: Boot publishes {@code REFUSING_TRAFFIC} when the context starts closing.
 */
final class InstanceLifecycle implements SmartLifecycle {

    private static final Log log = LogFactory.getLog(InstanceLifecycle.class);
    static final String SHUTDOWN_REASON = "shutdown: the server stopped before this generation finished";
    /** A blocking database call at start or stop gives up after this long rather than hang the context. */
    private static final Duration DATABASE_TIMEOUT = Duration.ofSeconds(30);

    private final InstanceStore instances;
    private final SightlineProperties.Instance settings;
    private volatile Disposable heartbeats;

    InstanceLifecycle(InstanceStore instances, SightlineProperties.Instance settings) {
        this.instances = instances;
        this.settings = settings;
    }

    @Override
    public void start() {
        beat().block(DATABASE_TIMEOUT);
        log.info("Instance " + instances.id() + " registered; heartbeat every " + settings.heartbeatInterval());
        heartbeats = Flux.interval(settings.heartbeatInterval())
                .concatMap(tick -> beat().onErrorResume(e -> {
                    log.warn("Heartbeat of instance " + instances.id() + " failed; retrying", e);
                    return Mono.empty();
                }))
                .subscribe();
    }

    private Mono<Void> beat() {
        return instances.heartbeat()
                .then(instances.releaseStale(settings.staleAfter()))
                .doOnNext(failed -> {
                    if (failed > 0) {
                        log.warn("Stored " + failed + " generations of dead instances as failed (no heartbeat for "
                                + settings.staleAfter() + ")");
                    }
                })
                .then();
    }

    @Override
    public void stop() {
        heartbeats.dispose();
        heartbeats = null;
        try {
            Long failed = instances.release(SHUTDOWN_REASON).block(DATABASE_TIMEOUT);
            log.info("Instance " + instances.id() + " stopped; " + failed + " generations still running were stored as failed");
        } catch (RuntimeException e) {
            // the other instances' heartbeat check (or the next start-up) fails them once this heartbeat is stale
            log.warn("Instance " + instances.id() + " could not store its running generations as failed: " + e
                    + "; another instance will once its heartbeat is older than " + settings.staleAfter());
        }
    }

    @Override
    public boolean isRunning() {
        return heartbeats != null;
    }

    /** After the web server's graceful phase, before the web server stops (see the class comment). */
    @Override
    public int getPhase() {
        return WebServerGracefulShutdownLifecycle.SMART_LIFECYCLE_PHASE - 512;
    }
}
