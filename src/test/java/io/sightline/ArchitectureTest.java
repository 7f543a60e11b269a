package io.sightline;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchRule;

/** DESIGN.md §1 / STYLE.md rule 3: the engine, the interventions and the scoring metrics are a plain library. */
@AnalyzeClasses(packages = "io.sightline", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

    @ArchTest
    static final ArchRule engineInterventionsAndEvaluationStaySpringReactorAndJdbcFree = noClasses()
            .that().resideInAnyPackage("io.sightline.engine..", "io.sightline.intervention..", "io.sightline.scoring..")
            .should().dependOnClassesThat().resideInAnyPackage("org.springframework..", "reactor..", "java.sql..",
                    "io.r2dbc..", "javax.sql..")
            .because("engine/, intervention/ and scoring/ are driven by tests with arrays; Spring, Reactor and JDBC stay at the edge");

    @ArchTest
    static final ArchRule noHelperManagerOrUtilClassesInTheCore = noClasses()
            .that().resideInAnyPackage("io.sightline.engine..", "io.sightline.intervention..", "io.sightline.scoring..")
            .should().haveSimpleNameEndingWith("Manager").orShould().haveSimpleNameEndingWith("Helper")
            .orShould().haveSimpleNameEndingWith("Util").orShould().haveSimpleNameEndingWith("Utils")
            .because("classes are named for what they are (STYLE.md)");
}
