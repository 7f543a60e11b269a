package io.sightline.intervention;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The documented range of a numeric parameter, served in the schema of {@code GET /v1/interventions}. The record's
 * constructor does the validating; a test checks that every value just outside a declared range is refused.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target({ElementType.RECORD_COMPONENT, ElementType.PARAMETER, ElementType.FIELD, ElementType.METHOD})
public @interface Range {

    double min() default Double.NEGATIVE_INFINITY;

    double max() default Double.POSITIVE_INFINITY;

    /** Whether min itself is refused. */
    boolean minExclusive() default false;

    /** Whether max itself is refused. */
    boolean maxExclusive() default false;
}
