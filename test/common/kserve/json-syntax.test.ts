// The resumable JSON syntax checker accepts exactly what JSON.parse accepts,
// whatever the step sizes, and reports keys and value spans of the first
// levels; plus the helpers of the sliced decoder that must agree with
// JSON.parse (numbers, long strings).

import fc from 'fast-check';
import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { parseSimpleNumbers } from '../../../common/kserve/json-numbers.ts';
import { JsonStringWriter } from '../../../common/kserve/json-string-bytes.ts';
import { JsonSyntaxScanner, type JsonSyntaxHooks } from '../../../common/kserve/json-syntax.ts';

const noHooks: JsonSyntaxHooks = { valueStart: () => {}, valueEnd: () => {}, key: () => {} };

/**
 * true when the scanner accepts `bytes` read in steps of the given sizes
 * (cycled). Hook depth 0 puts every array but the root on the fast path for
 * numbers; 3 is what the decoder uses.
 */
function scans(bytes: Uint8Array, steps: readonly number[], hooks = noHooks, hookDepth = 3): boolean {
  const scanner = new JsonSyntaxScanner(bytes, 0, bytes.byteLength, hooks, hookDepth);
  try {
    for (let i = 0; !scanner.step(steps[i % steps.length]!); i++);
    return true;
  } catch (err) {
    if (err instanceof InfergateError && err.code === 'GW_ERR_MALFORMED_JSON') return false;
    throw err;
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

const steps = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 });

t.test('accepts exactly what JSON.parse accepts', async (t) => {
  const table = [
    '0', '-0', '1.5e-3', '1E+2', '-', '01', '1.', '.5', '1e', '1e+', '+1', '0x1', 'Infinity', 'NaN',
    'true', 'tru', 'truex', 'null', 'nul', ' false ', '"a"', '"\\u00e9\\ud83d"', '"\\u00G0"', '"\\x"', '"a\tb"', '"\u007f"',
    '[]', '[1,]', '[,1]', '[1 2]', '{}', '{"a":1}', '{"a":1,}', '{"a" 1}', '{a:1}', '{"a":}', '{"a":1 "b":2}', '[{"a":[{}]}]',
    '[1]]', '[[1]', '{"a":[1}', '', ' ', '1 2', '"\\"', '"\\\\"', '[-]', '[0e0]', '[1e999]', '[-0.0E-0]',
  ];
  for (const text of table) {
    t.equal(scans(Buffer.from(text), [1]), parses(text), JSON.stringify(text));
    for (const wrapped of [`[0,${text}]`, `[[1, ${text},2]]`, `[[1,2,${text}]]`]) {
      for (const step of [1, 3, 1000]) t.equal(scans(Buffer.from(wrapped), [step], noHooks, 0), parses(wrapped), `${JSON.stringify(wrapped)}, fast path, steps of ${step}`);
    }
  }
  const deep = Buffer.from('['.repeat(1_000_000) + ']'.repeat(1_000_000));
  t.ok(scans(deep, [65536]), 'a million levels, without a call stack');
  t.notOk(scans(Buffer.from('['.repeat(1_000_000) + ']'.repeat(999_999) + '}'), [65536]), 'a million levels, closed wrong');
});

t.test('agrees with JSON.parse on generated texts, in any step sizes (fast-check)', async (t) => {
  await fc.assert(
    fc.property(fc.json(), steps, (text, sizes) => scans(Buffer.from(text), sizes) && scans(Buffer.from(text), sizes, noHooks, 0)),
    { numRuns: 500 },
  );
  const token = fc.constantFrom('{', '}', '[', ']', '"', ':', ',', '\\', '"a"', '"\\u12', 'u', '0', '1', '-', '.', 'e', '+', 'true', 'nul', ' ', '\n', 'x', ',1', ',-0.5e+3', ', 12', ',0', '9');
  await fc.assert(
    fc.property(fc.array(token, { maxLength: 30 }), steps, (tokens, sizes) => {
      const text = tokens.join('');
      const expected = parses(text);
      return scans(Buffer.from(text), sizes) === expected && scans(Buffer.from(text), sizes, noHooks, 0) === expected;
    }),
    { numRuns: 3000 },
  );
  await fc.assert(
    fc.property(fc.json(), fc.nat(), fc.constantFrom(...'{}[]":,\\0-.e+ tx'), steps, (text, at, c, sizes) => {
      const changed = text.length === 0 ? c : text.slice(0, at % text.length) + c + text.slice((at % text.length) + 1);
      const expected = parses(changed);
      return scans(Buffer.from(changed), sizes) === expected && scans(Buffer.from(changed), sizes, noHooks, 0) === expected;
    }),
    { numRuns: 2000 },
  );
  t.pass('fast-check properties hold');
});

t.test('hooks report keys and value spans down to the hook depth', async (t) => {
  const text = '{"a": [1, {"b": "x"}], "c": {"d": {"e": {"f": 1}}}}';
  const events: string[] = [];
  const hooks: JsonSyntaxHooks = {
    valueStart: (depth, pos) => void events.push(`start ${depth} ${text[pos]}`),
    valueEnd: (depth, end) => void events.push(`end ${depth} ${text.slice(0, end).slice(-1)}`),
    key: (depth, start, end) => void events.push(`key ${depth} ${text.slice(start, end)}`),
  };
  t.ok(scans(Buffer.from(text), [3], hooks));
  t.same(events, [
    'start 0 {', 'key 1 "a"', 'start 1 [', 'start 2 1', 'end 2 1', 'start 2 {', 'key 3 "b"', 'start 3 "', 'end 3 "', 'end 2 }', 'end 1 ]',
    'key 1 "c"', 'start 1 {', 'key 2 "d"', 'start 2 {', 'key 3 "e"', 'start 3 {', 'end 3 }', 'end 2 }', 'end 1 }', 'end 0 }',
  ]);
});

t.test('the numbers fast path gives JSON.parse\'s doubles or declines (fast-check)', async (t) => {
  const out = new Float64Array(64);
  const one = (text: string): number | undefined => {
    const bytes = Buffer.from(`${text},`);
    const n = parseSimpleNumbers(bytes, 0, bytes.byteLength - 1, out);
    return n < 0 ? undefined : out[0];
  };
  const decimal = fc
    .tuple(fc.boolean(), fc.stringMatching(/^(0|[1-9][0-9]{0,17})$/), fc.option(fc.stringMatching(/^[0-9]{1,18}$/)), fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 }))))
    .map(([negative, int, fraction, exponent]) => `${negative ? '-' : ''}${int}${fraction !== null ? `.${fraction}` : ''}${exponent ? `${exponent[0]}${exponent[1]}${exponent[2]}` : ''}`);
  let fast = 0;
  await fc.assert(
    fc.property(fc.oneof(decimal, fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d))), (text) => {
      const value = one(text);
      if (value !== undefined) fast++;
      return value === undefined || Object.is(value, JSON.parse(text));
    }),
    { numRuns: 20_000 },
  );
  t.ok(fast > 2000, `${fast} of 20000 read by the fast path, the rest declined`);
  const run = Buffer.from('[[1.5, -0],[2e3 ,\n 0.001] ]');
  t.equal(parseSimpleNumbers(run, 0, run.byteLength, out), 4, 'a nested run');
  t.same([...out.subarray(0, 4)], [1.5, -0, 2000, 0.001]);
  t.ok(Object.is(out[1], -0), '-0 stays -0');
  for (const text of ['"1"', 'true', 'null', '{}', '1.0000000000000001', '1e23', '9007199254740993']) {
    const bytes = Buffer.from(`[1,${text}]`);
    t.equal(parseSimpleNumbers(bytes, 0, bytes.byteLength, out), -1, `declines ${text}`);
  }
});

t.test('a long string is unescaped to the UTF-8 that JSON.parse + Buffer.write give, in any steps (fast-check)', async (t) => {
  const unit = fc.oneof(fc.constantFrom('a', '"', '\\', '/', '\b', '\f', '\n', '\r', '\t', '\u0000', '\u001f', 'é', '€', '🙂', '\ud800', '\udfff', '\ud83d\ude00'), fc.string({ unit: 'binary', maxLength: 3 }));
  await fc.assert(
    fc.property(fc.array(unit, { maxLength: 60 }), fc.boolean(), steps, (units, escapeAll, sizes) => {
      const value = units.join('');
      let text = JSON.stringify(value);
      if (escapeAll) text = text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`).replace(/\//g, '\\/');
      const json = Buffer.from(text);
      const out = Buffer.alloc(json.byteLength + 8);
      const writer = new JsonStringWriter(json, 1, json.byteLength - 1, out, 2);
      for (let i = 0; !writer.step(sizes[i % sizes.length]!); i++);
      const expected = Buffer.alloc(json.byteLength * 3);
      const length = expected.write(JSON.parse(text) as string, 'utf8');
      return Buffer.compare(out.subarray(2, writer.offset), expected.subarray(0, length)) === 0;
    }),
    { numRuns: 3000 },
  );
  t.pass('3000 strings');
});
