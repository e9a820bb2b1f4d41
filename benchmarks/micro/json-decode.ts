// Micro-benchmark of decodeInferRequest's direct JSON path (direct-json.ts)
// against the JSON.parse path it falls back to (not run by tap):
//
//   node benchmarks/micro/json-decode.ts
//
// Bodies are written as clients write them: JSON.stringify of float32 values
// (17 significant digits, as Python's json.dumps of numpy float32 .tolist()
// gives), so the direct path reads them through its certified rounding, not
// only its exact one. Each case rotates over a pool of distinct bodies; the
// two paths run in interleaved rounds (old, new, old, new, …) so that machine
// load drifts over both alike, and the median of the rounds is printed.

import { decodeInferRequest, decodeInferRequestParsed } from '../../common/kserve/decode-request.ts';
import { readDirectJson } from '../../common/kserve/direct-json.ts';
import type { ModelSignature } from '../../common/wire.ts';

type Shape = { name: string; rows: number; cols: number; iterations: number };

const SHAPES: Shape[] = [
  { name: 'classifier 1×64 FP32', rows: 1, cols: 64, iterations: 20_000 },
  { name: 'heavy 1×512 FP32', rows: 1, cols: 512, iterations: 4_000 },
  { name: 'batch 32×64 FP32 (nested)', rows: 32, cols: 64, iterations: 1_000 },
];
const ROUNDS = 9;
const POOL = 32;

function signatureOf(cols: number): ModelSignature {
  return {
    fingerprint: 'bench',
    name: 'bench',
    version: '1',
    inputs: [{ name: 'input', datatype: 'FP32', shape: [-1, cols] }],
    outputs: [{ name: 'probabilities', datatype: 'FP32', shape: [-1, 10] }],
  };
}

function body(rows: number, cols: number, index: number): Buffer {
  const row = (): number[] => Array.from(Float32Array.from({ length: cols }, () => Math.random() * 2 - 1));
  // A batch is sent nested (one array per row), as clients build it; a single row flat.
  const data = rows === 1 ? row() : Array.from({ length: rows }, row);
  return Buffer.from(JSON.stringify({ id: `r${index}`, inputs: [{ name: 'input', shape: [rows, cols], datatype: 'FP32', data }], outputs: [{ name: 'probabilities' }] }));
}

function timeRound(run: (i: number) => number, iterations: number): number {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += run(i);
  const us = Number(process.hrtime.bigint() - start) / iterations / 1000;
  if (sink === -1) console.log(sink);
  return us;
}

const median = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;

console.log(`median µs per decode over ${ROUNDS} interleaved rounds (${process.version})`);
console.log(`  ${'body'.padEnd(28)} ${'bytes'.padStart(7)} ${'JSON.parse'.padStart(11)} ${'direct'.padStart(9)} ${'speed-up'.padStart(9)}`);
for (const { name, rows, cols, iterations } of SHAPES) {
  const signature = signatureOf(cols);
  const bodies = Array.from({ length: POOL }, (_, i) => body(rows, cols, i));
  if (bodies.some((b) => readDirectJson(b, signature, { maxElements: 2 ** 24 }) === undefined)) throw new Error(`${name}: the direct path fell back`);
  const old = (i: number): number => decodeInferRequestParsed(bodies[i % POOL]!, signature).tensors[0]!.data.byteLength;
  const direct = (i: number): number => decodeInferRequest(bodies[i % POOL]!, signature, { directMinBytes: 0 }).tensors[0]!.data.byteLength;
  for (let i = 0; i < 2_000; i++) old(i) + direct(i); // warm-up: both paths optimized before timing
  const oldUs: number[] = [];
  const directUs: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    oldUs.push(timeRound(old, iterations));
    directUs.push(timeRound(direct, iterations));
  }
  const [o, d] = [median(oldUs), median(directUs)];
  console.log(`  ${name.padEnd(28)} ${String(bodies[0]!.byteLength).padStart(7)} ${o.toFixed(2).padStart(11)} ${d.toFixed(2).padStart(9)} ${`${(o / d).toFixed(2)}×`.padStart(9)}`);
}
