package io.sightline.scoring;

/** A metric's value on the items and its confidence interval (see {@link Bootstrap}). */
public record Interval(double point, double lower, double upper) {

    public boolean contains(double x) {
        return lower <= x && x <= upper;
    }

    public double width() {
        return upper - lower;
    }
}
