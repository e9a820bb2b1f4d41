// Size limits of one infer request, judged from the inputs' shapes alone,
// after the shapes were validated and before a single value is converted:
// a huge but valid body is refused without costing any conversion, and JSON
// and binary inputs are held to the same limits.
//
//   per input   Π dims, each 0 counted as 1  ≤ maxElements   [16777216,0,8] holds 0 elements
//                                                             but would make a model emit 2^27
//               dim along its batch axis     ≤ maxRows        (inputs named in batchAxes only)
//   request     Σ Π dims over all inputs     ≤ maxElements
//
// Every breach is GW_ERR_REQUEST_TOO_LARGE (413), naming the limits.* setting.

import { InfergateError } from '../errors.ts';

export type RequestLimits = {
  /** Most tensor elements one request may carry over all its inputs (limits.maxElementsPerRequest). */
  maxElements: number;
  /** Most rows along an input's batch axis (limits.maxRowsPerRequest); absent: no row limit. */
  maxRows?: number;
  /** Input name → its batch axis; inputs not listed are not row-limited. */
  batchAxes?: ReadonlyMap<string, number>;
};

export type ShapedInput = { readonly name: string; readonly shape: readonly number[] };

/** Throws GW_ERR_REQUEST_TOO_LARGE at the first input (in the order given) or total over a limit. */
export function checkRequestLimits(inputs: readonly ShapedInput[], limits: RequestLimits): void {
  const { maxElements, maxRows, batchAxes } = limits;
  let total = 0;
  for (const { name, shape } of inputs) {
    let span = 1;
    let count = 1;
    for (const dim of shape) {
      span *= dim || 1;
      count *= dim;
    }
    if (span > maxElements) {
      throw tooLarge(`input "${name}" has shape [${shape.join(',')}], whose dims multiply to ${span} counting each 0 as 1, over limits.maxElementsPerRequest (${maxElements})`);
    }
    const axis = batchAxes?.get(name);
    if (maxRows !== undefined && axis !== undefined && (shape[axis] ?? 0) > maxRows) {
      throw tooLarge(`input "${name}" has ${shape[axis]} rows along axis ${axis} (shape [${shape.join(',')}]), over limits.maxRowsPerRequest (${maxRows})`);
    }
    total += count;
  }
  if (total > maxElements) {
    throw tooLarge(`the inputs hold ${total} elements, over limits.maxElementsPerRequest (${maxElements})`);
  }
}

function tooLarge(detail: string): InfergateError {
  return new InfergateError('GW_ERR_REQUEST_TOO_LARGE', detail);
}
