// The access log: one info line, message "request", per inference request
// when it ends, read from its record (gateway/telemetry/request-record.ts):
//
//   {"level":"info","requestId":"…","protocol":"rest","model":"classifier","version":"2","status":200,
//    "durationMs":1.234,"cache":"miss","batchRows":4,"queueMs":0.5,"upstreamMs":0.61,"workerMs":0.402,"msg":"request"}
//
// Only what the record holds goes in (a field the request never reached is
// left out), durations in ms to the µs. Never tensor data, never headers: the
// request id is the sane one (http/request-id.ts).
//
// Successful requests are sampled (logging.accessLog.sampleRate); every
// failed one (4xx, 5xx, or no status at all) is logged.

import type { Logger } from '../../common/logger.ts';
import type { RequestObserver, RequestRecord } from '../telemetry/request-record.ts';

export type AccessLogOptions = {
  /** The share of successful requests logged, 0 to 1. */
  sampleRate: number;
  /** Uniform in [0, 1) (Math.random in the gateway). */
  random: () => number;
};

export function accessLog(logger: Logger, options: AccessLogOptions): RequestObserver {
  const { sampleRate, random } = options;
  return (record) => {
    if (!logger.isLevelEnabled('info')) return;
    const failed = record.status === undefined || record.status >= 400;
    // random() < 1 always holds: a rate of 1 logs every request (and a rate of 0 none that succeeded).
    if (!failed && !(sampleRate >= 1 || random() < sampleRate)) return;
    logger.info(accessFields(record), 'request');
  };
}

/** The line's fields: those the record holds, durations rounded to 0.001 ms. */
export function accessFields(record: RequestRecord): Record<string, string | number> {
  const fields: Record<string, string | number> = { requestId: record.id, protocol: record.protocol };
  if (record.model !== undefined) fields.model = record.model;
  if (record.version !== undefined) fields.version = record.version;
  if (record.caller !== undefined) fields.key = record.caller;
  if (record.status !== undefined) fields.status = record.status;
  if (record.code !== undefined && record.code !== '') fields.code = record.code;
  if (record.endedMs !== undefined) fields.durationMs = ms(record.endedMs - record.receivedMs);
  if (record.cache !== undefined) fields.cache = record.cache;
  if (record.batchRows !== undefined) fields.batchRows = record.batchRows;
  if (record.queuedMs !== undefined && record.batchFormedMs !== undefined) fields.queueMs = ms(record.batchFormedMs - record.queuedMs);
  if (record.dispatchedMs !== undefined && record.answeredMs !== undefined) fields.upstreamMs = ms(record.answeredMs - record.dispatchedMs);
  if (record.worker !== undefined) fields.workerMs = ms(record.worker.inputMs + record.worker.inferMs + record.worker.outputMs);
  return fields;
}

function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}
