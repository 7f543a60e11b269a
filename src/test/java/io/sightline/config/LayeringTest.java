package io.sightline.config;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** Spring stays in config/, api/ and the store's R2DBC client; properties never leak below config/. */
@AnalyzeClasses(packages = "io.sightline", importOptions = ImportOption.DoNotIncludeTests.class)
class LayeringTest {

    @ArchTest
    static final ArchRule visionAndScoringArePlainJava = noClasses()
            .that().resideInAnyPackage("io.sightline.vision..", "io.sightline.scoring..")
            .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "reactor..", "io.r2dbc..",
                    "java.sql..")
            .because("vision/ and scoring/ are pure functions that unit tests drive with bytes and arrays");

    @ArchTest
    static final ArchRule storeKnowsNothingOfHttp = noClasses()
            .that().resideInAPackage("io.sightline.store..")
            .should().dependOnClassesThat().resideInAnyPackage("io.sightline.api..", "io.sightline.config..",
                    "org.springframework.web..", "org.springframework.http..")
            .because("the store is a repository over R2DBC, used by api/ and wired by config/");

    @ArchTest
    static final ArchRule onlyConfigReadsProperties = noClasses()
            .that().resideOutsideOfPackage("io.sightline.config..")
            .should().dependOnClassesThat().resideInAPackage("io.sightline.config..")
            .because("config/ copies properties onto plain records; nothing below it sees Spring configuration");
}
