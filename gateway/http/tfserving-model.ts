// Bodies of TF Serving's model status and metadata routes, in the JSON TF
// Serving prints from its GetModelStatusResponse and GetModelMetadataResponse
// protos (field names as in the protos, int64 values as strings). Pure.
//
// Version states, from the registry's (the KServe repository extension's
// names) to TF Serving's ModelVersionStatus.State:
//
//   READY        AVAILABLE   a ready replica runs it
//   LOADING      LOADING     no replica has it yet (TF Serving's START, a version it has only heard of, has no
//                            counterpart: the gateway knows a version from its repository scan and loads it at once)
//   UNLOADING    UNLOADING   it takes no new request and goes once its running requests end
//   UNAVAILABLE  END         its load failed (or its file is gone): TF Serving ends a version whose load failed,
//                            with the error in `status`; here FAILED_PRECONDITION (GW_ERR_MODEL_UNAVAILABLE's kind)
//                            and the registry's reason

import type { KServeDatatype } from '../../common/datatypes.ts';
import type { TensorSpec } from '../../common/wire.ts';
import type { ResolvedModel, VersionState, VersionStatus } from '../models/registry.ts';
import { SERVING_SIGNATURE } from './tfserving-request.ts';

/** The method of a predict signature (the only kind an ONNX model has). */
export const PREDICT_METHOD = 'tensorflow/serving/predict';

/** TensorFlow's DataType names for the KServe datatypes (BYTES is DT_STRING). */
export const TF_DTYPES: Record<KServeDatatype, string> = {
  BOOL: 'DT_BOOL',
  UINT8: 'DT_UINT8',
  UINT16: 'DT_UINT16',
  UINT32: 'DT_UINT32',
  UINT64: 'DT_UINT64',
  INT8: 'DT_INT8',
  INT16: 'DT_INT16',
  INT32: 'DT_INT32',
  INT64: 'DT_INT64',
  FP16: 'DT_HALF',
  FP32: 'DT_FLOAT',
  FP64: 'DT_DOUBLE',
  BYTES: 'DT_STRING',
};

const TF_STATES: Record<VersionState, string> = { READY: 'AVAILABLE', LOADING: 'LOADING', UNLOADING: 'UNLOADING', UNAVAILABLE: 'END' };

export type TfVersionStatus = { version: string; state: string; status: { error_code: string; error_message: string } };

/** GET /v1/models/{m}[/versions/{v}|/labels/{l}]: the versions asked about, each with its state. */
export function modelStatusBody(versions: readonly VersionStatus[]): { model_version_status: TfVersionStatus[] } {
  return {
    model_version_status: versions.map((v) => ({
      version: v.version,
      state: TF_STATES[v.state],
      status: v.state === 'UNAVAILABLE' ? { error_code: 'FAILED_PRECONDITION', error_message: v.reason ?? '' } : { error_code: 'OK', error_message: '' },
    })),
  };
}

type TensorInfo = { dtype: string; tensor_shape: { dim: Array<{ size: string; name: string }>; unknown_rank: boolean }; name: string };

/** GET …/metadata: the model spec and its one signature_def, from the ONNX signature (dynamic dims are -1, as TensorFlow's). */
export function modelMetadataBody(model: ResolvedModel): object {
  const { signature } = model;
  return {
    model_spec: { name: model.name, signature_name: '', version: model.version },
    metadata: {
      signature_def: {
        signature_def: {
          [SERVING_SIGNATURE]: { inputs: tensorInfos(signature.inputs), outputs: tensorInfos(signature.outputs), method_name: PREDICT_METHOD },
        },
      },
    },
  };
}

function tensorInfos(specs: readonly TensorSpec[]): Record<string, TensorInfo> {
  // ONNX names its dims ("batch") only in the file; the signature keeps their sizes, so TensorFlow's dim names stay "".
  return Object.fromEntries(
    specs.map((spec) => [spec.name, { dtype: TF_DTYPES[spec.datatype], tensor_shape: { dim: spec.shape.map((size) => ({ size: String(size), name: '' })), unknown_rank: false }, name: spec.name }]),
  );
}
