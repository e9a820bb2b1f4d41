// gRPC infer messages as the shared request shape, and answers as
// ModelInferResponse: raw and typed inputs, BYTES, 64-bit integers, the
// choice of raw or typed outputs, and the refusals that are gRPC's own.

import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import type { ModelSignature } from '../../../common/wire.ts';
import { decodeGrpcInferRequest, grpcInferResponse, parameterValue, type GrpcInferRequest } from '../../../gateway/grpc/grpc-tensors.ts';
import { peerAddress } from '../../../gateway/grpc/grpc-front.ts';
import { grpcStatusOf } from '../../../gateway/grpc/grpc-status.ts';
import { status } from '@grpc/grpc-js';

const signature: ModelSignature = {
  name: 'm',
  version: '1',
  fingerprint: 'f',
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 2] },
    { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
    { name: 's', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }],
};

const message = (overrides: Partial<GrpcInferRequest>): GrpcInferRequest => ({ model_name: 'm', model_version: '', id: '', parameters: {}, inputs: [], outputs: [], raw_input_contents: [], ...overrides });
const input = (name: string, datatype: string, shape: number[], contents: GrpcInferRequest['inputs'][number]['contents'] = null) => ({ name, datatype, shape, parameters: {}, contents });

t.test('typed contents: numbers, 64-bit integers as strings, BYTES elements', async (t) => {
  const decoded = decodeGrpcInferRequest(
    message({
      id: 'a',
      inputs: [
        input('x', 'FP32', [1, 2], { fp32_contents: [1.5, -2] }),
        input('ids', 'INT64', [1, 2], { int64_contents: ['9007199254740993', 7] }),
        input('s', 'BYTES', [2], { bytes_contents: [Buffer.from('hi'), Buffer.from('')] }),
      ],
    }),
    signature,
    {},
  );
  t.equal(decoded.id, 'a');
  t.same([...new Float32Array(decoded.tensors[0]!.data.slice().buffer)], [1.5, -2]);
  t.same([...new BigInt64Array(decoded.tensors[1]!.data.slice().buffer)].map(String)[1], '7');
  t.same(Buffer.from(decoded.tensors[2]!.data), Buffer.from([2, 0, 0, 0, 0x68, 0x69, 0, 0, 0, 0]), 'BYTES in the length-prefixed layout');
  t.equal(decoded.rawOutputs, false, 'typed in: typed out');
});

t.test('raw contents: one entry per input, in order; raw out', async (t) => {
  const x = Buffer.from(new Float32Array([1, 2]).buffer);
  const ids = Buffer.from(new BigInt64Array([1n, 2n]).buffer);
  const s = Buffer.from([1, 0, 0, 0, 0x41]);
  const decoded = decodeGrpcInferRequest(message({ inputs: [input('x', 'FP32', [1, 2]), input('ids', 'INT64', [1, 2]), input('s', 'BYTES', [1])], raw_input_contents: [x, ids, s] }), signature, {});
  t.same(decoded.tensors.map((tensor) => Buffer.from(tensor.data)), [x, ids, s]);
  t.equal(decoded.rawOutputs, true);
});

t.test('refusals', async (t) => {
  const refuses = (m: GrpcInferRequest, code: string, pattern: RegExp) => {
    try {
      decodeGrpcInferRequest(m, signature, {});
      t.fail(`accepted, not ${code}`);
    } catch (err) {
      t.ok(err instanceof InfergateError && err.code === code && pattern.test(err.message), `${code} ${pattern}: ${(err as Error).message}`);
    }
  };
  const ids = input('ids', 'INT64', [1, 2], { int64_contents: ['1', '2'] });
  const s = input('s', 'BYTES', [1], { bytes_contents: [Buffer.from('a')] });
  refuses(message({ inputs: [input('x', 'FP32', [1, 2]), ids, s] }), 'GW_ERR_ELEMENT_COUNT', /0 data elements/);
  refuses(message({ inputs: [input('x', 'FP32', [1, 2], { fp32_contents: [1, 2] })] }), 'GW_ERR_MISSING_INPUT', /needs input "ids"/);
  refuses(message({ inputs: [input('x', 'FP32', [1, 2]), input('ids', 'INT64', [1, 2])], raw_input_contents: [Buffer.alloc(8)] }), 'GW_ERR_INVALID_REQUEST', /one per input/);
  refuses(message({ inputs: [input('x', 'FP32', [1, 2], { fp32_contents: [1, 2] })], raw_input_contents: [Buffer.alloc(8)] }), 'GW_ERR_INVALID_REQUEST', /one or the other/);
  refuses(message({ inputs: [input('x', 'FP32', [1, 2], { fp64_contents: [1, 2] })] }), 'GW_ERR_INVALID_REQUEST', /contents\.fp32_contents, not contents\.fp64_contents/);
  refuses(message({ inputs: [input('x', 'FP16', [1, 2], { fp32_contents: [1, 2] })] }), 'GW_ERR_INVALID_REQUEST', /raw_input_contents/);
  refuses(message({ inputs: [input('x', 'FLOAT', [1, 2], { fp32_contents: [1, 2] })] }), 'GW_ERR_UNKNOWN_DATATYPE', /FLOAT/);
});

t.test('answers: raw bytes, or typed values by datatype (64-bit integers exact, as strings)', async (t) => {
  const tensors = [
    { name: 'y', datatype: 'FP32' as const, shape: [1, 2], data: new Uint8Array(new Float32Array([0.25, 3]).buffer) },
    { name: 'n', datatype: 'INT64' as const, shape: [1], data: new Uint8Array(new BigInt64Array([2n ** 60n + 1n]).buffer) },
    { name: 'b', datatype: 'BOOL' as const, shape: [2], data: Uint8Array.from([1, 0]) },
    { name: 't', datatype: 'BYTES' as const, shape: [1], data: Uint8Array.from([2, 0, 0, 0, 0x6f, 0x6b]) },
  ];
  const answer = { model: 'm', version: '1', tensors };
  const raw = grpcInferResponse(answer, 'id-1', true);
  t.same(raw.raw_output_contents, tensors.map((x) => x.data));
  t.same(raw.outputs[0], { name: 'y', datatype: 'FP32', shape: [1, 2] });
  t.equal(raw.id, 'id-1');
  const typed = grpcInferResponse(answer, undefined, false);
  t.same(typed.raw_output_contents, []);
  t.same(typed.outputs.map((o) => o.contents), [{ fp32_contents: [0.25, 3] }, { int64_contents: [String(2n ** 60n + 1n)] }, { bool_contents: [true, false] }, { bytes_contents: [Buffer.from('ok')] }]);
});

t.test('parameters, peers and statuses', async (t) => {
  t.equal(parameterValue({ parameter_choice: 'bool_param', bool_param: true }), true);
  t.equal(parameterValue({ parameter_choice: 'int64_param', int64_param: 7 }), 7);
  t.equal(parameterValue({}), undefined);
  t.equal(peerAddress('ipv4:127.0.0.1:5000'), '127.0.0.1');
  t.equal(peerAddress('ipv6:[::1]:5000'), '::1');
  t.equal(peerAddress('unix:/tmp/s'), undefined);
  t.equal(grpcStatusOf('overloaded'), status.RESOURCE_EXHAUSTED);
  t.equal(grpcStatusOf('deadline_exceeded'), status.DEADLINE_EXCEEDED);
  t.equal(grpcStatusOf('unavailable'), status.UNAVAILABLE);
});
