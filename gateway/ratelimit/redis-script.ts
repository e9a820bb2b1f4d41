// The shared token bucket: token-bucket.ts's take, as one Lua script that
// Redis runs atomically, so gateways sharing a key never race on it.
//
// Time is Redis's own (TIME), not each gateway's: gateways whose clocks
// disagree still share one bucket correctly. TIME before a write is allowed
// because Redis (5+, and only this way since 7) replicates a script's
// effects, not the script. The bucket is a hash {t = tokens, u = updated ms}
// that expires when it would be full again (a full bucket is the same as
// none), so idle clients cost Redis nothing. A refused take writes nothing.
//
// Reply: {allowed 0|1, remaining, resetSeconds, retryAfterSeconds}, whole
// numbers (Redis truncates a Lua number to an integer reply).

import { TOKEN_EPSILON } from './token-bucket.ts';

/** KEYS[1]: the bucket; ARGV: ratePerSecond, burst, cost. */
export const TAKE_SCRIPT = `
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local eps = ${TOKEN_EPSILON}
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local saved = redis.call('HMGET', KEYS[1], 't', 'u')
local tokens, updated = tonumber(saved[1]), tonumber(saved[2])
if tokens == nil or updated == nil then tokens, updated = burst, now end
if now > updated then
  tokens = math.min(burst, tokens + (now - updated) * rate / 1000)
  updated = now
end
local allowed, retry = 0, 0
if cost <= burst and cost <= tokens + eps then
  allowed = 1
  tokens = math.max(0, tokens - cost)
  local ttl = math.ceil((burst - tokens) * 1000 / rate)
  if ttl > 0 then
    redis.call('HSET', KEYS[1], 't', string.format('%.17g', tokens), 'u', string.format('%.17g', updated))
    redis.call('PEXPIRE', KEYS[1], ttl)
  else
    redis.call('DEL', KEYS[1])
  end
else
  retry = math.max(1, math.ceil((math.min(cost, burst) - tokens) / rate))
end
return {allowed, math.floor(tokens + eps), math.ceil((burst - tokens) / rate), retry}
`;

/** The name the script is defined under on a client (ioredis runs it by EVALSHA, and by EVAL after NOSCRIPT). */
export const TAKE_COMMAND = 'infergateRateLimitTake';

/** The client, as far as the script needs it. */
export type ScriptClient = {
  defineCommand(name: string, definition: { lua: string; numberOfKeys: number }): void;
};

export type TakeReply = [allowed: number, remaining: number, resetSeconds: number, retryAfterSeconds: number];

/** Defines the script on `client` and returns a function that runs it. */
export function defineTake(client: ScriptClient): (key: string, ratePerSecond: number, burst: number, cost: number) => Promise<TakeReply> {
  client.defineCommand(TAKE_COMMAND, { lua: TAKE_SCRIPT, numberOfKeys: 1 });
  const command = (client as unknown as Record<string, (...args: (string | number)[]) => Promise<TakeReply>>)[TAKE_COMMAND]!;
  return (key, ratePerSecond, burst, cost) => command.call(client, key, ratePerSecond, burst, cost);
}
