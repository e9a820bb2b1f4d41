// The inputs an optimization report compares two models on: N rows of seeded
// random values built from the signature (as a `fill: random` warm-up sample
// makes them, warmup.ts), or the requests of a file, as clients send them.
//
//   random:  rows in runs of RANDOM_RUN_ROWS (every dynamic dim that size; a
//            fixed batch axis gives its own row count), the same values on
//            every machine and every run
//   file:    one KServe v2 JSON infer request, a JSON array of them, or one
//            per line (JSON Lines); each decoded and checked as the gateway
//            and the workers decode requests (decode-request.ts)

import { decodeInferRequest } from '../../common/kserve/decode-request.ts';
import type { ModelSignature } from '../../common/wire.ts';
import { readFlagFile } from '../flag-file.ts';
import { randomSamples, type WarmupRun } from '../warmup.ts';

export type SampleSet = { description: string; rows: number; runs: WarmupRun[] };

/** Rows per run of random samples: a full batch, so 10,000 rows cost a few hundred runs. */
export const RANDOM_RUN_ROWS = 32;

/** At least `rows` rows of seeded random inputs (more when a fixed batch axis does not divide them). */
export function randomSampleSet(signature: ModelSignature, rows: number): SampleSet {
  const fixedRows = leadingDim(signature);
  const runs = Math.ceil(rows / (fixedRows ?? RANDOM_RUN_ROWS));
  // With a dynamic batch axis the last run carries the remainder, so the set has exactly `rows` rows.
  const sizes = Array.from({ length: runs }, (_, i) => (fixedRows === undefined && i === runs - 1 ? rows - RANDOM_RUN_ROWS * i : RANDOM_RUN_ROWS));
  const total = fixedRows === undefined ? rows : runs * fixedRows;
  return { description: `${total} rows of seeded random inputs (floats in [0, 1), integers in [0, 100))`, rows: total, runs: randomSamples(signature, sizes) };
}

/** The requests of a file; throws Error with a one-line reason naming the request at fault. */
export async function requestFileSampleSet(path: string, signature: ModelSignature): Promise<SampleSet> {
  const documents = requestDocuments(await readFlagFile(path, '--sample-file'), path);
  const runs = documents.map((document, i): WarmupRun => {
    const label = `request ${i + 1} of ${documents.length} in ${path}`;
    try {
      const request = decodeInferRequest(Buffer.from(JSON.stringify(document)), signature);
      return { label, count: 1, tensors: request.tensors, outputs: undefined };
    } catch (err) {
      throw new Error(`${label}: ${(err as Error).message}`, { cause: err });
    }
  });
  const rows = runs.reduce((sum, run) => sum + (run.tensors[0]?.shape[0] ?? 1), 0);
  return { description: `the ${runs.length} request${runs.length === 1 ? '' : 's'} of ${path} (${rows} rows)`, rows, runs };
}

/** The infer requests of a file: a JSON object, a JSON array of objects, or JSON Lines. */
function requestDocuments(text: string, path: string): unknown[] {
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    const lines = text.split('\n').filter((line) => line.trim() !== '');
    if (lines.length === 0) throw new Error(`--sample-file ${path} holds no request`);
    return lines.map((line, i) => {
      try {
        return JSON.parse(line);
      } catch (err) {
        throw new Error(`--sample-file ${path}: line ${i + 1} is not JSON (the file is neither one JSON document nor JSON Lines): ${(err as Error).message}`, { cause: err });
      }
    });
  }
  const documents = Array.isArray(whole) ? whole : [whole];
  if (documents.length === 0) throw new Error(`--sample-file ${path} holds no request`);
  return documents;
}

/** The first input's fixed leading dim; undefined when it is dynamic (a batch axis) or the input is a scalar. */
function leadingDim(signature: ModelSignature): number | undefined {
  const first = signature.inputs[0]?.shape[0];
  return first === undefined || first === -1 ? undefined : first;
}
