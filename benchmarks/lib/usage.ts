// The benchmark's --help text (the flags themselves are parsed in options.ts).

export function usage(scenarios: readonly { name: string; summary: string }[]): string {
  const pad = Math.max(...scenarios.map((s) => s.name.length), 8) + 2;
  return `usage: npm run bench -- <scenario> [options]
       node benchmarks/run.ts <scenario> [options]

Starts every system under test as its own processes, loads it, stops it, and
writes benchmarks/results/<date>-<scenario>/ (results.json, report.md, *.svg).
Exits 1 when a run failed: it could not start, or errors + non-2xx exceeded
--max-error-rate of its requests. Progress goes to stderr, the table to stdout.

scenarios:
${scenarios.map((s) => `  ${s.name.padEnd(pad)}${s.summary}`).join('\n')}

systems (--systems, comma-separated; defaults depend on the scenario):
  direct       one worker, binary frames to its POST /infer (no gateway)
  direct-json  one worker, KServe v2 JSON to its public infer route
  gateway      infergate with --replicas local workers (cache off), served by
               --gateway-processes processes (gateway-2p: two)
  nginx        NGINX least_conn over --replicas workers (skipped when not installed)
  hello        trivial HTTP server: the load generator's own ceiling
  baseline     the gateway from the --baseline checkout, started as gateway is

load:
  -c, --connections <list>   closed-loop connections             (16,64)
  -p, --pipelining <n>       requests in flight per connection    (1)
  -d, --duration <s>         seconds per run                      (10)
      --amount <n>           requests per run instead of a duration
      --warmup <s>           closed-loop warm-up per system start (2)
      --rounds <n>           cache, processes, protocols, access (3), overhead/batching with
                             --baseline, overhead/replicas with several
                             --gateway-processes: every run n times, interleaved;
                             medians reported (5)
      --rate <r>             open loop at r req/s instead of closed loop
      --arrivals <a>         open-loop arrivals: constant | poisson (constant)
      --open-connections <n> keep-alive connections for open loop (64)
      --grpc-calls-per-channel <n>
                             protocols: gRPC calls in flight per channel, each
                             channel one HTTP/2 connection; N connections are N
                             concurrent calls on ceil(N / n) channels (8)
      --timeout-ms <n>       per-request timeout                  (10000)

bodies:
      --model <name>         model to call                        (classifier)
      --models <dir>         model repository (npm run models)    (models/)
      --rows <n>             rows per request                     (1)
      --inputs <mode>        unique | pool:N (N distinct inputs)  (unique)

systems and capacity:
      --replicas <n>         workers behind gateway and nginx     (2)
      --replica-counts <l>   replicas scenario                    (1,2,4)
      --gateway-processes <l>
                             overhead, replicas: processes serving the gateway's port
                             (its --processes) (1). A list (1,2) runs the gateway once
                             per count, labelled gateway, gateway-2p, …, all started
                             at once (replicas: at each worker count) and measured in
                             interleaved rounds (sets --rounds 5); the report pairs
                             each gateway-Np with gateway by round. Front processes'
                             CPU counts as gateway. baseline keeps one process.
                             processes: the counts compared, each with batching off
                             and on (1,2).
      --slo-ms <ms>          capacity: p99 latency SLO            (50)
      --max-error-rate <f>   capacity criterion and failure allowance (0.001 = 0.1%)
      --start-rate <r>       capacity search: first probe         (200)
      --max-rate <r>         capacity search: highest probe       (100000)
      --max-probes <n>       capacity search: probe budget        (16)
      --precision <f>        capacity search: stop when (hi-lo)/lo ≤ f (0.05)
      --no-confirm-failures  capacity search: trust a single failed probe
                             (default: re-probe a failed rate once; it fails if it fails again)
      --probe-duration <s>   capacity search: seconds per probe   (5)

A/B against an earlier revision (overhead and batching pair the runs by round):
      --baseline <dir>       another checkout of this repository; its gateway runs as
                             the system baseline (same models, config overlay, replicas),
                             next to gateway (this checkout), both started once and
                             measured in interleaved rounds. Adds baseline to --systems
                             (alone: --systems gateway,baseline) and sets --rounds 5.
                             The report gives per load each one's median req/s and
                             gateway-process CPU µs per request, and gateway/baseline
                             CPU per request paired within each round. A checkout:
                               git clone -q . /tmp/infergate-base
                               git -C /tmp/infergate-base checkout -q <rev>
                               ln -s "$PWD/node_modules" /tmp/infergate-base/node_modules
                             (or git worktree add /tmp/infergate-base <rev>, then npm ci
                             there). Its gateway spawns its own workers from its tree.

output:
      --results <dir>        results root ($BENCH_RESULTS_DIR, else benchmarks/results)
      --name <name>          folder name                          (<date>-<scenario>)
      --seed <n>             PRNG seed for bodies and arrivals    (1)
  -q, --quiet                no progress on stderr
  -h, --help                 this text

environment: BENCH_RESULTS_DIR (results root), NGINX_BIN (nginx binary).
`;
}
