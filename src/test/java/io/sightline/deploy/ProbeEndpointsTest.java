package io.sightline.deploy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.webtestclient.autoconfigure.AutoConfigureWebTestClient;
import org.springframework.test.web.reactive.server.WebTestClient;

/**
 * The app serves, without credentials, the health groups that the Helm chart's probes call (HelmChartTest checks
 * the chart names these paths); outside Kubernetes too, so this runs anywhere.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
@AutoConfigureWebTestClient(timeout = "PT60S")
class ProbeEndpointsTest {

    @Autowired
    WebTestClient http;

    @ParameterizedTest
    @ValueSource(strings = {"/actuator/health/liveness", "/actuator/health/readiness", "/actuator/prometheus"})
    void probeAndScrapePathsAnswer200(String path) {
        http.get().uri(path).exchange().expectStatus().isOk();
    }
}
