package dev.serveml.runtime.onnx;

import ai.onnxruntime.MapInfo;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.SequenceInfo;
import ai.onnxruntime.TensorInfo;
import ai.onnxruntime.ValueInfo;
import dev.serveml.tensor.DataType;
import dev.serveml.tensor.Signature;
import dev.serveml.tensor.TensorSpec;
import dev.serveml.problem.ProblemException;
import dev.serveml.problem.ProblemType;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Reads a session's inputs and outputs into a {@link Signature}. */
final class OnnxSignatures {
    private OnnxSignatures() {
    }

    static Signature extract(OrtSession session) throws OrtException {
        List<TensorSpec> inputs = new ArrayList<>();
        for (Map.Entry<String, NodeInfo> e : session.getInputInfo().entrySet()) {
            TensorSpec spec = spec(e.getKey(), e.getValue().getInfo());
            if (!spec.kind().equals(TensorSpec.TENSOR)) {
                throw new ProblemException(ProblemType.INVALID_MODEL, "input '" + e.getKey()
                        + "' is not a tensor; ServeML feeds tensor inputs only");
            }
            inputs.add(spec);
        }
        List<TensorSpec> outputs = new ArrayList<>();
        for (Map.Entry<String, NodeInfo> e : session.getOutputInfo().entrySet()) {
            outputs.add(spec(e.getKey(), e.getValue().getInfo()));
        }
        return new Signature(inputs, outputs);
    }

    private static TensorSpec spec(String name, ValueInfo info) {
        if (info instanceof TensorInfo tensor) {
            List<Long> shape = new ArrayList<>();
            for (long d : tensor.getShape()) {
                shape.add(d < 0 ? -1L : d);
            }
            return TensorSpec.tensor(name, dataType(name, tensor.onnxType), shape);
        }
        if (info instanceof SequenceInfo sequence && sequence.isSequenceOfMaps()) {
            MapInfo map = sequence.mapInfo;
            DataType value = map.valueType == ai.onnxruntime.OnnxJavaType.DOUBLE ? DataType.FP64 : DataType.FP32;
            return new TensorSpec(name, value, List.of(-1L), TensorSpec.SEQUENCE_OF_MAPS);
        }
        throw new ProblemException(ProblemType.INVALID_MODEL, "'" + name + "' has the type " + info
                + ", which ServeML cannot exchange; use tensor inputs and tensor or ZipMap outputs");
    }

    /** Runs for every output of every call: a switch on the constant, not on its name edited into a string. */
    static DataType dataType(String name, TensorInfo.OnnxTensorType type) {
        return switch (type) {
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL -> DataType.BOOL;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8 -> DataType.UINT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16 -> DataType.UINT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32 -> DataType.UINT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64 -> DataType.UINT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8 -> DataType.INT8;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16 -> DataType.INT16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32 -> DataType.INT32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 -> DataType.INT64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16 -> DataType.FP16;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT -> DataType.FP32;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE -> DataType.FP64;
            case ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING -> DataType.BYTES;
            default -> throw new ProblemException(ProblemType.INVALID_MODEL, "'" + name + "' has the element type "
                    + type + ", which ServeML does not support");
        };
    }
}
