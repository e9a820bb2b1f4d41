// A fake model store for worker server tests: echoes its inputs, and each
// run waits until the test releases it (emits 'run' with a release function).

import { EventEmitter } from 'node:events';
import { InfergateError } from '../../common/errors.ts';
import type { ModelSignature, Tensor, WorkerModelsBody } from '../../common/wire.ts';
import type { ModelStoreState, RunResult } from '../../worker/model-store.ts';

export const ECHO_SIGNATURE: ModelSignature = {
  name: 'echo',
  version: '1',
  inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  outputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
  fingerprint: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
};

export type PendingRun = { tensors: readonly Tensor[]; release: () => void };

export class FakeStore extends EventEmitter {
  state: ModelStoreState;
  seen: Tensor[] = [];

  constructor(state: ModelStoreState = 'ready') {
    super();
    this.state = state;
  }

  signatures(): ModelSignature[] {
    return [ECHO_SIGNATURE];
  }

  report(): WorkerModelsBody {
    return { models: [ECHO_SIGNATURE], unavailable: [], warnings: [] };
  }

  /** Model "boom" throws a plain Error (an internal failure); any other name but "echo" is not found. */
  async run(model: string, version: string, tensors: readonly Tensor[]): Promise<RunResult> {
    if (model === 'boom') throw new Error('unexpected');
    if (model !== 'echo') throw new InfergateError('GW_ERR_MODEL_NOT_FOUND', model);
    this.seen.push(...tensors);
    await new Promise<void>((release) => this.emit('run', { tensors, release } satisfies PendingRun));
    return { version: version || '1', outputs: [...tensors], timing: { inputMs: 0, inferMs: 0, outputMs: 0 } };
  }
}
