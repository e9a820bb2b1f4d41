// Forming a batch from requests and handing each request its own rows back:
// row counts, group keys, and concatenation/splitting of raw little-endian
// tensor bytes along each tensor's batch axis.
//
// Any axis works the same way: view the shape as [outer, axisLen, inner]
// (outer = product of the dims before the axis, inner = of the dims after it).
// For each outer index, one request's rows are one contiguous run of
// rows × inner elements, so concatenation interleaves runs:
//
//   axis 1, A = [2, 1, 3], B = [2, 2, 3]      merged = [2, 3, 3]
//   A: a0 │ a1                                merged: a0 b0 │ a1 b1
//   B: b0 │ b1          (aₒ, bₒ = runs of one outer index, 3 and 6 elements)
//
// Each run is copied with one Uint8Array.set of a subarray into one
// preallocated buffer: no per-element work for fixed-width types. Along axis 0
// (outer = 1) each request is a single run.
//
// BYTES elements are a u32 LE length followed by that many bytes, so element
// boundaries are found by walking the length prefixes once per tensor (an
// offset table); runs are then copied the same way. Along axis 0 concatenation
// needs no walk at all, since elements are self-delimiting.
//
// Split results along a leading axis (outer = 1) are views into the merged
// tensor's bytes, not copies: they live as long as the merged buffer (a
// response frame) and must not be written to. Along any other axis each
// request's rows are scattered over `outer` runs, so they are copied into a
// new buffer per request and tensor.

import { datatypeByKServe, elementCount } from '../../common/datatypes.ts';
import type { Tensor } from '../../common/wire.ts';
import type { BatchAxes } from './batch-axes.ts';

/**
 * A request's rows: its inputs' size along their batch axes, which must be
 * equal. Undefined when they differ, an input has no batch axis, or there
 * are no inputs: such a request runs alone.
 */
export function requestRows(tensors: readonly Tensor[], axes: BatchAxes): number | undefined {
  let rows: number | undefined;
  for (const tensor of tensors) {
    const axis = axes.inputs.get(tensor.name);
    if (axis === undefined || axis >= tensor.shape.length) return undefined;
    const length = tensor.shape[axis]!;
    if (rows !== undefined && rows !== length) return undefined;
    rows = length;
  }
  return rows;
}

/**
 * A key that is equal for two requests of one model version iff they can
 * share a batch: the same input names in the same order, the same datatypes,
 * every dim but the batch axis equal, and the same outputs selection (in
 * order; absent stays distinct from an explicit list). Call it for requests
 * whose requestRows is defined; the batch axis appears as -1 in the key.
 */
export function groupKey(tensors: readonly Tensor[], axes: BatchAxes, outputs: readonly string[] | undefined): string {
  const inputs = tensors.map((tensor) => {
    const axis = axes.inputs.get(tensor.name);
    return [tensor.name, tensor.datatype, tensor.shape.map((dim, i) => (i === axis ? -1 : dim))];
  });
  // JSON of nested arrays of strings and numbers is injective, so keys collide only for equal inputs.
  return JSON.stringify([inputs, outputs ?? null]);
}

/**
 * Merges requests along each tensor's batch axis. `requests[i]` holds one
 * request's tensors, all requests in the same name order; the result is in
 * that order too. A batch of one is returned as it is, without a copy.
 * Throws when the requests disagree on names, datatypes or non-batch dims.
 */
export function concatAlongAxes(requests: readonly (readonly Tensor[])[], axes: ReadonlyMap<string, number>): Tensor[] {
  const first = requests[0];
  if (first === undefined) throw new Error('cannot concatenate an empty batch');
  if (requests.length === 1) return [...first];
  return first.map((tensor, j) => {
    const parts = requests.map((request, i) => {
      const part = request[j];
      if (part?.name !== tensor.name) throw new Error(`request ${i} has tensor ${JSON.stringify(part?.name)} where request 0 has ${JSON.stringify(tensor.name)}`);
      return part;
    });
    return concatTensor(parts, batchAxis(tensor, axes));
  });
}

function concatTensor(parts: readonly Tensor[], axis: number): Tensor {
  const first = parts[0]!;
  let axisLength = 0;
  let byteLength = 0;
  for (const part of parts) {
    if (part.datatype !== first.datatype || part.shape.length !== first.shape.length || part.shape.some((dim, i) => i !== axis && dim !== first.shape[i])) {
      throw new Error(`tensor ${JSON.stringify(first.name)}: ${part.datatype} ${JSON.stringify(part.shape)} cannot be batched with ${first.datatype} ${JSON.stringify(first.shape)} along axis ${axis}`);
    }
    axisLength += part.shape[axis]!;
    byteLength += part.data.byteLength;
  }
  const { outer, inner } = around(first.shape, axis);
  const data = new Uint8Array(byteLength);
  let offset = 0;
  if (outer === 1) {
    // One run per request: the bytes as they are (BYTES needs no walk here).
    for (const part of parts) {
      if (bytesPerElement(part) > 0) locate(part); // checks the byte length against the shape
      data.set(part.data, offset);
      offset += part.data.byteLength;
    }
  } else {
    const located = parts.map((part) => ({ data: part.data, at: locate(part), runElements: part.shape[axis]! * inner }));
    for (let o = 0; o < outer; o++) {
      for (const { data: source, at, runElements } of located) {
        const start = at(o * runElements);
        const end = at((o + 1) * runElements);
        data.set(source.subarray(start, end), offset);
        offset += end - start;
      }
    }
  }
  return { name: first.name, datatype: first.datatype, shape: withDim(first.shape, axis, axisLength), data };
}

/**
 * Splits merged outputs into each request's rows: `rowsPerRequest[i]` rows
 * for request i, in order along each tensor's batch axis; result[i] is
 * request i's outputs in `merged` order. Views along a leading axis, copies
 * otherwise (see the top of this file). With one request, `merged` is
 * returned as it is. Throws when an output's axis length is not the total
 * of `rowsPerRequest` (the model did not answer one row per input row).
 */
export function splitAlongAxes(merged: readonly Tensor[], rowsPerRequest: readonly number[], axes: ReadonlyMap<string, number>): Tensor[][] {
  if (rowsPerRequest.length === 1) return [[...merged]];
  if (!rowsPerRequest.every((rows) => Number.isSafeInteger(rows) && rows >= 0)) throw new Error(`invalid rows per request ${JSON.stringify(rowsPerRequest)}`);
  const totalRows = rowsPerRequest.reduce((sum, rows) => sum + rows, 0);
  const result: Tensor[][] = rowsPerRequest.map(() => []);
  for (const tensor of merged) {
    const axis = batchAxis(tensor, axes);
    const axisLength = tensor.shape[axis]!;
    if (axisLength !== totalRows) {
      throw new Error(`output ${JSON.stringify(tensor.name)} has ${axisLength} rows along axis ${axis} for a batch of ${totalRows} rows`);
    }
    const { outer, inner } = around(tensor.shape, axis);
    const at = locate(tensor);
    let row = 0;
    for (const [i, rows] of rowsPerRequest.entries()) {
      let data: Uint8Array;
      if (outer === 1) {
        data = tensor.data.subarray(at(row * inner), at((row + rows) * inner));
      } else {
        // Request i's run at outer index o: elements [(o·axisLength + row)·inner, (o·axisLength + row + rows)·inner).
        const runStart = (o: number) => at((o * axisLength + row) * inner);
        const runEnd = (o: number) => at((o * axisLength + row + rows) * inner);
        let byteLength = 0;
        for (let o = 0; o < outer; o++) byteLength += runEnd(o) - runStart(o);
        data = new Uint8Array(byteLength);
        let offset = 0;
        for (let o = 0; o < outer; o++) {
          const run = tensor.data.subarray(runStart(o), runEnd(o));
          data.set(run, offset);
          offset += run.byteLength;
        }
      }
      result[i]!.push({ name: tensor.name, datatype: tensor.datatype, shape: withDim(tensor.shape, axis, rows), data });
      row += rows;
    }
  }
  return result;
}

function batchAxis(tensor: Tensor, axes: ReadonlyMap<string, number>): number {
  const axis = axes.get(tensor.name);
  if (axis === undefined || axis >= tensor.shape.length) {
    throw new Error(`tensor ${JSON.stringify(tensor.name)} with shape ${JSON.stringify(tensor.shape)} has no batch axis ${axis ?? '(none configured)'}`);
  }
  return axis;
}

/** The [outer, axisLen, inner] view of a shape around `axis`. */
function around(shape: readonly number[], axis: number): { outer: number; inner: number } {
  return { outer: elementCount(shape.slice(0, axis)), inner: elementCount(shape.slice(axis + 1)) };
}

function withDim(shape: readonly number[], axis: number, length: number): number[] {
  const copy = [...shape];
  copy[axis] = length;
  return copy;
}

function bytesPerElement(tensor: Tensor): number {
  const info = datatypeByKServe(tensor.datatype);
  if (!info) throw new Error(`tensor ${JSON.stringify(tensor.name)} has unknown datatype ${JSON.stringify(tensor.datatype)}`);
  return info.bytesPerElement;
}

/**
 * Byte offset where element i of `tensor` starts (i = element count gives the
 * end), after checking that the bytes match the shape. Fixed width: i × width.
 * BYTES: an offset table built by one walk over the length prefixes.
 */
function locate(tensor: Tensor): (element: number) => number {
  const count = elementCount(tensor.shape);
  const width = bytesPerElement(tensor);
  const { data } = tensor;
  const where = `tensor ${JSON.stringify(tensor.name)} (${tensor.datatype} ${JSON.stringify(tensor.shape)})`;
  if (width > 0) {
    if (data.byteLength !== count * width) throw new Error(`${where} has ${data.byteLength} bytes, not ${count * width}`);
    return (element) => element * width;
  }
  const offsets = new Float64Array(count + 1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    offsets[i] = offset;
    if (offset + 4 > data.byteLength) throw new Error(`${where} ends inside the length prefix of element ${i}`);
    offset += 4 + view.getUint32(offset, true);
    if (offset > data.byteLength) throw new Error(`${where} ends inside element ${i}`);
  }
  offsets[count] = offset;
  if (offset !== data.byteLength) throw new Error(`${where} has ${data.byteLength - offset} bytes after its last element`);
  return (element) => offsets[element]!;
}
