import { decodeInferRequestSliced } from '../common/kserve/decode-request.ts';
import { TimeSlicer } from '../common/time-slice.ts';
const rows = 234000;
const row = `[${Array.from({ length: 64 }, (_, i) => ((i % 7) / 7).toFixed(1)).join(',')}]`;
const body = Buffer.from(`{"inputs":[{"name":"input","datatype":"FP32","shape":[${rows},64],"data":[${new Array(rows).fill(row).join(',')}]}]}`);
const sig = { name: 'c', version: '1', fingerprint: 'x', inputs: [{ name: 'input', datatype: 'FP32' as const, shape: [-1, 64] }], outputs: [{ name: 'p', datatype: 'FP32' as const, shape: [-1, 10] }] };
for (let i = 0; i < 4; i++) { const t0 = performance.now(); await decodeInferRequestSliced(body, sig, { maxRows: 1e6 }, new TimeSlicer()); console.log('ms', (performance.now() - t0).toFixed(0)); }
