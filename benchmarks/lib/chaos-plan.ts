// What the chaos scenario does to the gateway, and when (policy only: a pure
// function of the run's length, rate and worker count; chaos-driver.ts
// carries it out). The chaos tests' events, laid out on one open-loop run so
// each gets its own stretch of timeline before the next begins. Times are
// given for a 30 s run and scale with --duration:
//
//   0    4    7   10   13        18   21      25     28.5 30 s
//   │ base│kill│kill│kill│  hung   │cont│ 2× rate │      │SIGTERM (drain)
//   ├─────┼────┼────┼────┼─────────┼────┼─────────┼──────┼──┤
//          -9 every 3 s, rotating    SIGSTOP … SIGCONT  burst

import type { RateStep } from './results.ts';

export type ChaosAction =
  | { kind: 'kill'; workerId: string }
  | { kind: 'stop'; workerId: string }
  | { kind: 'cont'; workerId: string }
  | { kind: 'burst'; ratePerS: number }
  | { kind: 'burst-end'; ratePerS: number }
  | { kind: 'sigterm' };

export type PlannedEvent = { atS: number; action: ChaosAction };

export type ChaosPlanOptions = {
  durationS: number;
  ratePerS: number;
  /** Workers behind the gateway: kills rotate over worker-0 … worker-(n−1). */
  replicas: number;
  burstFactor?: number;
  /** End with a SIGTERM to the gateway while the load goes on (default true). */
  drain?: boolean;
};

export type ChaosPlan = { events: PlannedEvent[]; schedule: RateStep[] };

/** The reference layout, in seconds of a 30 s run. */
const REFERENCE_S = 30;
const KILLS_AT_S = [4, 7, 10];
const STOP_AT_S = 13;
const CONT_AT_S = 18;
const BURST_S = [21, 25] as const;
const SIGTERM_AT_S = 28.5;

export function chaosPlan(o: ChaosPlanOptions): ChaosPlan {
  const scale = o.durationS / REFERENCE_S;
  const at = (s: number): number => Math.round(s * scale * 1000) / 1000;
  const worker = (i: number): string => `worker-${i % Math.max(1, o.replicas)}`;
  const burstRate = o.ratePerS * (o.burstFactor ?? 2);
  const hung = worker(KILLS_AT_S.length);
  const events: PlannedEvent[] = [
    ...KILLS_AT_S.map((s, i) => ({ atS: at(s), action: { kind: 'kill', workerId: worker(i) } as const })),
    { atS: at(STOP_AT_S), action: { kind: 'stop', workerId: hung } },
    { atS: at(CONT_AT_S), action: { kind: 'cont', workerId: hung } },
    { atS: at(BURST_S[0]), action: { kind: 'burst', ratePerS: burstRate } },
    { atS: at(BURST_S[1]), action: { kind: 'burst-end', ratePerS: o.ratePerS } },
  ];
  if (o.drain !== false) events.push({ atS: at(SIGTERM_AT_S), action: { kind: 'sigterm' } });
  const schedule = [
    { fromS: at(BURST_S[0]), ratePerS: burstRate },
    { fromS: at(BURST_S[1]), ratePerS: o.ratePerS },
  ];
  return { events, schedule };
}

/** The label an event gets on the timeline. */
export function actionLabel(a: ChaosAction): string {
  switch (a.kind) {
    case 'kill':
      return `kill -9 ${a.workerId}`;
    case 'stop':
      return `SIGSTOP ${a.workerId}`;
    case 'cont':
      return `SIGCONT ${a.workerId}`;
    case 'burst':
      return `burst to ${a.ratePerS}/s`;
    case 'burst-end':
      return `back to ${a.ratePerS}/s`;
    case 'sigterm':
      return 'SIGTERM gateway';
  }
}
