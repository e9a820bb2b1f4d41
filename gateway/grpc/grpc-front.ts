// The gateway's gRPC front: KServe v2's inference.GRPCInferenceService with
// Triton's extensions (protos/grpc_service.proto), on server.grpcPort. Every
// RPC translates into what the REST routes call: the infer service, the
// registry, the repository control, the statistics. Errors carry the
// catalogued code in the trailing metadata and the kind's status code.
//
// The listener is a plain net.Server whose connections are handed to the
// gRPC server (grpc-js's connection injector): the gateway owns the socket
// as it does the HTTP one. With server.tls it is a tls.Server instead (ALPN
// "h2" only, as gRPC clients require): the injector, still insecure, gets the
// decrypted socket, so grpc-js never sees the certificate and a reload
// (tls.Server#setSecureContext) needs nothing of it. With server.processes > 1 the leader alone
// serves gRPC (a front would need the leader for the repository RPCs). Close: the listener stops, open connections are told to go away and get
// the drain's grace to finish their calls, then the server shuts down.

import { createServer, type Server as NetServer } from 'node:net';
import { createServer as createTlsServer, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, Metadata, Server, ServerCredentials, status, type ConnectionInjector, type ServerDuplexStream, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { asInfergateError, InfergateError } from '../../common/errors.ts';
import { listening } from '../../common/listening.ts';
import type { Logger } from '../../common/logger.ts';
import { modelMetadata, SERVER_NAME } from '../../common/kserve/metadata.ts';
import type { ModelRegistry } from '../models/registry.ts';
import type { ModelStatsBody } from '../observability/inference-stats.ts';
import type { TritonModelConfig } from '../models/triton-model-config.ts';
import type { RepositoryIndexEntry } from '../repository/repository-control.ts';
import { grpcInfer, type GrpcInferDeps } from './grpc-infer.ts';
import { ERROR_CODE_METADATA, grpcStatusOf } from './grpc-status.ts';
import type { GrpcInferRequest } from './grpc-tensors.ts';
import type { AccessGate, AccessTarget, Admission, Credentials } from '../access/access-gate.ts';

const PROTOS = fileURLToPath(new URL('./protos/', import.meta.url));
/** After the last call ended, how long its answer may take to leave before the connections are cut. */
const FLUSH_GRACE_MS = 2_000;

/** The service definition, loaded once per process: field names as the .proto spells them, 64-bit integers as exact decimal strings. */
let serviceDefinition: ReturnType<typeof loadService> | undefined;
function loadService() {
  const definition = loadSync('grpc_service.proto', { includeDirs: [PROTOS], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const inference = loadPackageDefinition(definition).inference as unknown as { GRPCInferenceService: { service: Parameters<Server['addService']>[0] } };
  return inference.GRPCInferenceService.service;
}

export type GrpcFrontDeps = GrpcInferDeps & {
  registry: ModelRegistry;
  repository: { index(): RepositoryIndexEntry[]; load(model: string): Promise<void>; unload(model: string): Promise<void> };
  /** Triton's statistics (of every process of the gateway). */
  statistics: (model: string | undefined, version: string | undefined) => ModelStatsBody | Promise<ModelStatsBody>;
  modelConfig: (model: string, version: string | undefined) => TritonModelConfig;
  /** Admits a call by its metadata's credentials (API keys, the admin token, rate limits), as for REST. */
  gate: Pick<AccessGate, 'admit'>;
  strictReadiness: boolean;
  version: string;
  settings: { maxMessageBytes: number; keepaliveTimeMs: number; keepaliveTimeoutMs: number };
  /** TLS with this certificate, key and minVersion (server.tls); default: cleartext. */
  tls?: SecureContextOptions;
  logger: Logger;
};

export class GrpcFront {
  readonly #deps: GrpcFrontDeps;
  readonly #server: Server;
  readonly #injector: ConnectionInjector;
  readonly #listener: NetServer;
  /** With TLS: the listener, whose certificate a reload replaces. */
  readonly secureServer: TlsServer | undefined;
  /** Calls being answered (a stream counts until it ends): close waits for them. */
  #inFlight = 0;
  #idle: (() => void) | null = null;
  #closing: Promise<void> | null = null;

  constructor(deps: GrpcFrontDeps) {
    this.#deps = deps;
    const { settings } = deps;
    this.#server = new Server({
      'grpc.max_receive_message_length': settings.maxMessageBytes,
      'grpc.max_send_message_length': settings.maxMessageBytes,
      'grpc.keepalive_time_ms': settings.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': settings.keepaliveTimeoutMs,
    });
    serviceDefinition ??= loadService();
    this.#server.addService(serviceDefinition, this.#implementation());
    this.#injector = this.#server.createConnectionInjector(ServerCredentials.createInsecure());
    const inject = (socket: Parameters<ConnectionInjector['injectConnection']>[0]): void => this.#injector.injectConnection(socket);
    this.secureServer = deps.tls ? createTlsServer({ ...deps.tls, ALPNProtocols: ['h2'] }, inject) : undefined;
    this.#listener = this.secureServer ?? createServer(inject);
  }

  /** Listens on host:port; resolves with the bound port. */
  async listen(host: string, port: number): Promise<number> {
    await listening(this.#listener, { host, port });
    return (this.#listener.address() as { port: number }).port;
  }

  /** Stops taking connections and calls; calls in flight get `graceMs` to finish, then every connection is closed. Idempotent. */
  close(graceMs: number): Promise<void> {
    this.#closing ??= (async () => {
      this.#listener.close();
      // GOAWAY: clients open no new call on these connections (and reconnect elsewhere, to nothing here).
      this.#injector.drain(graceMs);
      if (this.#inFlight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          timer.unref();
          this.#idle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      // The last answers are still being written: a graceful shutdown lets them out, a forced one follows the grace.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.#server.forceShutdown();
          resolve();
        }, Math.min(graceMs, FLUSH_GRACE_MS));
        timer.unref();
        this.#server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.#injector.destroy();
    })();
    return this.#closing;
  }

  /** Counts a call from its start to its end, so that close can wait for it. */
  #track<T>(work: Promise<T>): Promise<T> {
    this.#inFlight++;
    return work.finally(() => {
      if (--this.#inFlight === 0) this.#idle?.();
    });
  }

  #implementation(): UntypedServiceImplementation {
    const { registry } = this.#deps;
    const unary = <Req, Res>(answer: (request: Req, call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) => (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      if (this.#closing) return callback(this.#grpcError(new InfergateError('GW_ERR_SHUTTING_DOWN')));
      void this.#track(
        Promise.resolve()
          .then(() => answer(call.request, call))
          .then((response) => callback(null, response), (err: unknown) => callback(this.#grpcError(err))),
      );
    };
    /** `answer` once the gate admits the call for what `targetOf` says it wants. */
    const guarded =
      <Req, Res>(targetOf: (request: Req) => AccessTarget, answer: (request: Req, call: ServerUnaryCall<Req, Res>, admission: Admission) => Res | Promise<Res>) =>
      (request: Req, call: ServerUnaryCall<Req, Res>) => {
        const admitted = this.#deps.gate.admit(credentialsOf(call), targetOf(request));
        return admitted instanceof Promise ? admitted.then((admission) => answer(request, call, admission)) : answer(request, call, admitted);
      };
    const admin = <Req, Res>(answer: (request: Req) => Res | Promise<Res>) => unary<Req, Res>(guarded(() => ADMIN, answer));
    const metadata = <Req extends { name: string }, Res>(answer: (request: Req) => Res | Promise<Res>) => unary<Req, Res>(guarded((request) => ({ operation: 'metadata', model: request.name }), answer));
    return {
      ServerLive: unary(() => ({ live: true })),
      ServerReady: unary(() => ({ ready: registry.readiness(this.#deps.strictReadiness).ready })),
      ModelReady: metadata((request: { name: string; version: string }) => ({ ready: registry.resolveVersion(request.name, request.version || undefined).state === 'READY' })),
      ServerMetadata: unary(guarded(() => SERVER_METADATA, () => ({ name: SERVER_NAME, version: this.#deps.version, extensions: ['model_repository', 'statistics', 'model_configuration'] }))),
      ModelMetadata: metadata((request: { name: string; version: string }) => {
        const model = registry.model(request.name);
        const resolved = registry.resolve(request.name, request.version || undefined);
        return modelMetadata(resolved.signature, request.version ? [resolved.version] : model.versions.map((v) => v.version));
      }),
      ModelConfig: metadata((request: { name: string; version: string }) => ({ config: this.#deps.modelConfig(request.name, request.version || undefined) })),
      ModelStatistics: unary(
        guarded(
          (request: { name: string; version: string }) => (request.name ? { operation: 'metadata', model: request.name } : EVERY_MODEL),
          (request) => this.#deps.statistics(request.name || undefined, request.version || undefined),
        ),
      ),
      ModelInfer: unary(
        guarded(inferTarget, async (request: GrpcInferRequest, call, admission) => {
          const cancel = cancellation(call);
          try {
            return await grpcInfer(this.#deps, request, call.metadata, call.getDeadline(), cancel.signal, admission);
          } finally {
            cancel.answered();
          }
        }),
      ),
      ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequest, object>) => this.#stream(call),
      RepositoryIndex: admin((request: { ready: boolean }) => ({ models: this.#deps.repository.index().filter((m) => !request.ready || m.state === 'READY').map((m) => ({ version: '', reason: '', ...m })) })),
      RepositoryModelLoad: admin(async (request: { model_name: string }) => (await this.#deps.repository.load(request.model_name), {})),
      RepositoryModelUnload: admin(async (request: { model_name: string }) => (await this.#deps.repository.unload(request.model_name), {})),
    };
  }

  /**
   * ModelStreamInfer: each request runs as it arrives; the answers go back in the order the requests came, each
   * with its error (the stream itself stays open after a failed request, as Triton's does).
   */
  #stream(call: ServerDuplexStream<GrpcInferRequest, object>): void {
    let previous: Promise<void> = Promise.resolve();
    const { signal } = cancellation(call);
    const credentials = credentialsOf(call);
    call.on('data', (request: GrpcInferRequest) => {
      // Each request of the stream is admitted as a call of its own would be (its model, the caller's rate).
      const answered = Promise.resolve()
        .then(() => this.#deps.gate.admit(credentials, inferTarget(request)))
        .then((admission) => grpcInfer(this.#deps, request, call.metadata, call.getDeadline(), signal, admission))
        .then(
        (infer_response) => ({ error_message: '', infer_response }),
        (err: unknown) => ({ error_message: asInfergateError(err).message }),
      );
      previous = previous.then(async () => {
        const message = await answered;
        if (!call.cancelled) call.write(message);
      });
    });
    let ended!: () => void;
    void this.#track(new Promise<void>((resolve) => (ended = resolve)));
    call.on('end', () => void previous.then(() => call.end()).finally(ended));
    call.on('cancelled', () => ended());
  }

  /** A catalogued error as a gRPC status, its code in the trailing metadata; anything else is INTERNAL (and logged). */
  #grpcError(err: unknown): { code: status; details: string; metadata: Metadata } {
    const error = err instanceof InfergateError ? err : asInfergateError(err);
    if (error.code === 'GW_ERR_INTERNAL') this.#deps.logger.error({ err }, 'internal error in a gRPC call');
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA, error.code);
    if (error.retryAfterSeconds !== undefined) metadata.set('retry-after', String(error.retryAfterSeconds));
    return { code: grpcStatusOf(error.kind), details: error.message, metadata };
  }
}

const ADMIN: AccessTarget = { operation: 'admin' };
const SERVER_METADATA: AccessTarget = { operation: 'metadata' };
const EVERY_MODEL: AccessTarget = { operation: 'metadata', everyModel: true };

function inferTarget(request: GrpcInferRequest): AccessTarget {
  return { operation: 'infer', model: request.model_name };
}

/** A call's credentials: its metadata's authorization or x-api-key, and the peer's address. */
function credentialsOf(call: { metadata: Metadata; getPeer(): string }): Credentials {
  const text = (key: string) => {
    const [value] = call.metadata.get(key);
    return typeof value === 'string' ? value : undefined;
  };
  return { authorization: text('authorization'), apiKey: text('x-api-key'), remoteAddress: peerAddress(call.getPeer()) };
}

/**
 * A signal that aborts when the client cancels the call (or its deadline passes on the client's side) before it is
 * answered. grpc-js reports every call's stream closing as "cancelled", answered or not: after `answered`, it is
 * ignored (an abort per call would cost an AbortError's stack each time).
 */
function cancellation(call: { on(event: 'cancelled', listener: () => void): unknown; cancelled: boolean }): { signal: AbortSignal; answered(): void } {
  const controller = new AbortController();
  let answered = false;
  if (call.cancelled) controller.abort();
  else call.on('cancelled', () => answered || controller.abort());
  return { signal: controller.signal, answered: () => void (answered = true) };
}

/** The peer's address from grpc-js's "ipv4:127.0.0.1:5000" / "ipv6:[::1]:5000" / "127.0.0.1:5000". */
export function peerAddress(peer: string): string | undefined {
  const bare = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]:\d+$/.exec(bare);
  if (bracketed) return bracketed[1];
  const plain = /^([^:]+):\d+$/.exec(bare);
  return plain ? plain[1] : undefined;
}
