package io.sightline.engine;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * Direct native-order buffers of one request, reused from step to step by name: ONNX Runtime reads and writes
 * them in place (inputs and pinned outputs), so a step allocates only when a buffer has to grow. A name is one
 * buffer: two tensors alive at the same time need two names. Heap-managed, so dropping the arena frees them.
 */
public final class RequestArena {

    private final Map<String, ByteBuffer> buffers = new HashMap<>();

    /** A buffer of exactly {@code n} floats, contents unspecified. */
    public FloatBuffer floats(String name, long n) {
        return bytes(name, n * Float.BYTES).asFloatBuffer();
    }

    /** A buffer of exactly {@code n} longs, contents unspecified. */
    public LongBuffer longs(String name, long n) {
        return bytes(name, n * Long.BYTES).asLongBuffer();
    }

    private ByteBuffer bytes(String name, long size) {
        if (size > Integer.MAX_VALUE) {
            throw new EngineFailureException("buffer " + name + " would need " + size + " bytes");
        }
        ByteBuffer b = buffers.get(name);
        if (b == null || b.capacity() < size) {
            // grow by half again so that a decode loop whose S grows by one reallocates rarely
            long cap = Math.min(Integer.MAX_VALUE, Math.max(size, b == null ? size : b.capacity() + b.capacity() / 2));
            b = ByteBuffer.allocateDirect((int) cap).order(ByteOrder.nativeOrder());
            buffers.put(name, b);
        }
        return b.duplicate().clear().limit((int) size).slice().order(ByteOrder.nativeOrder());
    }

    /** Bytes held, for the bench and tests. */
    public long bytesHeld() {
        return buffers.values().stream().mapToLong(ByteBuffer::capacity).sum();
    }
}
