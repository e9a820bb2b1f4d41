// The channel that carries admin actions between the gateways of a fleet:
// Redis pub/sub, beside the cache's purge channel. Each gateway publishes
// the actions it took, tagged with its own random id, and takes those of the
// others (its own come back to it too, and are skipped). A message is best
// effort, as a purge notice is: a gateway that is down misses it, and reads
// the fleet's state again from its config and the workers when it starts.

import { randomUUID } from 'node:crypto';
import type { Logger } from '../../common/logger.ts';
import type { RedisClient } from '../cache/redis-client.ts';
import { parseAction, type FleetAction } from './fleet-actions.ts';

export type AdminBusDeps = {
  /** Publishes (a connection that may queue while Redis reconnects). */
  publisher: RedisClient;
  /** A connection for SUBSCRIBE alone. */
  subscriber: RedisClient;
  channel: string;
  /** An action another gateway took. */
  heard: (action: FleetAction, from: string) => void;
  logger: Logger;
};

export class AdminBus {
  /** This gateway's id on the channel. */
  readonly origin = randomUUID();
  readonly #deps: AdminBusDeps;

  constructor(deps: AdminBusDeps) {
    this.#deps = deps;
    const { subscriber, publisher, channel, logger } = deps;
    publisher.on('error', () => {});
    subscriber.on('error', () => {});
    subscriber.on('message', (from: string, text: string) => {
      if (from === channel) this.#hear(text);
    });
    // Subscribed again on every (re)connection (see redis-client.ts).
    subscriber.on('ready', () => {
      subscriber.subscribe(channel).catch((err: Error) => logger.warn({ channel, err }, 'fleet admin channel: cannot subscribe'));
    });
  }

  publish(action: FleetAction): void {
    const { publisher, channel, logger } = this.#deps;
    publisher.publish(channel, JSON.stringify({ origin: this.origin, action })).catch((err: Error) => logger.warn({ channel, action: action.kind, model: action.model, err }, 'fleet admin channel: the other gateways were not told'));
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.#deps.subscriber.quit(), this.#deps.publisher.quit()]);
  }

  #hear(text: string): void {
    let message: { origin?: unknown; action?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      return;
    }
    if (message.origin === this.origin || typeof message.origin !== 'string') return;
    const action = parseAction(message.action);
    if (action) this.#deps.heard(action, message.origin);
    else this.#deps.logger.warn({ channel: this.#deps.channel }, 'fleet admin channel: a message that is no action was skipped');
  }
}
