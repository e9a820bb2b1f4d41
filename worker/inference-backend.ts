// What the worker's request handlers need of a model store: the HTTP server
// (server.ts) and the KServe JSON route (kserve-infer.ts) both take one, so a
// test can hand either a fake. Its own module so neither imports the other.

import type { ModelStore } from './model-store.ts';

export type InferenceBackend = Pick<ModelStore, 'state' | 'signatures' | 'report' | 'run'>;
