package io.sightline.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.InstanceOfAssertFactories.MAP;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import com.marcnuri.helm.TemplateCommand;
import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.Yaml;

/**
 * {@code helm/sightline} through Helm's own lint and template code (helm-java), for the chart's default values and
 * for {@code values-gpu.yaml}, with the rendered manifests parsed and checked field by field.
 */
class HelmChartTest {

    private static final Path CHART = Path.of("helm/sightline");
    private static final Path GPU_VALUES = CHART.resolve("values-gpu.yaml");
    private static final String RELEASE = "sightline";
    /** helm template assumes Kubernetes 1.20 without a cluster, below the chart's kubeVersion. */
    private static final String KUBE_VERSION = "1.30.0";
    private static final String DB_SECRET = "sightline-db";
    private static final String AUTH_SECRET = "sightline-auth";
    /** The two values the chart cannot default: which Secrets hold the database and the admin key. */
    private static final Map<String, Object> REQUIRED = Map.of(
            "database", Map.of("existingSecret", DB_SECRET), "auth", Map.of("existingSecret", AUTH_SECRET));

    @TempDir
    Path tmp;

    @Test
    void lintIsCleanWithDefaultValues() {
        assertLintClean(REQUIRED);
    }

    @Test
    void lintIsCleanWithGpuValues() {
        assertLintClean(merge(REQUIRED, readYaml(GPU_VALUES)));
    }

    @Test
    void defaultPodIsNonRootWithReadOnlyRootAndWritableTmp() {
        Map<String, Object> pod = podSpec(render(template()));
        Map<String, Object> container = container(pod);

        assertThat(map(pod, "securityContext")).containsEntry("runAsNonRoot", true).containsEntry("runAsUser", 10001);
        assertThat(pod).containsEntry("automountServiceAccountToken", false);
        assertThat(map(container, "securityContext")).containsEntry("readOnlyRootFilesystem", true)
                .containsEntry("allowPrivilegeEscalation", false)
                .containsEntry("capabilities", Map.of("drop", List.of("ALL")));
        assertThat(mountPath(container, "tmp")).isEqualTo("/tmp");
        assertThat(volume(pod, "tmp")).containsKey("emptyDir");
    }

    @Test
    void probesUseTheActuatorHealthGroupsOnTheHttpPort() {
        Map<String, Object> container = container(podSpec(render(template())));

        assertThat(list(container, "ports")).containsExactly(
                Map.of("name", "http", "containerPort", 8080, "protocol", "TCP"));
        assertThat(probe(container, "startupProbe")).isEqualTo(Map.of("path", "/actuator/health/liveness", "port", "http"));
        assertThat(probe(container, "livenessProbe")).isEqualTo(Map.of("path", "/actuator/health/liveness", "port", "http"));
        assertThat(probe(container, "readinessProbe")).isEqualTo(Map.of("path", "/actuator/health/readiness", "port", "http"));
    }

    @Test
    void databaseAndAdminKeyComeFromTheNamedSecrets() {
        Map<String, Object> container = container(podSpec(render(template())));

        assertThat(secretRef(container, "SPRING_R2DBC_URL")).isEqualTo(Map.of("name", DB_SECRET, "key", "url"));
        assertThat(secretRef(container, "SPRING_R2DBC_USERNAME")).isEqualTo(Map.of("name", DB_SECRET, "key", "username"));
        assertThat(secretRef(container, "SPRING_R2DBC_PASSWORD")).isEqualTo(Map.of("name", DB_SECRET, "key", "password"));
        assertThat(secretRef(container, "SIGHTLINE_AUTH_ADMIN_KEY")).isEqualTo(Map.of("name", AUTH_SECRET, "key", "admin-key"));
    }

    @Test
    void withoutSecretsTheChartRefusesToRender() {
        assertThatThrownBy(() -> bare().call())
                .hasMessageContaining("database.existingSecret");
        assertThatThrownBy(() -> bare().set("database.existingSecret", DB_SECRET).call())
                .hasMessageContaining("auth.existingSecret");
    }

    @Test
    void authOffNeedsNoKeySecretAndSaysSoInTheConfig() {
        List<Map<String, Object>> docs = render(bare()
                .set("database.existingSecret", DB_SECRET).set("auth.enabled", false));

        assertThat(envNames(container(podSpec(docs)))).doesNotContain("SIGHTLINE_AUTH_ADMIN_KEY");
        assertThat(sightlineConfig(docs, "auth")).containsEntry("enabled", false);
    }

    @Test
    void configMapIsMountedAndCarriesAuthModelAndCpuProvider() {
        List<Map<String, Object>> docs = render(template());
        Map<String, Object> pod = podSpec(docs);
        Map<String, Object> container = container(pod);

        assertThat(map(volume(pod, "config"), "configMap")).containsEntry("name", RELEASE);
        assertThat(mountPath(container, "config")).isEqualTo("/etc/sightline");
        assertThat(env(container, "SPRING_CONFIG_ADDITIONAL_LOCATION")).containsEntry("value", "file:/etc/sightline/");
        assertThat(sightlineConfig(docs, "auth")).containsEntry("enabled", true);
        assertThat(sightlineConfig(docs, "model")).containsEntry("path", "/app/onnx-models/shapes-vlm");
        assertThat(sightlineConfig(docs, "engine")).containsEntry("execution-provider", "cpu")
                .containsEntry("max-batch-rows", 32);
    }

    @Test
    void javaOptionsAndExtraEnvReachTheContainer() {
        Map<String, Object> container = container(podSpec(render(template().set("javaOptions", "-XX:MaxRAMPercentage=60")
                .set("extraEnv[0].name", "SPRING_PROFILES_ACTIVE").set("extraEnv[0].value", "prod"))));

        assertThat(env(container, "JAVA_OPTS")).containsEntry("value", "-XX:MaxRAMPercentage=60");
        assertThat(env(container, "SPRING_PROFILES_ACTIVE")).containsEntry("value", "prod");
        assertThat(envNames(container(podSpec(render(template()))))).doesNotContain("JAVA_OPTS");
    }

    @Test
    void defaultValuesUseTheCpuImageAndNoGpu() {
        Map<String, Object> container = container(podSpec(render(template())));

        assertThat(container).containsEntry("image", "sightline:0.1.0");
        assertThat(map(map(container, "resources"), "limits")).containsEntry("memory", "2Gi")
                .doesNotContainKey("nvidia.com/gpu");
        assertThat(map(map(container, "resources"), "requests")).doesNotContainKey("nvidia.com/gpu");
    }

    @Test
    void gpuValuesAddTheGpuLimitTheGpuImageAndTheCudaProvider() {
        List<Map<String, Object>> docs = render(template().withValuesFile(GPU_VALUES));
        Map<String, Object> pod = podSpec(docs);
        Map<String, Object> container = container(pod);

        assertThat(container).containsEntry("image", "sightline:0.1.0-gpu");
        assertThat(map(map(container, "resources"), "limits")).containsEntry("nvidia.com/gpu", 1)
                .containsEntry("memory", "8Gi");
        assertThat(map(map(container, "resources"), "requests")).doesNotContainKey("nvidia.com/gpu");
        assertThat(sightlineConfig(docs, "engine")).containsEntry("execution-provider", "cuda");
        assertThat(list(pod, "tolerations")).contains(
                Map.of("key", "nvidia.com/gpu", "operator", "Exists", "effect", "NoSchedule"));
    }

    @Test
    void modelVolumeIsMountedReadOnlyAndThePathFollowsIt() {
        List<Map<String, Object>> docs = render(template().set("model.volume.persistentVolumeClaim.claimName", "models")
                .set("model.path", "/models/llava-1.5"));
        Map<String, Object> pod = podSpec(docs);
        Map<String, Object> container = container(pod);

        assertThat(volume(pod, "model")).containsEntry("persistentVolumeClaim", Map.of("claimName", "models"));
        assertThat(mount(container, "model")).containsEntry("mountPath", "/models").containsEntry("readOnly", true);
        assertThat(sightlineConfig(docs, "model")).containsEntry("path", "/models/llava-1.5");
    }

    @Test
    void defaultModelComesFromTheImage() {
        Map<String, Object> pod = podSpec(render(template()));

        assertThat(names(list(pod, "volumes"))).containsExactly("tmp", "config");
    }

    @Test
    void autoscalerIsOffByDefaultAndOwnsTheReplicasWhenOn() {
        List<Map<String, Object>> off = render(template());
        assertThat(kinds(off)).doesNotContain("HorizontalPodAutoscaler");
        assertThat(map(the(off, "Deployment"), "spec")).containsEntry("replicas", 1);

        List<Map<String, Object>> on = render(template().set("autoscaling.enabled", true).set("autoscaling.maxReplicas", 6));
        Map<String, Object> hpa = map(the(on, "HorizontalPodAutoscaler"), "spec");
        assertThat(map(hpa, "scaleTargetRef")).containsEntry("kind", "Deployment").containsEntry("name", RELEASE);
        assertThat(hpa).containsEntry("maxReplicas", 6);
        assertThat(map(the(on, "Deployment"), "spec")).doesNotContainKey("replicas");
    }

    @Test
    void disruptionBudgetIsOnByDefaultAndSelectsThePods() {
        List<Map<String, Object>> docs = render(template());
        Map<String, Object> pdb = map(the(docs, "PodDisruptionBudget"), "spec");

        assertThat(pdb).containsEntry("maxUnavailable", 1);
        assertThat(map(pdb, "selector")).containsEntry("matchLabels", podLabels(docs));
        assertThat(kinds(render(template().set("podDisruptionBudget.enabled", false)))).doesNotContain("PodDisruptionBudget");
    }

    @Test
    void serviceMonitorIsOffByDefaultAndScrapesPrometheusOnTheServicePortWhenOn() {
        assertThat(kinds(render(template()))).doesNotContain("ServiceMonitor");

        List<Map<String, Object>> docs = render(template().set("serviceMonitor.enabled", true)
                .set("serviceMonitor.labels.release", "prometheus"));
        Map<String, Object> monitor = the(docs, "ServiceMonitor");
        Map<String, Object> service = the(docs, "Service");

        assertThat(map(map(monitor, "metadata"), "labels")).containsEntry("release", "prometheus");
        assertThat(list(map(monitor, "spec"), "endpoints")).singleElement().asInstanceOf(MAP)
                .containsEntry("port", "http").containsEntry("path", "/actuator/prometheus");
        assertThat(map(map(monitor, "spec"), "selector")).containsEntry("matchLabels", map(map(service, "spec"), "selector"));
        assertThat(map(map(service, "metadata"), "labels")).containsAllEntriesOf(map(map(service, "spec"), "selector"));
        assertThat(list(map(service, "spec"), "ports")).singleElement().asInstanceOf(MAP)
                .containsEntry("name", "http").containsEntry("targetPort", "http");
    }

    @Test
    void serviceSelectsThePods() {
        List<Map<String, Object>> docs = render(template());

        assertThat(map(map(the(docs, "Service"), "spec"), "selector")).isEqualTo(podLabels(docs));
        assertThat(map(map(the(docs, "Deployment"), "spec"), "selector")).containsEntry("matchLabels", podLabels(docs));
    }

    // ---- rendering

    /** helm template with the two required Secrets named. */
    private static TemplateCommand template() {
        return bare().set("database.existingSecret", DB_SECRET).set("auth.existingSecret", AUTH_SECRET);
    }

    private static TemplateCommand bare() {
        return new Helm(CHART).template().withName(RELEASE).withNamespace("ml").withKubeVersion(KUBE_VERSION);
    }

    private static List<Map<String, Object>> render(TemplateCommand command) {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml().loadAll(command.call())) {
            if (doc != null) {
                docs.add(cast(doc));
            }
        }
        return docs;
    }

    /**
     * helm-java's lint takes no values files, so the chart is copied with {@code overlay} merged into its
     * values.yaml; strict turns Helm's warnings into failures.
     */
    private void assertLintClean(Map<String, Object> overlay) {
        Path copy = tmp.resolve("sightline");
        try (Stream<Path> files = Files.walk(CHART)) {
            for (Path from : (Iterable<Path>) files::iterator) {
                Path to = copy.resolve(CHART.relativize(from).toString());
                if (Files.isDirectory(from)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(from, to);
                }
            }
            try (Writer out = Files.newBufferedWriter(copy.resolve("values.yaml"))) {
                new Yaml().dump(merge(readYaml(CHART.resolve("values.yaml")), overlay), out);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        LintResult result = new Helm(copy).lint().strict().call();

        assertThat(result.isFailed()).as("helm lint: %s", result.getMessages()).isFalse();
        assertThat(result.getMessages()).noneMatch(m -> m.contains("[WARNING]") || m.contains("[ERROR]"));
    }

    // ---- manifest navigation

    private static Map<String, Object> the(List<Map<String, Object>> docs, String kind) {
        List<Map<String, Object>> found = docs.stream().filter(d -> kind.equals(d.get("kind"))).toList();
        assertThat(found).as("one %s in %s", kind, kinds(docs)).hasSize(1);
        return found.get(0);
    }

    private static List<Object> kinds(List<Map<String, Object>> docs) {
        return docs.stream().map(d -> d.get("kind")).toList();
    }

    private static Map<String, Object> podSpec(List<Map<String, Object>> docs) {
        return map(map(map(the(docs, "Deployment"), "spec"), "template"), "spec");
    }

    private static Map<String, Object> podLabels(List<Map<String, Object>> docs) {
        return map(map(map(map(the(docs, "Deployment"), "spec"), "template"), "metadata"), "labels");
    }

    private static Map<String, Object> container(Map<String, Object> pod) {
        List<Object> containers = list(pod, "containers");
        assertThat(containers).hasSize(1);
        return cast(containers.get(0));
    }

    private static Map<String, Object> probe(Map<String, Object> container, String name) {
        return map(map(container, name), "httpGet");
    }

    private static Map<String, Object> env(Map<String, Object> container, String name) {
        return named(list(container, "env"), name);
    }

    private static List<Object> envNames(Map<String, Object> container) {
        return names(list(container, "env"));
    }

    private static Map<String, Object> secretRef(Map<String, Object> container, String name) {
        return map(map(env(container, name), "valueFrom"), "secretKeyRef");
    }

    private static Map<String, Object> volume(Map<String, Object> pod, String name) {
        return named(list(pod, "volumes"), name);
    }

    private static Map<String, Object> mount(Map<String, Object> container, String name) {
        return named(list(container, "volumeMounts"), name);
    }

    private static Object mountPath(Map<String, Object> container, String name) {
        return mount(container, name).get("mountPath");
    }

    /** A {@code sightline.<section>} map from the application.yaml in the ConfigMap. */
    private static Map<String, Object> sightlineConfig(List<Map<String, Object>> docs, String section) {
        String yaml = (String) map(the(docs, "ConfigMap"), "data").get("application.yaml");
        return map(map(cast(new Yaml().load(yaml)), "sightline"), section);
    }

    private static Map<String, Object> named(List<Object> items, String name) {
        return items.stream().map(HelmChartTest::cast).filter(i -> name.equals(i.get("name"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + name + " in " + names(items)));
    }

    private static List<Object> names(List<Object> items) {
        return items.stream().map(i -> cast(i).get("name")).toList();
    }

    private static Map<String, Object> map(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        assertThat(value).as("%s in %s", key, parent.keySet()).isInstanceOf(Map.class);
        return cast(value);
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Map<String, Object> parent, String key) {
        Object value = parent.get(key);
        assertThat(value).as("%s in %s", key, parent.keySet()).isInstanceOf(List.class);
        return (List<Object>) value;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Object value) {
        return (Map<String, Object>) Objects.requireNonNull(value);
    }

    // ---- values files

    private static Map<String, Object> readYaml(Path file) {
        try (Reader in = Files.newBufferedReader(file)) {
            return cast(new Yaml().load(in));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Helm's rule for values files: maps merge key by key, anything else in {@code over} replaces. */
    private static Map<String, Object> merge(Map<String, Object> base, Map<String, Object> over) {
        Map<String, Object> out = new LinkedHashMap<>(base);
        over.forEach((key, value) -> out.merge(key, value,
                (a, b) -> a instanceof Map && b instanceof Map ? merge(cast(a), cast(b)) : b));
        return out;
    }
}
