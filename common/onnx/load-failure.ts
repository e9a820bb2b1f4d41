// onnxruntime's message when it cannot create a session → the operators it
// lacks and a one-line reason. Pure, table-tested (test/common/onnx/).
//
// onnxruntime stops at the first node it cannot place, so the list names one
// operator: the one to replace (or to get a newer onnxruntime for) first.
// Its messages, as onnxruntime-node 1.30 words them:
//
//   an op it has no schema for:   ... In Node, ("n", Foo, "", -1) : ... No Op registered for Foo with domain_version of 17
//   a schema but no CPU kernel:   Could not find an implementation for Relu(14) node with name 'relu_1'
//   an unknown domain's op:       Fatal error: com.example:Foo(-1) is not a registered function/op
//   an opset newer than it knows: <source>:46 void ...ValidateOpsetForDomain(...) ONNX Runtime only *guarantees* ...
//                                 Opset 30 is under development ... support for domain ai.onnx is till opset 26.

import type { OperatorUse } from './model-report.ts';

export type UnsupportedOperator = {
  /** null when the message does not say and the model has the op type in more than one domain. */
  domain: string | null;
  opType: string;
  /** The opset version the node resolved to; null when the message does not say. */
  opsetVersion: number | null;
  node: string | null;
};

export type LoadFailure = { reason: string; unsupportedOperators: UnsupportedOperator[] };

type Found = { operator: UnsupportedOperator; clause: string };

export const LOAD_FAILURE_PREFIX = 'onnxruntime cannot load it: ';

/**
 * Explains a session-creation failure. `runtimeVersion` names the onnxruntime in the reason; `operators` (the
 * model report's) gives the domain of an op type when the message does not.
 */
export function explainLoadFailure(error: unknown, runtimeVersion: string, operators: readonly OperatorUse[] = []): LoadFailure {
  const message = ortMessage(error);
  const found = unsupportedOperator(message, operators);
  if (found) {
    const { operator: unsupported, clause } = found;
    const where = [`${unsupported.domain ?? 'unknown domain'}${unsupported.opsetVersion === null ? '' : ` opset ${unsupported.opsetVersion}`}`];
    if (unsupported.node) where.push(`node ${JSON.stringify(unsupported.node)}`);
    return {
      reason: `${LOAD_FAILURE_PREFIX}operator ${unsupported.opType} (${where.join(', ')}) is not supported by onnxruntime-node ${runtimeVersion} (${clause})`,
      unsupportedOperators: [unsupported],
    };
  }
  const opset = /Opset (\d+) is under development.*?support for domain (\S+) is till opset (\d+)/.exec(message);
  if (opset) {
    return { reason: `${LOAD_FAILURE_PREFIX}opset ${opset[2]} ${opset[1]} is newer than onnxruntime-node ${runtimeVersion} supports (up to ${opset[3]})`, unsupportedOperators: [] };
  }
  return { reason: `${LOAD_FAILURE_PREFIX}${message}`, unsupportedOperators: [] };
}

/** The operator a message names, and the clause of the message that says so. */
function unsupportedOperator(message: string, operators: readonly OperatorUse[]): Found | null {
  const noKernel = /Could not find an implementation for (\S+)\((\d+)\) node with name '([^']*)'/.exec(message);
  if (noKernel) {
    const opType = noKernel[1]!;
    return { operator: { domain: domainOf(opType, operators), opType, opsetVersion: Number(noKernel[2]), node: noKernel[3]! }, clause: noKernel[0] };
  }
  const noSchema = /No Op registered for (\S+) with domain_version of (\d+)/.exec(message);
  if (noSchema) {
    const opType = noSchema[1]!;
    // The node as onnxruntime prints it: ("name", OpType, "domain", -1).
    const node = /In Node, \("([^"]*)", (\S+), "([^"]*)"/.exec(message);
    const domain = node && node[2] === opType ? node[3] || 'ai.onnx' : domainOf(opType, operators);
    return { operator: { domain, opType, opsetVersion: Number(noSchema[2]), node: node ? node[1]! : null }, clause: noSchema[0] };
  }
  const noFunction = /([\w.]*):(\S+?)\((-?\d+)\) is not a registered function\/op/.exec(message);
  if (noFunction) {
    const version = Number(noFunction[3]);
    return { operator: { domain: noFunction[1] || 'ai.onnx', opType: noFunction[2]!, opsetVersion: version >= 0 ? version : null, node: null }, clause: noFunction[0] };
  }
  return null;
}

/** The op type's domain in the model, when only one domain has it. */
function domainOf(opType: string, operators: readonly OperatorUse[]): string | null {
  const domains = new Set(operators.filter((o) => o.opType === opType).map((o) => o.domain));
  return domains.size === 1 ? [...domains][0]! : domains.size === 0 ? 'ai.onnx' : null;
}

/**
 * An error's message on one line, without what onnxruntime puts before some: the file it was loading ("Load model
 * from /p/model.onnx failed:", which the caller's reason names already), or a C++ source location and function
 * signature ("/onnxruntime_src/….h:46 void onnxruntime::…(…) ONNX Runtime only …").
 */
export function ortMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message
    .replace(/\s*\n\s*/g, ' ')
    .replace(/^Load model from .*? failed:\s*/, '')
    .replace(/^\S+\.(?:h|hpp|cc|cpp):\d+\s[^]*?\)\s+(?=[A-Z])/, '')
    .trim();
}
