// KServe v2 ModelInfer messages as bytes, from the gateway's own .proto
// (gateway/grpc/protos), loaded at run time by @grpc/proto-loader as any
// client would. The load generator sends pre-encoded request bytes and does
// not decode answers (identity serializers, grpc-channels.ts), as autocannon
// sends prebuilt HTTP bodies and only counts answer bytes: protobuf work in
// the generator would otherwise weigh on the gRPC runs alone.

import { join } from 'node:path';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';

const PROTOS = join(import.meta.dirname, '..', '..', 'gateway', 'grpc', 'protos');

/** A ModelInferRequest with raw inputs: one little-endian byte buffer per input, in input order. */
export type RawInferRequest = {
  model_name: string;
  model_version?: string;
  inputs: Array<{ name: string; datatype: string; shape: number[] }>;
  raw_input_contents: Uint8Array[];
};

/** The fields of a decoded ModelInferResponse a check looks at. */
export type DecodedInferResponse = {
  model_name: string;
  model_version: string;
  outputs: Array<{ name: string; datatype: string; shape: string[] }>;
  raw_output_contents: Uint8Array[];
};

type ModelInfer = MethodDefinition<object, object, object, object>;
let modelInfer: ModelInfer | undefined;

/** The ModelInfer method of inference.GRPCInferenceService, loaded once (field names as the .proto spells them). */
function method(): ModelInfer {
  if (!modelInfer) {
    const definition = loadSync('grpc_service.proto', { includeDirs: [PROTOS], keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    modelInfer = (definition['inference.GRPCInferenceService'] as unknown as Record<string, ModelInfer>).ModelInfer!;
  }
  return modelInfer;
}

/** "/inference.GRPCInferenceService/ModelInfer": the HTTP/2 path every ModelInfer call goes to. */
export function modelInferPath(): string {
  return method().path;
}

export function encodeInferRequest(request: RawInferRequest): Buffer {
  return method().requestSerialize(request);
}

export function decodeInferResponse(bytes: Buffer): DecodedInferResponse {
  return method().responseDeserialize(bytes) as DecodedInferResponse;
}
