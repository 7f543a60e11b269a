package io.sightline.engine;

import ai.onnxruntime.OnnxTensor;
import java.util.ArrayList;
import java.util.List;

/** Owns the tensors one ONNX call's inputs need and closes them together (after DJL's NDScope). */
final class TensorScope implements AutoCloseable {

    private final List<OnnxTensor> tensors = new ArrayList<>();

    OnnxTensor add(OnnxTensor t) {
        tensors.add(t);
        return t;
    }

    @Override
    public void close() {
        tensors.forEach(OnnxTensor::close);
        tensors.clear();
    }
}
