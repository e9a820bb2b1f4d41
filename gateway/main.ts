// Entry of the gateway process: load config, build, listen, wire signals.

import { ConfigError, loadConfig } from '../config/load.ts';
import { Gateway } from './app.ts';

export async function runGateway(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  let gateway: Gateway;
  try {
    gateway = new Gateway(loadConfig(argv, env).config);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`infergate: ${err.message}\n`);
    process.exit(2);
  }

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`infergate gateway: ${signal}: draining`);
    gateway.close().then(
      () => {
        const { accepted, answered, shed, refusedWhileDraining } = gateway.http.stats();
        console.log(`infergate gateway: stopped; requests accepted ${accepted}, answered ${answered}, shed ${shed}, refused while draining ${refusedWhileDraining}`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error(`infergate gateway: shutdown failed: ${(err as Error)?.stack ?? err}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  let address;
  try {
    address = await gateway.listen();
  } catch (err) {
    process.stderr.write(`infergate: cannot listen on ${gateway.config.server.host}:${gateway.config.server.port}: ${(err as Error).message}\n`);
    await gateway.close();
    process.exit(1);
  }
  const { config } = gateway;
  console.log(`infergate gateway listening on http://${address.address}:${address.port} (models from ${config.models.repository})`);
  await gateway.whenReady();
  const { registry } = gateway;
  const serving = registry.models
    .map((m) => ({ name: m.name, versions: registry.status(m.name).filter((v) => v.state === 'READY').map((v) => v.version) }))
    .filter((m) => m.versions.length > 0)
    .map((m) => `${m.name} [${m.versions.join(', ')}]`);
  const unavailable = registry.models.flatMap((m) => registry.status(m.name).filter((v) => v.state === 'UNAVAILABLE').map((v) => `${m.name} ${v.version}`));
  const ready = gateway.replicas.replicas.filter((r) => r.state === 'ready').length;
  // Each unavailable version's reason was logged once already (ModelRegistry).
  const notServed = unavailable.length > 0 ? `; unavailable: ${unavailable.join(', ')}` : '';
  console.log(`infergate gateway ready: ${serving.join(', ') || 'no model'}${notServed} (${ready} of ${gateway.replicas.replicas.length} workers ready so far)`);
}

if (import.meta.main) {
  await runGateway(process.argv.slice(2), process.env);
}
