import t from 'tap';
import { acceptedCoding, requestCoding } from '../../../gateway/http/content-coding.ts';

t.test('Content-Encoding: gzip and deflate are decoded, identity is none, anything else is 415', async (t) => {
  const table: Array<[string, string | undefined]> = [
    ['gzip', 'gzip'],
    ['GZIP', 'gzip'],
    ['x-gzip', 'gzip'],
    [' deflate ', 'deflate'],
    ['identity', undefined],
    ['', undefined],
    ['identity, gzip', 'gzip'],
    ['gzip, identity', 'gzip'],
  ];
  for (const [header, coding] of table) t.equal(requestCoding(header), coding, JSON.stringify(header));
  for (const header of ['br', 'zstd', 'compress', 'gzip, br', 'gzip, gzip', 'deflate, gzip', 'gzip;q=1']) {
    t.throws(() => requestCoding(header), { code: 'GW_ERR_UNSUPPORTED_ENCODING' }, JSON.stringify(header));
  }
  t.throws(() => requestCoding('x'.repeat(10_000)), { message: /characters\)$/ }, 'a long header is cut in the message');
});

t.test('Accept-Encoding: the better of gzip and deflate by q-value, gzip on a tie, none when neither is acceptable', async (t) => {
  const table: Array<[string, string | undefined]> = [
    ['gzip', 'gzip'],
    ['deflate', 'deflate'],
    ['gzip, deflate, br', 'gzip'],
    ['deflate, gzip', 'gzip'],
    ['br', undefined],
    ['identity', undefined],
    ['', undefined],
    ['*', 'gzip'],
    ['*;q=0', undefined],
    ['gzip;q=0', undefined],
    ['gzip;q=0, *', 'deflate'],
    ['gzip;q=0.5, deflate;q=0.8', 'deflate'],
    ['gzip;q=0.8, deflate;q=0.8', 'gzip'],
    ['GZip; Q=1', 'gzip'],
    ['x-gzip', 'gzip'],
    ['deflate;q=0, *;q=0.1', 'gzip'],
    ['gzip;q=abc', undefined],
    ['gzip;level=9', 'gzip'],
  ];
  for (const [header, coding] of table) t.equal(acceptedCoding(header), coding, JSON.stringify(header));
});
