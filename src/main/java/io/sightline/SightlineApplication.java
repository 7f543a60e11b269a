package io.sightline;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

/** Sightline: a vision-language model behind REST, with decoding-time hallucination interventions. */
@SpringBootApplication
public class SightlineApplication {

    public static void main(String[] args) {
        SpringApplication.run(SightlineApplication.class, args);
    }
}
