// The access log: one "request" line per logged request with the fields its record holds (durations rounded to
// the µs), successful requests sampled with the injected random, every failed request logged.

import t from 'tap';
import { accessLog } from '../../../gateway/observability/access-log.ts';
import { newRequestRecord, type RequestRecord } from '../../../gateway/telemetry/request-record.ts';
import { captureLogger } from '../../helpers/capture-logger.ts';

function record(fields: Partial<RequestRecord>): RequestRecord {
  return Object.assign(newRequestRecord('req-1', 'rest', 1_000, undefined), { model: 'm', version: '1', status: 200, endedMs: 1_010 }, fields);
}

/** Returns the given values in turn, as Math.random would. */
function randomOf(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

t.test('a batched request: every stage it went through, in ms to the µs', async (t) => {
  const logs = captureLogger();
  const observe = accessLog(logs.logger, { sampleRate: 1, random: Math.random });
  observe(
    record({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      cache: 'miss',
      decodedMs: 1_000.25,
      queuedMs: 1_000.5,
      batchFormedMs: 1_001.2504,
      batchRows: 4,
      dispatchedMs: 1_001.5,
      answeredMs: 1_004.1236,
      worker: { inputMs: 0.1, inferMs: 2.2, outputMs: 0.0004 },
      encodeStartMs: 1_009,
      endedMs: 1_010.0004,
    }),
  );
  const [line, ...rest] = logs.lines();
  t.same(rest, [], 'one line');
  const { time, pid, ...fields } = line!;
  t.ok(time && pid, 'with the time and pid of every line');
  t.same(fields, {
    level: 'info',
    msg: 'request',
    requestId: 'req-1',
    protocol: 'rest',
    model: 'm',
    version: '1',
    status: 200,
    durationMs: 10,
    cache: 'miss',
    batchRows: 4,
    queueMs: 0.75,
    upstreamMs: 2.624,
    workerMs: 2.3,
  });
});

t.test('only the fields the record holds: a refusal before the model was known', async (t) => {
  const logs = captureLogger();
  accessLog(logs.logger, { sampleRate: 1, random: Math.random })(record({ model: undefined, version: undefined, status: 404, code: 'GW_ERR_MODEL_NOT_FOUND', endedMs: 1_000.2 }));
  const { time, pid, ...fields } = logs.lines()[0]!;
  t.same(fields, { level: 'info', msg: 'request', requestId: 'req-1', protocol: 'rest', status: 404, code: 'GW_ERR_MODEL_NOT_FOUND', durationMs: 0.2 });
});

t.test('a cache hit: no queue, no upstream, no worker', async (t) => {
  const logs = captureLogger();
  accessLog(logs.logger, { sampleRate: 1, random: Math.random })(record({ cache: 'hit', endedMs: 1_000.3 }));
  t.match(logs.lines()[0], { cache: 'hit', durationMs: 0.3 });
  for (const field of ['queueMs', 'upstreamMs', 'workerMs', 'batchRows', 'code']) t.notOk(field in logs.lines()[0]!, `no ${field}`);
});

t.test('successful requests are sampled; every failed one is logged', async (t) => {
  const cases: Array<{ name: string; sampleRate: number; random: number[]; status: number | undefined; logged: boolean }> = [
    { name: 'rate 1 logs every success', sampleRate: 1, random: [0.999], status: 200, logged: true },
    { name: 'rate 0 logs no success', sampleRate: 0, random: [0], status: 200, logged: false },
    { name: 'a draw under the rate is logged', sampleRate: 0.25, random: [0.2], status: 200, logged: true },
    { name: 'a draw at the rate is not', sampleRate: 0.25, random: [0.25], status: 200, logged: false },
    { name: 'a 4xx at rate 0 is logged', sampleRate: 0, random: [0.9], status: 400, logged: true },
    { name: 'a 5xx at rate 0 is logged', sampleRate: 0, random: [0.9], status: 503, logged: true },
    { name: 'no status at all (the request broke) is logged', sampleRate: 0, random: [0.9], status: undefined, logged: true },
  ];
  for (const c of cases) {
    const logs = captureLogger();
    accessLog(logs.logger, { sampleRate: c.sampleRate, random: randomOf(c.random) })(record({ status: c.status }));
    t.equal(logs.lines().length, c.logged ? 1 : 0, c.name);
  }

  const logs = captureLogger();
  const observe = accessLog(logs.logger, { sampleRate: 0.5, random: randomOf([0.1, 0.9, 0.4, 0.6]) });
  for (let i = 0; i < 8; i++) observe(record({ id: `r${i}` } as Partial<RequestRecord>));
  t.same(logs.lines().map((line) => line.requestId), ['r0', 'r2', 'r4', 'r6'], 'half of the successes, as the draws say');
});

t.test('nothing is written, nor drawn, below the logger level', async (t) => {
  const logs = captureLogger({ level: 'warn' });
  let draws = 0;
  const observe = accessLog(logs.logger, { sampleRate: 0.5, random: () => (draws++, 0) });
  observe(record({}));
  observe(record({ status: 500, code: 'GW_ERR_INTERNAL' }));
  t.same(logs.lines(), []);
  t.equal(draws, 0);
});

t.test('never tensor data or headers: only the record fields named', async (t) => {
  const logs = captureLogger();
  const withExtras = Object.assign(record({}), { body: [1, 2, 3], headers: { authorization: 'Bearer secret' } });
  accessLog(logs.logger, { sampleRate: 1, random: Math.random })(withExtras);
  t.notMatch(logs.text(), /secret|authorization|body/);
  t.notMatch(logs.text(), /traceparent/);
});
