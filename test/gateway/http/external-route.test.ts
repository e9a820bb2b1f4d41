import t from 'tap';
import { upstreamPath } from '../../../gateway/http/external-route.ts';

const model = { name: 'fronted', upstreamName: 'classifier', replicas: ['http://127.0.0.1:1'], healthPath: '/v2/health/ready', timeoutMs: 1000 };

t.test('a proxied path names the model as the upstream knows it, the rest as the client wrote it', async (t) => {
  const table: Array<[string, string]> = [
    ['/v2/models/fronted', '/v2/models/classifier'],
    ['/v2/models/fronted/versions/3/infer?x=1', '/v2/models/classifier/versions/3/infer?x=1'],
    ['/v2/models/fronted/config', '/v2/models/classifier/config'],
    ['/v2/models/fr%6Fnted/ready', '/v2/models/classifier/ready'],
    ['/v1/models/fronted', '/v1/models/classifier'],
    ['/v1/models/fronted?q', '/v1/models/classifier?q'],
    ['/v1/models/fronted:predict', '/v1/models/classifier:predict'],
    ['/v1/models/fronted/versions/2:predict', '/v1/models/classifier/versions/2:predict'],
    ['/v1/models/fronted/labels/canary/metadata', '/v1/models/classifier/labels/canary/metadata'],
    ['/v2/health/ready', '/v2/health/ready'],
  ];
  for (const [path, upstream] of table) t.equal(upstreamPath(path, model), upstream, path);
  t.equal(upstreamPath('/v1/models/fronted:predict', { ...model, upstreamName: undefined }), '/v1/models/fronted:predict', 'no upstream name: its own');
});
