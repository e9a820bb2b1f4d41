// A client's traceparent reaches workers, spans and logs only in its well-formed W3C shape.

import t from 'tap';
import { saneTraceparent } from '../../../gateway/telemetry/trace-context.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

const cases: Array<[string, string | string[] | undefined, string | undefined]> = [
  ['a well-formed version-00 header', `00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01`],
  ['unsampled', `00-${TRACE}-${PARENT}-00`, `00-${TRACE}-${PARENT}-00`],
  ['surrounding spaces', `  00-${TRACE}-${PARENT}-01 `, `00-${TRACE}-${PARENT}-01`],
  ['a later version with more fields: read as 00, the rest dropped', `01-${TRACE}-${PARENT}-01-whatever`, `00-${TRACE}-${PARENT}-01`],
  ['absent', undefined, undefined],
  ['repeated header', [`00-${TRACE}-${PARENT}-01`, `00-${TRACE}-${PARENT}-01`], undefined],
  ['version ff', `ff-${TRACE}-${PARENT}-01`, undefined],
  ['version 00 with trailing fields', `00-${TRACE}-${PARENT}-01-extra`, undefined],
  ['all-zero trace id', `00-${'0'.repeat(32)}-${PARENT}-01`, undefined],
  ['all-zero parent id', `00-${TRACE}-${'0'.repeat(16)}-01`, undefined],
  ['upper-case hex', `00-${TRACE.toUpperCase()}-${PARENT}-01`, undefined],
  ['short trace id', `00-${TRACE.slice(1)}-${PARENT}-01`, undefined],
  ['a newline inside', `00-${TRACE}\n-${PARENT}-01`, undefined],
  ['10 KB of junk', 'x'.repeat(10_000), undefined],
];

for (const [name, header, expected] of cases) {
  t.equal(saneTraceparent(header), expected, name);
}
