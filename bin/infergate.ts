#!/usr/bin/env -S node --max-semi-space-size=16
// The infergate command line: one binary, one subcommand per process kind.

const USAGE = `usage: infergate <command> [options]

commands:
  gateway [--config file] [--host h] [--port p] [--models dir] [--replicas n] [--redis-url url]
          [--processes n|auto] [--log-level level] [--log-format auto|json|pretty] [--access-log]
          run the gateway with its local worker processes (n gateway processes on one port)
  worker  --listen <unix:/path.sock | host:port> --models <dir> [--model name[:versions]]...
          run one standalone worker
  models  [--out dir] [--if-missing]
          write the demo model repository
  check-model PATH [--sample request.json] [--expected outputs.json] [--tolerance 1e-4] [--json]
          check an ONNX file as a worker would load it: report, load, run a sample, compare outputs
  optimize MODEL --version N --to graph|fp16|int8 [--models dir] [--out-version M] [--[no-]fp16-activations] [--per-tensor]
           [--samples N | --sample-file requests.json] [--speed-rounds N] [--speed-round-ms MS] [--no-report]
           [--rollout [--gateway URL] [--rollout-plan plan.json] [--wait]]
          write an optimized copy of a repository model's version as a new version, verified against it,
          with an accuracy and speed report beside it; --rollout sends it into the gateway's gated rollout
  key     <name> [--models m1,m2*] [--operations infer,metadata,admin] [--requests-per-second n]
          make an API key: prints it once, with its entry for the keys file
  bench   <scenario> [options]
          run a benchmark scenario (infergate bench --help)
`;

const [command, ...rest] = process.argv.slice(2);
switch (command) {
  case 'gateway': {
    const { runGateway } = await import('../gateway/main.ts');
    await runGateway(rest, process.env);
    break;
  }
  case 'worker': {
    const { runWorker } = await import('../worker/main.ts');
    await runWorker(rest);
    break;
  }
  case 'models': {
    const { runWriteDemoModels } = await import('../scripts/write-demo-models.ts');
    await runWriteDemoModels(rest);
    break;
  }
  case 'check-model': {
    const { runCheckModel } = await import('../worker/check-model-cli.ts');
    process.exitCode = await runCheckModel(rest, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
    break;
  }
  case 'optimize': {
    const { runOptimize } = await import('../worker/optimize/optimize-cli.ts');
    process.exitCode = await runOptimize(rest, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
    break;
  }
  case 'key': {
    const { runNewKey } = await import('../gateway/access/new-key.ts');
    process.exitCode = runNewKey(rest, (text) => process.stdout.write(text), (text) => process.stderr.write(text));
    break;
  }
  case 'bench': {
    const { runBench } = await import('../benchmarks/run.ts');
    process.exitCode = await runBench(rest);
    break;
  }
  case undefined:
  case '-h':
  case '--help':
    process.stdout.write(USAGE);
    break;
  default:
    process.stderr.write(`infergate: unknown command "${command}"\n${USAGE}`);
    process.exitCode = 2;
}
