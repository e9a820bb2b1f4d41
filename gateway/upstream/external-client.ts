// The client of one replica of an external model server (config
// externalModels): what the replica set, the readiness probe and the health
// checker ask of any replica. Readiness is a GET of the server's own health
// route; the server reports no model signature (the gateway proxies its
// requests as they are, see external-proxy.ts), so its report is empty, and
// frames, statistics and loads are not its to answer.

import { Pool } from 'undici';
import { InfergateError } from '../../common/errors.ts';
import type { FrameBytes, WorkerModelsBody } from '../../common/wire.ts';
import type { WorkerMetricsBody, WorkerStatsBody } from '../../common/worker-control.ts';
import type { ReplicaClient } from '../replicas/replica-client.ts';

const EMPTY_REPORT: WorkerModelsBody = { models: [], unavailable: [], warnings: [] };

export class ExternalClient implements ReplicaClient {
  readonly #pool: Pool;
  readonly #healthPath: string;

  constructor(baseUrl: string, healthPath: string) {
    // Health checks only: the proxied requests go through http-proxy's own agent.
    this.#pool = new Pool(baseUrl, { connections: 2 });
    this.#healthPath = healthPath;
  }

  async isReady(timeoutMs: number): Promise<boolean> {
    try {
      const { statusCode, body } = await this.#pool.request({ path: this.#healthPath, method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
      await body.dump();
      return statusCode === 200;
    } catch {
      return false;
    }
  }

  async models(): Promise<WorkerModelsBody> {
    return EMPTY_REPORT;
  }

  async stats(): Promise<WorkerStatsBody> {
    return { models: {} };
  }

  async metrics(): Promise<WorkerMetricsBody> {
    return [];
  }

  infer(_frame: FrameBytes): Promise<Uint8Array> {
    return Promise.reject(notOurs('runs no frame: its requests are proxied'));
  }

  loadModel(): Promise<WorkerModelsBody> {
    return Promise.reject(notOurs('loads its models itself'));
  }

  unloadModel(): Promise<WorkerModelsBody> {
    return Promise.reject(notOurs('unloads its models itself'));
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}

function notOurs(what: string): InfergateError {
  return new InfergateError('GW_ERR_INTERNAL', `an external model server ${what}`);
}
