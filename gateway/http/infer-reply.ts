// An infer answer as a KServe v2 HTTP reply: JSON, or the binary tensor
// extension when outputs were asked for as binary data. Small answers are
// encoded in one step; large ones are rendered in time slices and written
// piece by piece (JSON as a chunked stream, binary tensors as they are), so
// that rendering millions of floats never holds the event loop.

import { BINARY_CONTENT_TYPE, HEADER_LENGTH_HEADER } from '../../common/kserve/binary-data.ts';
import { encodeBinaryInferResponse, encodeInferResponseText, renderBinaryInferResponse, renderInferResponse, type InferResponse } from '../../common/kserve/encode-response.ts';
import { TimeSlicer } from '../../common/time-slice.ts';
import type { InferAnswer } from '../../common/wire.ts';
import type { CacheOutcome } from '../cache/result-cache.ts';
import type { Reply } from './reply.ts';

/** Response header saying how the cache took part: hit, miss, joined, bypass or off. */
export const CACHE_HEADER = 'x-infergate-cache';

/** Answers with at least this many tensor bytes are rendered in slices, so that no one answer holds the event loop for long. */
export const SLICED_ANSWER_MIN_BYTES = 64 * 1024;

/** The reply for an answer: encoded at once when small, a reply rendered in slices when large. */
export function answerReply(answer: InferAnswer, id: string | undefined, binaryOutputs: readonly string[] | undefined, outcome: CacheOutcome): Reply | Promise<Reply> {
  const response: InferResponse = { modelName: answer.model, modelVersion: answer.version, ...(id !== undefined ? { id } : {}), outputs: answer.tensors };
  let bytes = 0;
  for (const t of answer.tensors) bytes += t.data.byteLength;
  if (bytes >= SLICED_ANSWER_MIN_BYTES) return slicedReply(response, binaryOutputs, outcome);
  if (!binaryOutputs) {
    const { text, ascii } = encodeInferResponseText(response);
    return { status: 200, headers: { [CACHE_HEADER]: outcome }, body: text, ascii };
  }
  const { body, headerLength } = encodeBinaryInferResponse(response, new Set(binaryOutputs));
  return { status: 200, headers: { [CACHE_HEADER]: outcome, 'content-type': BINARY_CONTENT_TYPE, [HEADER_LENGTH_HEADER]: String(headerLength) }, body };
}

async function slicedReply(response: InferResponse, binaryOutputs: readonly string[] | undefined, outcome: CacheOutcome): Promise<Reply> {
  const slicer = new TimeSlicer();
  if (!binaryOutputs) return { status: 200, headers: { [CACHE_HEADER]: outcome }, stream: renderInferResponse(response, slicer) };
  const { head, tensors, headerLength } = await renderBinaryInferResponse(response, new Set(binaryOutputs), slicer);
  return {
    status: 200,
    headers: { [CACHE_HEADER]: outcome, 'content-type': BINARY_CONTENT_TYPE, [HEADER_LENGTH_HEADER]: String(headerLength) },
    parts: [head, ...tensors],
  };
}
