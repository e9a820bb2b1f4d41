// Encodes a KServe v2 inference response:
//
//   {"model_name":…,"model_version":…,"id"?:…,"parameters"?:{…},
//    "outputs":[{"name":…,"datatype":…,"shape":[…],"data":[…]}, …]}
//
// `data` is flat, row-major, written by json-tensor.ts straight from the
// tensor bytes; the envelope around it is spliced as text so the (possibly
// large) data arrays are never re-parsed or re-serialized.

import type { Tensor } from '../wire.ts';
import { joinBinaryBody } from './binary-data.ts';
import { tensorDataToJson } from './json-tensor.ts';

export type InferResponse = {
  modelName: string;
  modelVersion: string;
  /** The request's "id", echoed when the request had one. */
  id?: string;
  parameters?: Record<string, unknown>;
  outputs: readonly Tensor[];
};

/**
 * The binary tensor data extension's answer: outputs named in `binary` carry
 * `parameters.binary_data_size` instead of `data`, and their raw bytes follow
 * the JSON in output order; `headerLength` goes in Inference-Header-Content-Length.
 */
export function encodeBinaryInferResponse(response: InferResponse, binary: ReadonlySet<string>): { body: Buffer; headerLength: number } {
  const tensors = response.outputs.filter((o) => binary.has(o.name)).map((o) => o.data);
  return joinBinaryBody(encodeInferResponse(response, binary), tensors);
}

export function encodeInferResponse(response: InferResponse, binary?: ReadonlySet<string>): Buffer {
  const text: string[] = [];
  // Pieces known to be ASCII: numeric data fragments (digits, signs, "e", "null", "true"...).
  const ascii: boolean[] = [];
  const put = (piece: string, isAscii = false) => {
    text.push(piece);
    ascii.push(isAscii);
  };
  put(`{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)}`);
  if (response.id !== undefined) put(`,"id":${JSON.stringify(response.id)}`);
  if (response.parameters !== undefined) put(`,"parameters":${JSON.stringify(response.parameters)}`);
  put(',"outputs":[');
  response.outputs.forEach((output, i) => {
    if (binary?.has(output.name)) {
      const head = `{"name":${JSON.stringify(output.name)},"datatype":${JSON.stringify(output.datatype)},"shape":${JSON.stringify(output.shape)}`;
      put(`${i === 0 ? '' : ','}${head},"parameters":{"binary_data_size":${output.data.byteLength}}}`);
      return;
    }
    put(`${i === 0 ? '' : ','}{"name":${JSON.stringify(output.name)},"datatype":${JSON.stringify(output.datatype)},"shape":${JSON.stringify(output.shape)},"data":`);
    put(tensorDataToJson(output), output.datatype !== 'BYTES');
    put('}');
  });
  put(']}');
  return concatText(text, ascii);
}

// Fast path (measured in test/gateway/kserve/json-tensor.bench.ts): writing
// each piece into one buffer sized up front avoids Buffer.from(a + b + c),
// which first flattens the multi-megabyte rope (≈3× slower for [256,512]);
// ASCII pieces are sized by .length and copied as latin1 (no UTF-8 scan).
function concatText(text: readonly string[], ascii: readonly boolean[]): Buffer {
  let total = 0;
  for (let i = 0; i < text.length; i++) total += ascii[i] ? text[i]!.length : Buffer.byteLength(text[i]!, 'utf8');
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < text.length; i++) {
    offset += out.write(text[i]!, offset, ascii[i] ? 'latin1' : 'utf8');
  }
  return out;
}
