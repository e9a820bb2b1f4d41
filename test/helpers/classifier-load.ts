// Closed-loop clients posting one-row classifier requests until stopped, for
// tests that change the fleet under load and count what every request got.

import { postJson, randomFloats } from './gateway.ts';

export type ClassifierLoad = {
  /** The status of every answer so far. */
  statuses: number[];
  /** Stops the clients; resolves once their last requests are answered. */
  stop(): Promise<number[]>;
};

export function classifierLoad(url: string, clients: number, random: () => number): ClassifierLoad {
  let running = true;
  const statuses: number[] = [];
  const loops = Array.from({ length: clients }, async () => {
    while (running) statuses.push((await postJson(`${url}/v2/models/classifier/infer`, { inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: randomFloats(random, 64) }] })).status);
  });
  return {
    statuses,
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}
