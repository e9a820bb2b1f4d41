import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CATALOG, ERROR_CODES, InfergateError, asInfergateError, errorBody } from '../../common/errors.ts';
import { httpStatusOf, httpStatusOfKind } from '../../common/http-status.ts';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

t.test('every error code is documented in docs/errors.md with its kind and status', async (t) => {
  for (const code of ERROR_CODES) {
    const row = docs.split('\n').find((line) => line.includes(`\`${code}\``));
    t.ok(row, `${code} is documented`);
    const { kind } = ERROR_CATALOG[code];
    const status = httpStatusOfKind(kind);
    t.match(row ?? '', new RegExp(`\\|\\s*${kind}\\s*\\|\\s*${status}\\s*\\|`), `${code} row states kind ${kind} and HTTP ${status}`);
  }
});

t.test('docs/errors.md documents no code the catalog lacks', async (t) => {
  const documented = [...docs.matchAll(/`(GW_ERR_[A-Z_]+)`/g)].map((m) => m[1]!);
  for (const code of documented) t.ok(Object.hasOwn(ERROR_CATALOG, code), `${code} exists in the catalog`);
});

t.test('errors cross process boundaries as {code, message}', async (t) => {
  const original = new InfergateError('GW_ERR_MODEL_EXECUTION', 'Gather: index 5000 out of range');
  const received = InfergateError.fromWire(JSON.parse(JSON.stringify(original.toWire())));
  t.equal(received.code, 'GW_ERR_MODEL_EXECUTION');
  t.equal(httpStatusOf(received), 400);
  t.equal(received.message, original.message);
  t.equal(InfergateError.fromWire({ code: 'NOPE', message: 'x' }).code, 'GW_ERR_INTERNAL');
  t.equal(InfergateError.fromWire(null).code, 'GW_ERR_INTERNAL');
  t.equal(asInfergateError(new Error('boom')).code, 'GW_ERR_INTERNAL');
  t.equal(asInfergateError(original), original);
  t.same(errorBody(original), { error: original.message, code: 'GW_ERR_MODEL_EXECUTION' });
});
