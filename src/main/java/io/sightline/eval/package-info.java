/**
 * Benchmark jobs at the Spring edge: the background worker that claims evaluation items from the PostgreSQL queue,
 * runs them through the engine and stores their results. Item scoring and statistics are the plain library in
 * {@code io.sightline.scoring}; the set catalogue, report and paired tests here are plain Java too.
 */
package io.sightline.eval;
