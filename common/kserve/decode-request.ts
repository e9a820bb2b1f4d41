// Decodes and validates a KServe v2 JSON inference request against a model's
// signature, producing the raw tensors the gateway sends to a worker. Every
// check happens here, before anything is dispatched, cheapest first:
//
//   1. JSON and the request schema           GW_ERR_MALFORMED_JSON, GW_ERR_INVALID_REQUEST
//   2. each input: name, datatype, shape     GW_ERR_UNKNOWN_INPUT, GW_ERR_DUPLICATE_TENSOR,
//                                            GW_ERR_UNKNOWN_DATATYPE, GW_ERR_DATATYPE_MISMATCH,
//                                            GW_ERR_SHAPE_MISMATCH
//   3. every model input present             GW_ERR_MISSING_INPUT
//   4. requested outputs                     GW_ERR_UNKNOWN_OUTPUT, GW_ERR_DUPLICATE_TENSOR
//   5. limits, from the shapes alone         GW_ERR_REQUEST_TOO_LARGE (request-limits.ts)
//   6. each input's data vs its shape        GW_ERR_ELEMENT_COUNT (count, nesting: data-nesting.ts),
//      (in model input order)                GW_ERR_INVALID_REQUEST ("data" not an array, too deep),
//                                            GW_ERR_BINARY_DATA (binary tensors)
//   7. values → bytes (the only allocation)  GW_ERR_INVALID_DATA (json-tensor.ts)
//
// Two entry points give the same result, or an error with the same code, for
// every body:
//
//   decodeInferRequest          for small bodies. From DIRECT_DECODE_MIN_BYTES it
//                               first tries direct-json.ts: the common shape
//                               (numeric `data`, flat or nested, known keys)
//                               read from the bytes straight into the tensors,
//                               no JS values; anything else, and every error,
//                               goes on to JSON.parse of the whole body
//   decodeInferRequestSliced    never parses the body whole nor builds `data` as
//                               JS values; runs in time slices (TimeSlicer) with
//                               memory beyond the body and the tensors O(64 KiB):
//                               request-envelope.ts reads the envelope, data-span.ts
//                               each `data`. For bodies ≥ SLICED_DECODE_MIN_BYTES.
//
// Steps 1–5 are one function on either's view of the request (check-request.ts),
// and both feed the same nesting rule and the same value sinks, so a rule
// lives in one place. (The sliced path alone refuses a non-`data` value over
// 64 KiB, GW_ERR_INVALID_REQUEST: no body small enough for the sync path has one.)
//
// With the binary tensor data extension (options.binaryHeaderLength, from
// Inference-Header-Content-Length; binary-data.ts) the JSON is the body's
// head, and an input with `binary_data_size` takes its bytes from the tail
// as they are (checked against datatype and shape), so a tensor sent as JSON
// or as binary decodes to the same bytes.
//
// Datatypes are never coerced: an FP64 input for an FP32 model is refused
// with what the model takes, so a client learns its mistake instead of
// silently losing precision.

import { InfergateError } from '../errors.ts';
import type { TimeSlicer } from '../time-slice.ts';
import type { ModelSignature, Tensor } from '../wire.ts';
import { BinarySection, checkBinaryTensor, checkBinaryTensorSliced, splitBinaryBody } from './binary-data.ts';
import { checkRequest, type CheckedRequest } from './check-request.ts';
import { jsonDataLeaves } from './data-nesting.ts';
import { readDataSpan } from './data-span.ts';
import { readDirectJson } from './direct-json.ts';
import { jsonElementsToBytes } from './json-tensor.ts';
import { DataSpan, readRequestEnvelope } from './request-envelope.ts';
import type { RequestLimits } from './request-limits.ts';

export type DecodedInferRequest = {
  id?: string;
  parameters?: Record<string, unknown>;
  /** Requested output names in request order; absent (or sent empty) means every output. */
  outputs?: string[];
  /** Outputs to answer as binary data (binary extension), when any. */
  binaryOutputs?: string[];
  /** One tensor per model input, in the signature's input order. */
  tensors: Tensor[];
};

export type DecodeOptions = {
  /** Most tensor elements one request may carry, over all its inputs; also bounds each input's dims (0 counted as 1). */
  maxElements?: number;
  /** Most rows along the batch axis of an input named in `batchAxes` (limits.maxRowsPerRequest). */
  maxRows?: number;
  /** Input name → batch axis, for the row limit; inputs not listed are not row-limited. */
  batchAxes?: ReadonlyMap<string, number>;
  /** The Inference-Header-Content-Length header: the body is JSON of that length, then binary tensor data. */
  binaryHeaderLength?: string;
  /** Bodies from this size on are tried by the direct reader first (default DIRECT_DECODE_MIN_BYTES; tests compare at 0). */
  directMinBytes?: number;
};

/** 2^24 elements: 64 MiB as FP32, 128 MiB as INT64/FP64. */
export const DEFAULT_MAX_REQUEST_ELEMENTS = 2 ** 24;

/**
 * Bodies from this size on are read by the direct reader first (node benchmarks/micro/json-decode.ts: 0.9× JSON.parse's
 * speed at 64 FP32 in 1.4 KB, 1.2× at 512 in 10 KB, 1.8× at 32×64 in 40 KB).
 */
export const DIRECT_DECODE_MIN_BYTES = 2048;

/** Bodies from this size on go to decodeInferRequestSliced (below it, JSON.parse takes well under a slice). */
export const SLICED_DECODE_MIN_BYTES = 64 * 1024;

// Strict UTF-8 (JSON text must be UTF-8; a bad sequence would otherwise reach
// BYTES inputs as U+FFFD), tolerating a leading BOM. Stateless without { stream }.
const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeInferRequest(body: Uint8Array, signature: ModelSignature, options: DecodeOptions = {}): DecodedInferRequest {
  // Fast path (direct-json.ts): common JSON requests read straight into tensors; anything else, and every error, below.
  // Below DIRECT_DECODE_MIN_BYTES JSON.parse is as fast: the direct reader's per-request setup outweighs its per-number gain.
  const direct = options.binaryHeaderLength === undefined && body.byteLength >= (options.directMinBytes ?? DIRECT_DECODE_MIN_BYTES) ? readDirectJson(body, signature, limitsOf(options)) : undefined;
  if (direct) return decoded(direct.request, (i) => direct.tensors[i]!);
  return decodeInferRequestParsed(body, signature, options);
}

/** decodeInferRequest without its fast path: JSON.parse of the whole body, then steps 1–7. */
export function decodeInferRequestParsed(body: Uint8Array, signature: ModelSignature, options: DecodeOptions = {}): DecodedInferRequest {
  const split = options.binaryHeaderLength === undefined ? undefined : splitBinaryBody(body, options.binaryHeaderLength);
  let root: unknown;
  try {
    root = JSON.parse(utf8.decode(split ? split.json : body));
  } catch (err) {
    throw new InfergateError('GW_ERR_MALFORMED_JSON', (err as Error).message);
  }
  return decodeParsedInferRequest(root, signature, split?.binary, options);
}

/**
 * Steps 1–7 on a request already in the protocol's JSON shape, with its binary section: what decodeInferRequest
 * does after parsing, and what another protocol's front (gRPC) calls once it has translated its message into
 * that shape, so that every front checks and converts tensors the one same way.
 */
export function decodeParsedInferRequest(root: unknown, signature: ModelSignature, binary: Uint8Array | undefined, options: DecodeOptions = {}): DecodedInferRequest {
  const request = checkRequest(root, signature, binary && new BinarySection(binary), limitsOf(options));
  // Step 6 for every input before step 7 for any.
  const leaves = request.inputs.map(({ spec, shape, data, bytes }) => {
    if (bytes) return void checkBinaryTensor(spec.name, spec.datatype, shape, bytes);
    return jsonDataLeaves(spec.name, shape, data);
  });
  return decoded(request, (i) => jsonElementsToBytes(request.inputs[i]!.spec.name, request.inputs[i]!.spec.datatype, leaves[i]!));
}

/**
 * decodeInferRequest for large bodies: awaits `slicer.pause()` between steps
 * of a few hundred KiB, so no step holds the event loop much longer than a
 * slice on any body up to 64 MiB.
 */
export async function decodeInferRequestSliced(body: Uint8Array, signature: ModelSignature, options: DecodeOptions, slicer: TimeSlicer): Promise<DecodedInferRequest> {
  const split = options.binaryHeaderLength === undefined ? undefined : splitBinaryBody(body, options.binaryHeaderLength);
  const json = split ? split.json : body;
  const root = await readRequestEnvelope(json, signature.inputs.length, slicer);
  const request = checkRequest(root, signature, split && new BinarySection(split.binary), limitsOf(options));
  // Steps 6 and 7 in one pass over each `data`; a step-7 error waits until every input passed step 6.
  const converted: Uint8Array[] = [];
  let invalid: InfergateError | undefined;
  for (const { spec, shape, data, bytes } of request.inputs) {
    if (bytes) {
      await checkBinaryTensorSliced(spec.name, spec.datatype, shape, bytes, slicer);
      continue;
    }
    const result = await readDataSpan(json, data as DataSpan, { name: spec.name, datatype: spec.datatype, shape }, invalid === undefined, slicer);
    invalid ??= result.invalid;
    if (result.bytes) converted.push(result.bytes);
  }
  if (invalid) throw invalid;
  let next = 0;
  return decoded(request, () => converted[next++]!);
}

function limitsOf(options: DecodeOptions): RequestLimits {
  return {
    maxElements: options.maxElements ?? DEFAULT_MAX_REQUEST_ELEMENTS,
    ...(options.maxRows !== undefined ? { maxRows: options.maxRows } : {}),
    ...(options.batchAxes !== undefined ? { batchAxes: options.batchAxes } : {}),
  };
}

/** The decoded request; `jsonBytes(i)` gives the bytes of JSON input i (called in input order). */
function decoded(request: CheckedRequest, jsonBytes: (index: number) => Uint8Array): DecodedInferRequest {
  const tensors: Tensor[] = request.inputs.map(({ spec, shape, bytes }, i) => ({
    name: spec.name,
    datatype: spec.datatype,
    shape,
    data: bytes ?? jsonBytes(i),
  }));
  return {
    ...(request.id !== undefined ? { id: request.id } : {}),
    ...(request.parameters !== undefined ? { parameters: request.parameters } : {}),
    ...(request.outputs ? { outputs: request.outputs } : {}),
    ...(request.binaryOutputs ? { binaryOutputs: request.binaryOutputs } : {}),
    tensors,
  };
}
