package io.sightline.config;

import io.micrometer.core.instrument.MeterRegistry;
import io.sightline.api.ApiKeyFilter;
import io.sightline.api.ChatCompletions;
import io.sightline.api.DecodingAdmission;
import io.sightline.api.EvaluationAdmission;
import io.sightline.api.EvaluationService;
import io.sightline.api.FeedbackService;
import io.sightline.api.GenerationAdmission;
import io.sightline.api.GenerationRequestParser;
import io.sightline.api.GenerationService;
import io.sightline.api.Idempotency;
import io.sightline.api.UploadPartsReader;
import io.sightline.api.UploadedSetParser;
import io.sightline.engine.DecodeLoop;
import io.sightline.engine.EngineOptions;
import io.sightline.engine.Generator;
import io.sightline.engine.ModelBundle;
import io.sightline.engine.OrtVlm;
import io.sightline.engine.Tokenizer;
import io.sightline.eval.BenchmarkCatalog;
import io.sightline.eval.EvaluationWorker;
import io.sightline.intervention.InterventionRegistry;
import io.sightline.store.ApiKeyStore;
import io.sightline.store.EvaluationStore;
import io.sightline.store.FeedbackStore;
import io.sightline.store.GenerationStore;
import io.sightline.store.IdempotencyStore;
import io.sightline.store.ImageStore;
import io.sightline.store.InstanceStore;
import io.sightline.vision.ImageLimits;
import io.sightline.vision.ImagePreprocessor;
import java.lang.management.ManagementFactory;
import java.util.UUID;
import org.apache.commons.logging.Log;
import org.apache.commons.logging.LogFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.http.codec.CodecCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.codec.multipart.DefaultPartHttpMessageReader;
import org.springframework.r2dbc.core.DatabaseClient;
import org.springframework.transaction.ReactiveTransactionManager;
import org.springframework.transaction.reactive.TransactionalOperator;
import tools.jackson.databind.json.JsonMapper;

/**
 * The only place that turns {@link SightlineProperties} into the plain engine, vision and store objects.
 * Session-owning beans ({@link OrtVlm}, {@link Tokenizer}) and the decode loop's thread are AutoCloseable, so the
 * container closes them on shutdown.
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(SightlineProperties.class)
public class SightlineConfiguration {

    private static final Log log = LogFactory.getLog(SightlineConfiguration.class);

    /** Non-image parts of a multipart request: the request JSON and part headers. */
    private static final int MULTIPART_OVERHEAD_BYTES = 256 * 1024;

    @Bean
    ModelBundle modelBundle(SightlineProperties properties) {
        return ModelBundle.load(properties.model().path());
    }

    @Bean
    OrtVlm ortVlm(ModelBundle bundle, SightlineProperties properties) {
        SightlineProperties.Engine engine = properties.engine();
        return OrtVlm.open(bundle, new EngineOptions(engine.executionProvider(), engine.intraOpThreads()));
    }

    @Bean
    Tokenizer tokenizer(ModelBundle bundle) {
        return Tokenizer.load(bundle);
    }

    @Bean
    InterventionRegistry interventionRegistry(ModelBundle bundle) {
        return InterventionRegistry.standard(bundle);
    }

    @Bean
    Generator generator(OrtVlm model, Tokenizer tokenizer, InterventionRegistry registry) {
        return new Generator(model, tokenizer, registry);
    }

    @Bean
    ImagePreprocessor imagePreprocessor(ModelBundle bundle, SightlineProperties properties) {
        SightlineProperties.Limits limits = properties.limits();
        return ImagePreprocessor.forModel(bundle,
                new ImageLimits(limits.maxImageBytes().toBytes(), limits.maxImagePixels()));
    }

    @Bean
    InstanceStore instanceStore(DatabaseClient db) {
        return new InstanceStore(db, UUID.randomUUID());
    }

    @Bean
    InstanceLifecycle instanceLifecycle(InstanceStore instances, SightlineProperties properties) {
        return new InstanceLifecycle(instances, properties.instance());
    }

    @Bean
    GenerationStore generationStore(DatabaseClient db, ReactiveTransactionManager transactions, InstanceStore instances) {
        return new GenerationStore(db, TransactionalOperator.create(transactions), instances.id());
    }

    @Bean
    Idempotency idempotency(DatabaseClient db, InstanceStore instances, JsonMapper json, SightlineProperties properties) {
        return new Idempotency(new IdempotencyStore(db, instances.id()), json, properties.idempotency().ttl());
    }

    @Bean
    ApiKeyStore apiKeyStore(DatabaseClient db) {
        return new ApiKeyStore(db);
    }

    /** Says loudly when API keys are off: then every caller sees every team's generations. */
    @Bean
    ApiKeyFilter apiKeyFilter(ApiKeyStore keys, JsonMapper json, SightlineProperties properties) {
        SightlineProperties.Auth auth = properties.auth();
        if (!auth.enabled()) {
            log.warn("API keys are OFF (sightline.auth.enabled=false): anyone who reaches this port can run and read"
                    + " every generation. Fine on a laptop; set sightline.auth.enabled=true anywhere else"
                    + " (the Helm chart does).");
        } else if (auth.adminKey().isEmpty()) {
            log.warn("API keys are on but no admin key is set (SIGHTLINE_AUTH_ADMIN_KEY): no new keys can be created");
        }
        return new ApiKeyFilter(auth.enabled(), auth.adminKey(), keys, json);
    }

    @Bean
    ImageStore imageStore(DatabaseClient db) {
        return new ImageStore(db);
    }

    @Bean
    EvaluationStore evaluationStore(DatabaseClient db, ReactiveTransactionManager transactions, ImageStore images) {
        return new EvaluationStore(db, TransactionalOperator.create(transactions), images);
    }

    @Bean
    FeedbackStore feedbackStore(DatabaseClient db, ReactiveTransactionManager transactions) {
        return new FeedbackStore(db, TransactionalOperator.create(transactions));
    }

    @Bean
    FeedbackService feedbackService(GenerationStore generations, FeedbackStore feedback, JsonMapper json) {
        return new FeedbackService(generations, feedback, json);
    }

    @Bean
    BenchmarkCatalog benchmarkCatalog(SightlineProperties properties) {
        return new BenchmarkCatalog(properties.eval().benchmarks());
    }

    @Bean
    DecodingAdmission decodingAdmission(InterventionRegistry registry, SightlineProperties properties) {
        SightlineProperties.Limits limits = properties.limits();
        return new DecodingAdmission(registry, limits.maxNewTokens(), limits.maxArms());
    }

    @Bean
    EvaluationService evaluationService(BenchmarkCatalog catalog, DecodingAdmission decoding, ImagePreprocessor images,
                                        EvaluationStore store, JsonMapper json, SightlineProperties properties) {
        UploadedSetParser uploads = new UploadedSetParser(json, images, catalog,
                properties.eval().upload().maxItems(), properties.limits().maxPromptChars());
        return new EvaluationService(new EvaluationAdmission(catalog, uploads, decoding, images, json), store, json);
    }

    /** Its own multipart limits, sized for a whole set rather than the one image of a generation (see below). */
    @Bean
    UploadPartsReader uploadPartsReader(SightlineProperties properties) {
        SightlineProperties.Upload upload = properties.eval().upload();
        return new UploadPartsReader(upload.maxImages(), upload.maxPartBytes().toBytes(), upload.maxBytes().toBytes());
    }

    /**
     * This instance's evaluation worker, started and stopped with the context. Its owner name (pid@host plus a
     * random suffix) is unique across instances and restarts, so leases never mix.
     */
    @Bean
    @ConditionalOnProperty(name = "sightline.eval.enabled", havingValue = "true", matchIfMissing = true)
    EvaluationWorker evaluationWorker(SightlineProperties properties, EvaluationStore store, ImageStore images,
                                      ImagePreprocessor preprocessor, Generator generator, JsonMapper json,
                                      MeterRegistry meters) {
        SightlineProperties.Eval eval = properties.eval();
        String owner = ManagementFactory.getRuntimeMXBean().getName() + "-"
                + UUID.randomUUID().toString().substring(0, 8);
        return new EvaluationWorker(owner, new EvaluationWorker.Settings(eval.batchSize(), eval.lease(),
                eval.pollInterval(), eval.maxAttempts()), store, images, preprocessor, generator, json, meters);
    }

    @Bean
    DecodeLoop decodeLoop(Generator generator, SightlineProperties properties) {
        SightlineProperties.Engine engine = properties.engine();
        return new DecodeLoop(generator, engine.maxBatchRows(), engine.queueCapacity(), engine.prefillThreads());
    }

    @Bean
    GenerationAdmission generationAdmission(ImagePreprocessor images, DecodingAdmission decoding,
                                            SightlineProperties properties) {
        return new GenerationAdmission(images, decoding, properties.limits().maxPromptChars(),
                properties.engine().requestTimeout());
    }

    @Bean
    GenerationRequestParser generationRequestParser(JsonMapper json, ImagePreprocessor images) {
        return new GenerationRequestParser(json, images.limits());
    }

    @Bean
    ChatCompletions chatCompletions(GenerationRequestParser parser, Tokenizer tokenizer, ModelBundle bundle) {
        return new ChatCompletions(parser, tokenizer, bundle.name(), bundle.dims().imageTokens());
    }

    @Bean
    GenerationService generationService(GenerationAdmission admission, DecodeLoop loop, GenerationStore store,
                                        ImageStore images, JsonMapper json) {
        return new GenerationService(admission, loop, store, images, json);
    }

    /**
     * Bounds multipart parts by the image limit: a part may exceed it by the overhead at most, and is never
     * spilled to disk, so an oversized upload fails while it is being read (413) instead of filling memory or disk.
     * Ordered last so that it wins over Boot's {@code spring.webflux.multipart.*} customizer.
     */
    @Bean
    @Order(Ordered.LOWEST_PRECEDENCE)
    CodecCustomizer multipartLimits(SightlineProperties properties) {
        long limit = properties.limits().maxImageBytes().toBytes() + MULTIPART_OVERHEAD_BYTES;
        int bytes = (int) Math.min(Integer.MAX_VALUE - 8, limit);
        return configurer -> configurer.defaultCodecs().configureDefaultCodec(codec -> {
            if (codec instanceof DefaultPartHttpMessageReader parts) {
                parts.setMaxInMemorySize(bytes);
                parts.setMaxDiskUsagePerPart(0);
                parts.setMaxParts(4);
            }
        });
    }
}
