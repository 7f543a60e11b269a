package io.sightline.engine;

import java.nio.FloatBuffer;
import java.util.function.BooleanSupplier;

/** A {@link FloatView} over part of an arena buffer that refuses reads once its call is closed. */
final class BufferView implements FloatView {

    private final FloatBuffer buf;
    private final int offset;
    private final int size;
    private final BooleanSupplier open;

    BufferView(FloatBuffer buf, int offset, int size, BooleanSupplier open) {
        this.buf = buf;
        this.offset = offset;
        this.size = size;
        this.open = open;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public float get(int i) {
        if (!open.getAsBoolean()) {
            throw new IllegalStateException("probe view used after its step closed; copy() what you keep");
        }
        if (i < 0 || i >= size) {
            throw new IndexOutOfBoundsException(i);
        }
        return buf.get(offset + i);
    }
}
