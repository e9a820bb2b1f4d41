// Micro-benchmark of model files that answer the same requests, e.g. a
// version and what `infergate optimize` made of it (not run by tap):
//
//   node benchmarks/micro/model-variants.ts models/heavy/1/model.onnx models/heavy/2/model.onnx [more.onnx…]
//        [--rounds 5] [--duration-s 1] [--batches 1,32]
//
// The first file is the base. Every file gets one onnxruntime-node session in
// this process, timed as `infergate optimize`'s report times them
// (worker/optimize/rows-per-second.ts: one intra-op thread, the same seeded
// inputs, rounds of --duration-s interleaved; medians of the rounds, and the
// ratio to the base as the median of the ratios within each round).
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
import { inputPool, measureRowsPerSecond, SPEED_SESSION_OPTIONS } from '../../worker/optimize/rows-per-second.ts';
import { RUNTIME_VERSION } from '../../worker/runtime-version.ts';

/** The child's work: RSS bytes a session of `file` adds, after its first run. */
async function sessionRss(file: string): Promise<number> {
  const before = process.memoryUsage().rss;
  const session = await ort.InferenceSession.create(file, SPEED_SESSION_OPTIONS);
  await session.run(inputPool(session, 1, 1)![0]!);
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

  const sessions = await Promise.all(files.map((file) => ort.InferenceSession.create(file, SPEED_SESSION_OPTIONS)));
  const speeds = await measureRowsPerSecond(sessions, { batches, rounds, roundMs: durationS * 1000 });
  for (const session of sessions) await session.release();

  console.log(`rows/s, one intra-op thread, median of ${rounds} interleaved rounds of ${durationS} s (onnxruntime-node ${RUNTIME_VERSION}, ${process.version})`);
  const header = ['file', 'bytes', 'session RSS MiB', ...batches.flatMap((batch) => [`batch ${batch}`, '× base'])];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const [i, file] of files.entries()) {
    const cells = speeds.flatMap(({ sessions: speed }) => {
      const measured = speed[i];
      return measured ? [measured.medianRowsPerS.toFixed(0), measured.medianRatioToFirst.toFixed(2)] : ['fixed batch', ''];
    });
    console.log(`| ${[file, statSync(file).size, (rssBytes[i]! / 2 ** 20).toFixed(1), ...cells].join(' | ')} |`);
  }
}

await main();
