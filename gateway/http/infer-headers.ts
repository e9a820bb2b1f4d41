// The HTTP headers of a KServe v2 infer request, read and checked in one
// place before anything else happens to the request: before its body is
// read, before the cache is asked. A header that is wrong is a 4xx whether
// the answer would come from the cache or from a model (a hit must not
// accept what a miss refuses). TF Serving's predict route reads the last
// three the same way (readControlHeaders); it does not check the content
// type, as TF Serving does not (`curl -d` sends a form's).
//
//   content-type                       application/json (or octet-stream with the binary extension)
//   inference-header-content-length    the binary extension's JSON length: a byte count
//   x-infergate-priority               1 (highest) … the model's levels
//   x-infergate-timeout-ms             a shorter deadline than the model's default
//   cache-control: no-cache|no-store   a fresh answer (the result cache is bypassed, then refilled)

import type { IncomingMessage } from 'node:http';
import { clientText, InfergateError } from '../../common/errors.ts';
import { HEADER_LENGTH_HEADER } from '../../common/kserve/binary-data.ts';
import { askedPriority, askedTimeoutMs, type ControlLimits } from '../infer/request-controls.ts';

export const PRIORITY_HEADER = 'x-infergate-priority';
export const TIMEOUT_HEADER = 'x-infergate-timeout-ms';

export type InferHeaders = {
  /** Inference-Header-Content-Length as sent (checked to be a byte count; against the body when it is read). */
  binaryHeaderLength: string | undefined;
  /** Priority asked for by header; undefined: none (a body parameter may still ask). */
  priority: number | undefined;
  /** Time budget asked for by header; undefined: none (a body parameter may still ask). */
  timeoutMs: number | undefined;
  /** Cache-Control: no-cache or no-store. */
  fresh: boolean;
};

/** The headers by which a request controls its own run, whatever protocol its body speaks (KServe, TF Serving). */
export type ControlHeaders = Omit<InferHeaders, 'binaryHeaderLength'>;

/** Reads and checks every header the infer route uses; throws the catalogued 4xx. */
export function readInferHeaders(req: IncomingMessage, plan: ControlLimits): InferHeaders {
  const binaryHeaderLength = headerText(req, HEADER_LENGTH_HEADER);
  if (binaryHeaderLength !== undefined && !/^\s*\d{1,15}\s*$/.test(binaryHeaderLength)) {
    throw new InfergateError('GW_ERR_BINARY_HEADER_LENGTH', `Inference-Header-Content-Length is ${clientText(binaryHeaderLength)}, not a byte count`);
  }
  checkContentType(headerText(req, 'content-type'), binaryHeaderLength !== undefined);
  return { binaryHeaderLength, ...readControlHeaders(req, plan) };
}

/** x-infergate-priority, x-infergate-timeout-ms and Cache-Control, checked; throws the catalogued 400. */
export function readControlHeaders(req: IncomingMessage, plan: ControlLimits): ControlHeaders {
  const control = headerText(req, 'cache-control');
  return {
    priority: askedPriority(headerText(req, PRIORITY_HEADER), plan),
    timeoutMs: askedTimeoutMs(headerText(req, TIMEOUT_HEADER), plan),
    fresh: control !== undefined && /\bno-(cache|store)\b/i.test(control),
  };
}

/** JSON bodies are application/json; binary-extension bodies (with Inference-Header-Content-Length) may also be application/octet-stream. */
function checkContentType(contentType: string | undefined, binary: boolean): void {
  if (contentType === undefined || /^application\/json\b/i.test(contentType)) return;
  if (binary && /^application\/octet-stream\b/i.test(contentType)) return;
  throw new InfergateError('GW_ERR_UNSUPPORTED_MEDIA_TYPE', `${clientText(contentType)}; send application/json${binary ? ' or application/octet-stream' : ''}`);
}

export function headerText(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** x-session-id: a rollout's canary split keeps a client that sends one on one version. */
export function sessionKeyOf(req: IncomingMessage): string | undefined {
  const session = req.headers['x-session-id'];
  return typeof session === 'string' ? session : undefined;
}
