// `infergate optimize … --rollout --wait` as users run it, in its own process,
// against a real gateway with real workers under open-loop traffic (a request
// every 10 ms): the report is made on a file of the requests the clients send,
// and its thresholds become the rollout's agreement gate.
//
// - The INT8 version of the stable version is promoted through shadow and
//   canary: its answers are as close to the stable's as the report said.
// - The INT8 version of an older version (other weights) is rolled back by
//   that gate: the report measured it against its source, but live it is
//   compared with the stable version, whose answers differ. The command says
//   so, and exits 1 with the gate's reading.

import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import t from 'tap';
import { mulberry32 } from '../../common/prng.ts';
import { allReplicasReady, getJson, postJson, startGateway } from '../helpers/gateway.ts';
import { openLoopTraffic } from '../helpers/open-loop-traffic.ts';
import { runInfergate } from '../helpers/run-infergate.ts';
import { classifierModel, writeModel } from '../helpers/test-models.ts';

/**
 * The clients' requests, one row each, values in [0, 1): the report's sample set and the live traffic. Only rows
 * whose top class leads the next by a clear margin on both versions, so that INT8 agrees with its source on every
 * one: each report then measures full agreement, and the gate judges after its floor of 20 comparisons instead of
 * the hundreds a share below 100 % needs. Which requests the gate compares depends on timing; with every row
 * agreeing, the outcome does not.
 */
async function clearRows(models: readonly Uint8Array[], count: number): Promise<number[][]> {
  const sessions = await Promise.all(models.map((model) => ort.InferenceSession.create(model, { intraOpNumThreads: 1 })));
  const random = mulberry32(77);
  const rows: number[][] = [];
  const margin = async (session: ort.InferenceSession, row: number[]) => {
    const { probabilities } = await session.run({ input: new ort.Tensor('float32', Float32Array.from(row), [1, 64]) });
    const [first, second] = [...(probabilities!.data as Float32Array)].sort((a, b) => b - a);
    return first! - second!;
  };
  while (rows.length < count) {
    const row = Array.from({ length: 64 }, () => Math.fround(random()));
    let clear = true;
    for (const session of sessions) if ((await margin(session, row)) <= 0.01) clear = false;
    if (clear) rows.push(row);
  }
  for (const session of sessions) await session.release();
  return rows;
}
const [olderModel, stableModel] = [classifierModel(101), classifierModel(202)];
const requests = (await clearRows([olderModel, stableModel], 300)).map((row) => ({ inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: row }] }));
const root = t.testdir({
  repository: {},
  'requests.jsonl': requests.map((request) => JSON.stringify(request)).join('\n'),
  // Stages short enough for a test; latency on a loaded 2-core machine is noisy, so that gate only catches a gross regression.
  'plan.json': JSON.stringify({
    shadow: { percent: 100, maxConcurrent: 8 },
    windowMs: 30_000,
    stages: [
      // The traffic repeats its 300 bodies, so most answers are cache hits: they are shadowed too
      // (test/e2e/rollout-cache-hits.test.ts), or the stages would starve once every body was seen.
      { kind: 'shadow', minDurationMs: 1_000, minRequests: 20 },
      { kind: 'canary', percent: 50, minDurationMs: 1_000, minRequests: 20 },
      { kind: 'promote' },
    ],
    gates: { errors: { minRequests: 10 }, latency: { minRequests: 20, maxP99Ratio: 5, toleranceMs: 100 } },
  }),
});
const repository = join(root, 'repository');
writeModel(repository, 'classifier', '1', olderModel);
writeModel(repository, 'classifier', '2', stableModel);

// The default version policy serves the latest version, 2: the stable one.
const { gateway, url } = await startGateway(t, { models: { include: ['classifier'], defaultReplicas: 1 }, scaling: { maxWorkers: 4 } }, repository);
await allReplicasReady(gateway);

const statuses: number[] = [];
const traffic = openLoopTraffic(t, 10, (i) =>
  postJson(`${url}/v2/models/classifier/infer`, requests[i % requests.length]).then(
    (answer) => void statuses.push(answer.status),
    () => void statuses.push(0),
  ),
);

/**
 * The command, given a minute (it takes seconds): a rollout that stalls fails the test with what the command
 * printed and the gateway's status of the rollout, instead of running into the file's timeout with neither.
 */
async function optimizeAndRollOut(version: string) {
  const run = await runInfergate(
    [
      'optimize', 'classifier', '--version', version, '--to', 'int8', '--models', repository,
      '--sample-file', join(root, 'requests.jsonl'), '--speed-rounds', '1', '--speed-round-ms', '50',
      '--rollout', '--gateway', url, '--rollout-plan', join(root, 'plan.json'), '--wait',
    ],
    { timeoutMs: 60_000 },
  );
  const status = (await getJson(`${url}/admin/models/classifier/rollouts/current`)).body;
  const diagnosis = { stdout: run.stdout, stderr: run.stderr, timedOut: run.timedOut, state: status.state, stage: status.stage, paused: status.paused, gates: status.gates, history: status.history };
  return { ...run, status, diagnosis };
}

t.test('the INT8 version of the stable version goes out under the report’s gate and is promoted', async (t) => {
  const { code, stdout, status, diagnosis } = await optimizeAndRollOut('2');
  t.equal(code, 0, 'promoted', diagnosis);
  const report = JSON.parse(readFileSync(join(repository, 'classifier', '3', 'report.json'), 'utf8'));
  t.match(report, { source: { version: '2' }, made: { version: '3' }, samples: { rows: 300 }, accuracy: [{ top1: { rows: 300, agreeing: 300 } }] });
  t.match(report.gate, { minArgmaxAgreement: 0.99, minComparisons: 20 });
  t.match(stdout, `\nrollout of classifier version 3 against stable version 2 started at ${url} (agreement gate ${JSON.stringify(report.gate)})\n`);
  t.notMatch(stdout, /^note: the report measured/m, 'source and stable are one version');
  t.match(stdout, /\nrollout: shadow\n[\s\S]*rollout: canary 50 %\n[\s\S]*rollout: promoted\n$/);
  t.match(status, { state: 'promoted', stable: '2', candidate: '3' });
  t.same(status.plan.gates.agreement, report.gate, 'the gate ran on the report’s thresholds');
  t.same(status.plan.stages.map((stage: { kind: string }) => stage.kind), ['shadow', 'canary', 'promote'], 'the rest of the plan came from --rollout-plan');
});

t.test('the INT8 version of another version is rolled back by the agreement gate', async (t) => {
  const { code, stdout, stderr, status, diagnosis } = await optimizeAndRollOut('1');
  t.equal(code, 1, 'rolled back', diagnosis);
  t.match(stdout, '\nrollout of classifier version 4 against stable version 3 started at');
  t.match(stdout, '\nnote: the report measured version 4 against version 1; the gate compares it with the stable version 3\n');
  t.match(stderr, /^infergate optimize: the rollout rolled back: .*agreement.*max abs diff [\d.e-]+ \(max [\d.e-]+\)/);
  t.match(status, { state: 'rolled-back', stable: '3', candidate: '4' });
  const answer = await postJson(`${url}/v2/models/classifier/infer`, requests[0]);
  t.equal(answer.body.model_version, '3', 'the promoted version still serves');
});

t.test('no client saw an error through both rollouts', async (t) => {
  t.ok(traffic.sent() > 100, `${traffic.sent()} requests sent`);
  t.same(
    statuses.filter((status) => status !== 200),
    [],
  );
});

t.test('a gateway that is not there: the version is written, and the command says why no rollout started', async (t) => {
  writeFileSync(join(root, 'empty-plan.json'), '{}');
  // A port that was just free: nothing listens there now.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as AddressInfo;
  await new Promise((resolve) => closed.close(resolve));
  const { code, stderr } = await runInfergate([
    'optimize', 'classifier', '--version', '2', '--to', 'graph', '--models', repository, '--samples', '50', '--speed-rounds', '1', '--speed-round-ms', '20',
    '--rollout', '--gateway', `http://127.0.0.1:${port}`, '--rollout-plan', join(root, 'empty-plan.json'),
  ]);
  t.equal(code, 1);
  t.match(stderr, /^infergate optimize: no rollout \(version 5 is written\): cannot reach the gateway at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\n$/);
});

t.test('a plan the gateway refuses: the field it names, on one line', async (t) => {
  writeFileSync(join(root, 'short-window.json'), '{"windowMs": 5}');
  const { code, stderr } = await runInfergate([
    'optimize', 'classifier', '--version', '2', '--to', 'graph', '--models', repository, '--samples', '50', '--speed-rounds', '1', '--speed-round-ms', '20',
    '--rollout', '--gateway', url, '--rollout-plan', join(root, 'short-window.json'),
  ]);
  t.equal(code, 1);
  t.match(stderr, /^infergate optimize: no rollout \(version 6 is written\): POST \/admin\/models\/classifier\/rollouts: 400 GW_ERR_INVALID_ADMIN_REQUEST .*: windowMs: expected a whole number from 1000 to 3600000, got 5\n$/);
});
