// Micro-benchmark of model files that answer the same requests, e.g. a
// version and what `infergate optimize` made of it (not run by tap):
//
//   node benchmarks/micro/model-variants.ts models/heavy/1/model.onnx models/heavy/2/model.onnx [more.onnx…]
//        [--rounds 5] [--duration-s 1] [--batches 1,32]
//
// The first file is the base. Every file gets one onnxruntime-node session in
// this process with one intra-op thread (a worker's share of one core), and
// the same seeded inputs. Each round runs every file at each batch size back
// to back for --duration-s, in an order that alternates between rounds
// (A B C, then C B A) so that a drifting machine weighs on all alike; rows/s
// per file is the median of the rounds, and the ratio to the base is the
// median of the ratios taken within each round.
//
// Resident memory: each file's session is also created alone in a fresh child
// process (this file with --rss FILE), which reports RSS after creation and a
// first run minus RSS before: what a worker pays per loaded version, with
// onnxruntime's load-time transforms (a Cast of an FP16 weight folded into an
// FP32 constant) included. It also holds onnxruntime's one-off setup, the
// same for every file: compare the rows, not the numbers alone.

import { fork } from 'node:child_process';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { mulberry32 } from '../../common/prng.ts';
import { RUNTIME_VERSION } from '../../worker/runtime-version.ts';

const SESSION: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential', logSeverityLevel: 3 };
/** Distinct inputs per batch size, cycled through: the sessions see changing data without any generated in the timed loop. */
const INPUT_POOL = 8;
/** Every symbolic axis but the first (the batch) takes this size (the pooler's sequence). */
const OTHER_DYNAMIC_SIZE = 8;
const WARM_UP_RUNS = 20;

type Feeds = Record<string, ort.Tensor>;

function inputPool(session: ort.InferenceSession, batch: number, seed: number): Feeds[] {
  const random = mulberry32(seed);
  return Array.from({ length: INPUT_POOL }, () => {
    const feeds: Feeds = {};
    for (const input of session.inputMetadata) {
      if (!input.isTensor) throw new Error(`input ${input.name} is not a tensor`);
      const dims = input.shape.map((d, i) => (i === 0 ? batch : typeof d === 'number' && d > 0 ? d : OTHER_DYNAMIC_SIZE));
      const count = dims.reduce((a, b) => a * b, 1);
      // Integer inputs are row ids (the ranker's table): small enough for any table.
      feeds[input.name] =
        input.type === 'int64'
          ? new ort.Tensor('int64', BigInt64Array.from({ length: count }, () => BigInt(Math.floor(random() * 100))), dims)
          : new ort.Tensor('float32', Float32Array.from({ length: count }, () => random() * 2 - 1), dims);
    }
    return feeds;
  });
}

async function rowsPerS(session: ort.InferenceSession, pool: readonly Feeds[], batch: number, durationS: number): Promise<number> {
  let runs = 0;
  const start = performance.now();
  const end = start + durationS * 1000;
  while (performance.now() < end) await session.run(pool[runs++ % INPUT_POOL]!);
  return (runs * batch) / ((performance.now() - start) / 1000);
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** The child's work: RSS bytes a session of `file` adds, after its first run. */
async function sessionRss(file: string): Promise<number> {
  const before = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(file, SESSION);
  await session.run(inputPool(session, 1, 1)[0]!);
  return process.memoryUsage().rss - before;
}

async function measureRss(file: string): Promise<number> {
  const child = fork(import.meta.filename, ['--rss', file], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const [message] = (await once(child, 'message')) as [{ rssBytes: number }];
  child.disconnect();
  return message.rssBytes;
}

async function main(): Promise<void> {
  const { values, positionals: files } = parseArgs({
    allowPositionals: true,
    options: { rounds: { type: 'string', default: '5' }, 'duration-s': { type: 'string', default: '1' }, batches: { type: 'string', default: '1,32' }, rss: { type: 'string' } },
  });
  if (values.rss !== undefined) {
    process.send!({ rssBytes: await sessionRss(values.rss) });
    return;
  }
  if (files.length < 2) throw new Error('give a base model file and at least one other');
  const rounds = Number(values.rounds);
  const durationS = Number(values['duration-s']);
  const batches = values.batches.split(',').map(Number);
  const rssBytes: number[] = [];
  for (const file of files) rssBytes.push(await measureRss(file));

  const sessions = await Promise.all(files.map((file) => ort.InferenceSession.create(file, SESSION)));
  const results = files.map(() => batches.map((): number[] => []));
  for (const [b, batch] of batches.entries()) {
    // The base's inputs for every file: they must share a signature.
    const pool = inputPool(sessions[0]!, batch, 20 + batch);
    for (const session of sessions) for (let i = 0; i < WARM_UP_RUNS; i++) await session.run(pool[i % INPUT_POOL]!);
    for (let round = 0; round < rounds; round++) {
      const order = files.map((_, i) => (round % 2 === 0 ? i : files.length - 1 - i));
      for (const i of order) results[i]![b]!.push(await rowsPerS(sessions[i]!, pool, batch, durationS));
    }
  }
  for (const session of sessions) await session.release();

  console.log(`rows/s, one intra-op thread, median of ${rounds} interleaved rounds of ${durationS} s (onnxruntime-node ${RUNTIME_VERSION}, ${process.version})`);
  const header = ['file', 'bytes', 'session RSS MiB', ...batches.flatMap((batch) => [`batch ${batch}`, '× base'])];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const [i, file] of files.entries()) {
    const cells = batches.flatMap((_, b) => {
      const ratios = results[i]![b]!.map((value, round) => value / results[0]![b]![round]!);
      return [median(results[i]![b]!).toFixed(0), median(ratios).toFixed(2)];
    });
    console.log(`| ${[file, statSync(file).size, (rssBytes[i]! / 2 ** 20).toFixed(1), ...cells].join(' | ')} |`);
  }
}

await main();
