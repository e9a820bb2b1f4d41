// The Kubernetes base (deploy/kubernetes) as `kubectl kustomize` builds it:
// every object passes the Kubernetes OpenAPI schema (kubernetes-models,
// offline), and what the manifests say of the code is what the code does:
// probe paths are the health routes, container ports are the ports the
// config and the worker's flags give, env names are those the code reads,
// the discovery name is the headless Service, grace periods cover the drains.
// The Dockerfile builds a non-root image with production dependencies.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { parseAllDocuments, parse } from 'yaml';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { configSchema } from '../../config/schema.ts';
import { OVERRIDES } from '../../config/load.ts';
import { parseWorkerOptions } from '../../common/worker-options.ts';
import { WORKER_ROUTES } from '../../common/wire.ts';
import { matchRoute } from '../../gateway/http/routes.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BASE = join(ROOT, 'deploy', 'kubernetes');

const kubectl = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

type Manifest = { apiVersion: string; kind: string; metadata: { name: string }; [field: string]: any };

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'apps/v1/Deployment': Deployment,
  'v1/Service': Service,
  'v1/ConfigMap': ConfigMap,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
};

t.test('the kustomize base builds, and every object passes schema validation', { skip: kubectl ? false : 'kubectl is not installed (Debian: kubernetes-client)' }, async (t) => {
  const built = execFileSync('kubectl', ['kustomize', BASE], { encoding: 'utf8' });
  const objects = parseAllDocuments(built).map((d) => d.toJSON() as Manifest);
  const byName = (kind: string, name: string): Manifest => objects.find((o) => o.kind === kind && o.metadata.name === name)!;
  t.same(
    objects.map((o) => `${o.kind}/${o.metadata.name}`).sort(),
    [
      'ConfigMap/infergate-gateway-config',
      'ConfigMap/infergate-prometheus-adapter-rules',
      'Deployment/infergate-gateway',
      'Deployment/infergate-redis',
      'Deployment/infergate-worker',
      'HorizontalPodAutoscaler/infergate-gateway',
      'HorizontalPodAutoscaler/infergate-worker',
      'NetworkPolicy/infergate-redis-ingress',
      'NetworkPolicy/infergate-worker-ingress',
      'PodDisruptionBudget/infergate-gateway',
      'PodDisruptionBudget/infergate-worker',
      'Service/infergate-gateway',
      'Service/infergate-redis',
      'Service/infergate-workers',
    ],
  );
  for (const object of objects) {
    const Model = MODELS[`${object.apiVersion}/${object.kind}`];
    if (!Model) {
      t.fail(`no schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    t.doesNotThrow(() => new Model(object).validate(), `${object.kind}/${object.metadata.name} is valid`);
  }

  const gatewayConfig = configSchema.parse(parse(byName('ConfigMap', 'infergate-gateway-config').data['config.yaml']));
  const gateway = byName('Deployment', 'infergate-gateway').spec.template.spec;
  const worker = byName('Deployment', 'infergate-worker').spec.template.spec;
  const [gatewayContainer, workerContainer] = [gateway.containers[0], worker.containers[0]];

  t.test('probes are the health routes', async (t) => {
    t.same(matchRoute('GET', gatewayContainer.readinessProbe.httpGet.path), { name: 'ready' });
    t.same(matchRoute('GET', gatewayContainer.livenessProbe.httpGet.path), { name: 'live' });
    t.equal(workerContainer.readinessProbe.httpGet.path, WORKER_ROUTES.ready);
    t.equal(workerContainer.livenessProbe.httpGet.path, WORKER_ROUTES.live);
  });

  t.test('ports: the config and the worker flags listen where the manifests say', async (t) => {
    t.same(gatewayContainer.ports.map((p: { containerPort: number }) => p.containerPort), [gatewayConfig.server.port, gatewayConfig.server.grpcPort], 'HTTP and gRPC');
    t.equal(gatewayConfig.server.host, '0.0.0.0', 'the gateway listens beyond the pod');
    const options = parseWorkerOptions(workerContainer.args.slice(1));
    t.same(workerContainer.ports.map((p: { containerPort: number }) => p.containerPort), [options.listen.kind === 'tcp' && options.listen.port, options.muxListen?.kind === 'tcp' && options.muxListen.port]);
    const discovery = gatewayConfig.workers.remote.discovery;
    t.equal(discovery.dns?.name, 'infergate-workers', 'the gateways resolve the headless Service');
    t.equal(byName('Service', 'infergate-workers').spec.clusterIP, 'None');
    t.equal(discovery.dns?.port, options.listen.kind === 'tcp' ? options.listen.port : -1);
    t.equal(discovery.muxPort, options.muxListen?.kind === 'tcp' ? options.muxListen.port : -1);
    t.equal(gatewayConfig.models.defaultReplicas, 0, 'no local worker in a gateway pod');
  });

  t.test('env names are the ones the code reads', async (t) => {
    const read = new Set(OVERRIDES.map((o) => o.env));
    for (const { name } of gatewayContainer.env) t.ok(name === 'INFERGATE_CONFIG' || read.has(name), `gateway env ${name}`);
    t.same(workerContainer.env.map((e: { name: string }) => e.name), ['INFERGATE_WORKER_TOKEN'], 'the worker reads its token from the env (worker/main.ts)');
    t.match(readFileSync(join(ROOT, 'worker', 'main.ts'), 'utf8'), /env\.INFERGATE_WORKER_TOKEN/);
  });

  t.test('grace periods cover the drains after the preStop pause', async (t) => {
    const pause = (c: { lifecycle: { preStop: { sleep: { seconds: number } } } }) => c.lifecycle.preStop.sleep.seconds;
    t.ok(gateway.terminationGracePeriodSeconds >= pause(gatewayContainer) + gatewayConfig.server.shutdownGraceMs / 1000, `gateway ${gateway.terminationGracePeriodSeconds} s`);
    const options = parseWorkerOptions(workerContainer.args.slice(1));
    t.ok(worker.terminationGracePeriodSeconds >= pause(workerContainer) + options.drainTimeoutMs / 1000, `worker ${worker.terminationGracePeriodSeconds} s`);
  });

  t.test('every pod runs as non-root on a read-only root filesystem, with requests and limits', async (t) => {
    for (const name of ['infergate-gateway', 'infergate-worker', 'infergate-redis']) {
      const pod = byName('Deployment', name).spec.template.spec;
      t.equal(pod.securityContext.runAsNonRoot, true, `${name} non-root`);
      for (const c of pod.containers) {
        t.equal(c.securityContext.readOnlyRootFilesystem, true, `${name} read-only root`);
        t.ok(c.resources.requests && c.resources.limits, `${name} requests and limits`);
      }
    }
  });

  t.test('only gateways reach the workers; the worker HPA reads the adapter rule', async (t) => {
    const policy = byName('NetworkPolicy', 'infergate-worker-ingress').spec;
    t.same(policy.ingress[0].from, [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'infergate-gateway' } } }]);
    const metric = byName('HorizontalPodAutoscaler', 'infergate-worker').spec.metrics[0].external.metric.name;
    const rules = parse(byName('ConfigMap', 'infergate-prometheus-adapter-rules').data['rules.yaml']);
    t.equal(rules.externalRules[0].name.as, metric);
    t.match(rules.externalRules[0].metricsQuery, /infergate_requests_in_flight/, 'a metric the gateway exports (docs/observability.md)');
    t.match(readFileSync(join(ROOT, 'docs', 'observability.md'), 'utf8'), /`infergate_requests_in_flight`/);
  });
});

t.test('the Dockerfile: Node 24, production dependencies, tini, not root', async (t) => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  t.match(dockerfile, /^FROM node:24-\S+ AS build$/m);
  t.match(dockerfile, /npm ci --omit=dev/);
  t.match(dockerfile, /^USER 10001:10001$/m);
  t.match(dockerfile, /ENTRYPOINT \["\/usr\/bin\/tini", "--"/);
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
  for (const entry of ['node_modules', 'models', '.git']) t.ok(ignored.includes(entry), `.dockerignore: ${entry}`);
});
