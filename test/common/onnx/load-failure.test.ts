import t from 'tap';
import { explainLoadFailure, ortMessage } from '../../../common/onnx/load-failure.ts';
import type { OperatorUse } from '../../../common/onnx/model-report.ts';

// onnxruntime-node 1.30's messages, as it throws them from InferenceSession.create.
const NO_SCHEMA =
  'Load model from /m/model.onnx failed:This is an invalid model. In Node, ("NoSuchOp_y", NoSuchOp, "", -1) : ("x": tensor(float),) -> ("y": tensor(float),) , Error No Op registered for NoSuchOp with domain_version of 17';
const NO_KERNEL = "Could not find an implementation for Relu(14) node with name 'Relu_y'";
const NO_FUNCTION = 'Fatal error: com.example:Foo(-1) is not a registered function/op';
const NEW_OPSET =
  "/onnxruntime_src/onnxruntime/core/graph/model_load_utils.h:46 void onnxruntime::model_load_utils::ValidateOpsetForDomain(const std::unordered_map<std::__cxx11::basic_string<char>, int>&, const onnxruntime::logging::Logger&, bool, const std::string&, int) ONNX Runtime only *guarantees* support for models stamped with official released onnx opset versions. Opset 30 is under development and support for this is limited. Current official support for domain ai.onnx is till opset 26.\n";
const PROTOBUF = 'Load model from /m/model.onnx failed:Protobuf parsing failed.';
const TYPE_ERROR = "This is an invalid model. Type Error: Type 'tensor(uint8)' of input parameter (a) of operator (Neg) in node (Neg_y) is invalid.";

t.test('onnxruntime messages → the unsupported operator and a one-line reason', async (t) => {
  const relu: OperatorUse[] = [{ domain: 'ai.onnx', opType: 'Relu', count: 2 }];
  const rows: Array<{ message: string; operators?: OperatorUse[]; reason: string; unsupported: unknown[] }> = [
    {
      message: NO_SCHEMA,
      reason: 'onnxruntime cannot load it: operator NoSuchOp (ai.onnx opset 17, node "NoSuchOp_y") is not supported by onnxruntime-node 1.30.0 (No Op registered for NoSuchOp with domain_version of 17)',
      unsupported: [{ domain: 'ai.onnx', opType: 'NoSuchOp', opsetVersion: 17, node: 'NoSuchOp_y' }],
    },
    {
      message: NO_KERNEL,
      operators: relu,
      reason: "onnxruntime cannot load it: operator Relu (ai.onnx opset 14, node \"Relu_y\") is not supported by onnxruntime-node 1.30.0 (Could not find an implementation for Relu(14) node with name 'Relu_y')",
      unsupported: [{ domain: 'ai.onnx', opType: 'Relu', opsetVersion: 14, node: 'Relu_y' }],
    },
    {
      message: NO_KERNEL,
      operators: [...relu, { domain: 'com.example', opType: 'Relu', count: 1 }],
      reason: "onnxruntime cannot load it: operator Relu (unknown domain opset 14, node \"Relu_y\") is not supported by onnxruntime-node 1.30.0 (Could not find an implementation for Relu(14) node with name 'Relu_y')",
      unsupported: [{ domain: null, opType: 'Relu', opsetVersion: 14, node: 'Relu_y' }],
    },
    {
      message: NO_FUNCTION,
      reason: 'onnxruntime cannot load it: operator Foo (com.example) is not supported by onnxruntime-node 1.30.0 (com.example:Foo(-1) is not a registered function/op)',
      unsupported: [{ domain: 'com.example', opType: 'Foo', opsetVersion: null, node: null }],
    },
    { message: NEW_OPSET, reason: 'onnxruntime cannot load it: opset ai.onnx 30 is newer than onnxruntime-node 1.30.0 supports (up to 26)', unsupported: [] },
    { message: PROTOBUF, reason: 'onnxruntime cannot load it: Protobuf parsing failed.', unsupported: [] },
    { message: TYPE_ERROR, reason: `onnxruntime cannot load it: ${TYPE_ERROR}`, unsupported: [] },
  ];
  for (const { message, operators, reason, unsupported } of rows) {
    const failure = explainLoadFailure(new Error(message), '1.30.0', operators);
    t.equal(failure.reason, reason, message.slice(0, 60));
    t.same(failure.unsupportedOperators, unsupported);
  }
});

t.test('a message loses its newlines and the C++ location before it', async (t) => {
  t.equal(ortMessage(new Error('first\n  second\n')), 'first second');
  t.match(ortMessage(new Error(NEW_OPSET)), /^ONNX Runtime only \*guarantees\*/);
  t.equal(ortMessage('a string thrown'), 'a string thrown');
});
