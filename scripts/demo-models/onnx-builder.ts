// Minimal helpers to write ONNX models with onnx-proto (the ONNX protobuf
// schema compiled for protobufjs). Weights are stored as raw little-endian
// bytes in initializers; the batch dimension is a symbolic dim ("batch"), so
// onnxruntime reports it as dynamic.

import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET_VERSION = 17;
const IR_VERSION = 8;

export type ElementType = 'float32' | 'int64';

const ELEMENT_TYPE: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

export type Dim = number | string;

export function valueInfo(name: string, type: ElementType, dims: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEMENT_TYPE[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

export function floatInitializer(name: string, dims: readonly number[], values: Float32Array): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims: [...dims],
    dataType: onnx.TensorProto.DataType.FLOAT,
    rawData: littleEndianFloats(values),
  };
}

export function int64Initializer(name: string, dims: readonly number[], values: readonly number[]): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(values.length * 8);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setBigInt64(i * 8, BigInt(values[i]!), true);
  return { name, dims: [...dims], dataType: onnx.TensorProto.DataType.INT64, rawData: bytes };
}

/**
 * ONNX raw_data is little-endian whatever the host. A Float32Array's own
 * buffer is host-endian, so write through a DataView instead of copying it.
 */
function littleEndianFloats(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return bytes;
}

type AttributeValue = number | readonly number[];

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  attributes: Record<string, AttributeValue> = {},
): onnxProto.onnx.INodeProto {
  return {
    opType,
    name: `${opType}_${outputs[0]}`,
    input: [...inputs],
    output: [...outputs],
    attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
  };
}

function attribute(name: string, value: AttributeValue): onnxProto.onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (Array.isArray(value)) return { name, type: AttributeType.INTS, ints: [...value] };
  if (Number.isInteger(value)) return { name, type: AttributeType.INT, i: value as number };
  return { name, type: AttributeType.FLOAT, f: value as number };
}

export type GraphParts = {
  name: string;
  nodes: onnxProto.onnx.INodeProto[];
  initializers: onnxProto.onnx.ITensorProto[];
  inputs: onnxProto.onnx.IValueInfoProto[];
  outputs: onnxProto.onnx.IValueInfoProto[];
};

/** Serializes a model; the same parts always give the same bytes. */
export function encodeModel(graph: GraphParts): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'infergate-demo-models',
    producerVersion: '1',
    opsetImport: [{ domain: '', version: OPSET_VERSION }],
    graph: {
      name: graph.name,
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs,
      output: graph.outputs,
    },
  });
  return onnx.ModelProto.encode(model).finish();
}

/** Reads back a model file (used by tests to check the opset). */
export function decodeModel(bytes: Uint8Array): onnxProto.onnx.ModelProto {
  return onnx.ModelProto.decode(bytes);
}
