// Micro-benchmark of the JSON tensor codec's fast paths (not run by tap):
//
//   node benchmarks/micro/json-tensor.ts
//
// Encoding is compared with the obvious JSON.stringify(Array.from(typedArray));
// decoding with Float32Array.from over the parsed array. Each case rotates
// over a pool of distinct random tensors so that V8's number→string cache
// cannot flatter anything, and prints the median of several rounds.

import { encodeInferResponse } from '../../common/kserve/encode-response.ts';
import { jsonToTensorData } from '../../common/kserve/json-tensor.ts';
import { tensorDataToJson } from '../../common/kserve/render-tensor.ts';

type Case = { name: string; run: (i: number) => number };

function measure(c: Case, iterations: number, rounds = 7): number {
  for (let i = 0; i < Math.min(iterations, 50); i++) c.run(i);
  const perCall: number[] = [];
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink += c.run(i);
    perCall.push(Number(process.hrtime.bigint() - start) / iterations / 1000);
  }
  if (sink === -1) console.log(sink);
  return perCall.sort((a, b) => a - b)[rounds >> 1]!;
}

function randomFloats(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.random() * 2 - 1;
  return out;
}

for (const [rows, cols, iterations, poolSize] of [[64, 10, 4000, 64], [256, 512, 15, 4]] as const) {
  const n = rows * cols;
  const pool = Array.from({ length: poolSize }, () => randomFloats(n));
  const tensors = pool.map((f) => ({ name: 'y', datatype: 'FP32' as const, shape: [rows, cols], data: new Uint8Array(f.buffer) }));
  const texts = pool.map((f) => JSON.stringify(Array.from(f)));
  const at = <T>(list: readonly T[], i: number): T => list[i % list.length]!;
  const cases: Case[] = [
    { name: 'encode  JSON.stringify(Array.from(f32))', run: (i) => JSON.stringify(Array.from(at(pool, i))).length },
    { name: 'encode  tensorDataToJson', run: (i) => tensorDataToJson(at(tensors, i)).length },
    { name: 'encode  encodeInferResponse (whole body)', run: (i) => encodeInferResponse({ modelName: 'm', modelVersion: '1', outputs: [at(tensors, i)] }).length },
    { name: 'decode  JSON.parse + Float32Array.from', run: (i) => Float32Array.from(JSON.parse(at(texts, i)) as number[]).length },
    { name: 'decode  JSON.parse + jsonToTensorData', run: (i) => jsonToTensorData('x', 'FP32', [rows, cols], JSON.parse(at(texts, i))).length },
  ];
  console.log(`FP32 [${rows},${cols}] (${n} elements), median µs per call`);
  for (const c of cases) console.log(`  ${c.name.padEnd(44)} ${measure(c, iterations).toFixed(1).padStart(9)}`);
}
