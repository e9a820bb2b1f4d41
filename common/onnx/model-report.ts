// A decoded ModelProto → what `infergate check-model` reports about it: IR
// version and opsets, the signature as a client sees it (KServe datatypes,
// dynamic axes named or marked), the operators used and the weights' sizes.
// Pure: bytes are decoded elsewhere (decode-model.ts).
//
//   graph.input minus initializers ─▶ inputs   (older exporters list weights as inputs too)
//   graph.node, and the nodes of every subgraph (If/Loop/Scan bodies) ─▶ operators
//   graph.initializer (subgraphs' too) ─▶ count, total bytes, the largest few

import type onnxProto from 'onnx-proto';
import type { KServeDatatype } from '../datatypes.ts';
import { int64 } from './decode-model.ts';
import { elementType } from './element-types.ts';

type Graph = onnxProto.onnx.IGraphProto;
type ValueInfo = onnxProto.onnx.IValueInfoProto;
type TensorProto = onnxProto.onnx.ITensorProto;

/** One axis: its size, the name of a dynamic axis (dim_param, e.g. 'batch'), or null for an unnamed dynamic axis. */
export type Dim = number | string | null;

export type ValueReport = {
  name: string;
  kind: 'tensor' | 'sparse tensor' | 'sequence' | 'map' | 'optional' | 'unknown';
  /** A tensor's KServe datatype; null when KServe has none (or it is not a tensor). */
  datatype: KServeDatatype | null;
  /** The ONNX element type ('FLOAT', 'BFLOAT16'), or the kind for a non-tensor. */
  onnxType: string;
  /** null when the model does not say the rank. */
  shape: Dim[] | null;
};

export type OperatorUse = { domain: string; opType: string; count: number };

export type InitializerSize = { name: string; onnxType: string; shape: number[]; bytes: number; external: boolean };

export type ModelReport = {
  irVersion: number;
  producer: string;
  /** Opset imports; the default domain is named 'ai.onnx', as onnxruntime names it. */
  opsets: Array<{ domain: string; version: number }>;
  inputs: ValueReport[];
  outputs: ValueReport[];
  /** Most used first. */
  operators: OperatorUse[];
  initializers: { count: number; totalBytes: number; largest: InitializerSize[] };
};

export const LARGEST_INITIALIZERS = 5;

/** The default ONNX domain: '' in the file, 'ai.onnx' in onnxruntime's messages. */
export function domainName(domain: string | null | undefined): string {
  return domain === '' || domain === null || domain === undefined ? 'ai.onnx' : domain;
}

export function modelReport(model: onnxProto.onnx.IModelProto): ModelReport {
  const graph = model.graph ?? {};
  const weightNames = new Set((graph.initializer ?? []).map((t) => t.name ?? ''));
  const operators = new Map<string, OperatorUse>();
  const initializers: InitializerSize[] = [];
  for (const g of graphsOf(graph)) {
    for (const node of g.node ?? []) {
      const domain = domainName(node.domain);
      const opType = node.opType ?? '';
      const key = `${domain}\u0000${opType}`;
      const use = operators.get(key) ?? { domain, opType, count: 0 };
      use.count++;
      operators.set(key, use);
    }
    for (const tensor of g.initializer ?? []) initializers.push(initializerSize(tensor));
  }
  const bySize = [...initializers].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  const producer = [model.producerName, model.producerVersion].filter((s) => s).join(' ');
  return {
    irVersion: int64(model.irVersion),
    producer,
    opsets: (model.opsetImport ?? []).map((o) => ({ domain: domainName(o.domain), version: int64(o.version) })),
    inputs: (graph.input ?? []).filter((v) => !weightNames.has(v.name ?? '')).map(valueReport),
    outputs: (graph.output ?? []).map(valueReport),
    operators: [...operators.values()].sort((a, b) => b.count - a.count || a.domain.localeCompare(b.domain) || a.opType.localeCompare(b.opType)),
    initializers: {
      count: initializers.length,
      totalBytes: initializers.reduce((sum, i) => sum + i.bytes, 0),
      largest: bySize.slice(0, LARGEST_INITIALIZERS),
    },
  };
}

/** The graph and, depth first, every subgraph held in a node attribute (g, graphs). */
function* graphsOf(graph: Graph): Generator<Graph> {
  yield graph;
  for (const node of graph.node ?? []) {
    for (const attribute of node.attribute ?? []) {
      if (attribute.g) yield* graphsOf(attribute.g);
      for (const sub of attribute.graphs ?? []) yield* graphsOf(sub);
    }
  }
}

function valueReport(value: ValueInfo): ValueReport {
  const name = value.name ?? '';
  const type = value.type ?? {};
  const tensor = type.tensorType ?? type.sparseTensorType;
  if (tensor) {
    const element = elementType(tensor.elemType ?? 0);
    return {
      name,
      kind: type.tensorType ? 'tensor' : 'sparse tensor',
      datatype: type.tensorType ? element.kserve : null,
      onnxType: element.onnx,
      shape: tensor.shape ? (tensor.shape.dim ?? []).map(dimension) : null,
    };
  }
  const kind = type.sequenceType ? 'sequence' : type.mapType ? 'map' : type.optionalType ? 'optional' : 'unknown';
  return { name, kind, datatype: null, onnxType: kind, shape: null };
}

function dimension(dim: onnxProto.onnx.TensorShapeProto.IDimension): Dim {
  if (dim.dimParam) return dim.dimParam;
  // dim_value and dim_param are a oneof: protobufjs leaves the unset one null. A negative size is no size.
  if (dim.dimValue === null || dim.dimValue === undefined) return null;
  const size = int64(dim.dimValue);
  return size >= 0 ? size : null;
}

/**
 * Bytes an initializer holds once loaded: elements × width from its dims (also for external data, which is not
 * in the file); STRING elements by their lengths.
 */
function initializerSize(tensor: TensorProto): InitializerSize {
  const element = elementType(tensor.dataType ?? 0);
  const shape = (tensor.dims ?? []).map((d) => int64(d));
  const count = shape.reduce((product, d) => product * d, 1);
  const external = tensor.dataLocation === 1;
  let bytes: number;
  if (element.onnx === 'STRING') bytes = (tensor.stringData ?? []).reduce((sum, s) => sum + s.byteLength, 0);
  else if (element.bitsPerElement > 0) bytes = Math.ceil((count * element.bitsPerElement) / 8);
  else bytes = tensor.rawData?.byteLength ?? 0;
  return { name: tensor.name ?? '', onnxType: element.onnx, shape, bytes, external };
}
