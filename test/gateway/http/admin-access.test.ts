import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { adminAccess, isLoopback } from '../../../gateway/http/admin-access.ts';

const TOKEN = 'a-long-enough-admin-token';

/** The error code a check throws, or 'allowed'. */
function outcome(check: ReturnType<typeof adminAccess>, authorization: string | undefined, remote: string | undefined): string {
  try {
    check(authorization, remote);
    return 'allowed';
  } catch (err) {
    return err instanceof InfergateError ? err.code : `not an InfergateError: ${err}`;
  }
}

t.test('with a token: the right bearer token from anywhere, nothing else', async (t) => {
  const check = adminAccess(TOKEN);
  const cases: Array<[string | undefined, string | undefined, string]> = [
    [`Bearer ${TOKEN}`, '203.0.113.7', 'allowed'],
    [`bearer ${TOKEN}`, '127.0.0.1', 'allowed'],
    [`Bearer  ${TOKEN} `, '::1', 'allowed'],
    [undefined, '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
    ['', '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
    [`Basic ${TOKEN}`, '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
    [`Bearer ${TOKEN}x`, '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
    [`Bearer ${TOKEN.slice(0, -1)}`, '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
    ['Bearer', '127.0.0.1', 'GW_ERR_UNAUTHORIZED'],
  ];
  for (const [authorization, remote, expected] of cases) t.equal(outcome(check, authorization, remote), expected, `${JSON.stringify(authorization)} from ${remote}`);
});

t.test('without a token: loopback clients only, whatever they send', async (t) => {
  const check = adminAccess(undefined);
  const cases: Array<[string | undefined, string | undefined, string]> = [
    [undefined, '127.0.0.1', 'allowed'],
    [undefined, '127.8.9.10', 'allowed'],
    [undefined, '::1', 'allowed'],
    [undefined, '::ffff:127.0.0.1', 'allowed'],
    [`Bearer ${TOKEN}`, '192.0.2.2', 'GW_ERR_FORBIDDEN'],
    [undefined, '::ffff:192.0.2.2', 'GW_ERR_FORBIDDEN'],
    [undefined, '2001:db8::1', 'GW_ERR_FORBIDDEN'],
    [undefined, undefined, 'GW_ERR_FORBIDDEN'],
  ];
  for (const [authorization, remote, expected] of cases) t.equal(outcome(check, authorization, remote), expected, `${JSON.stringify(authorization)} from ${remote}`);
});

t.test('isLoopback', async (t) => {
  t.same(['127.0.0.1', '::1', '::FFFF:127.0.0.2', '10.0.0.1', '::2', '128.0.0.1', 'localhost', ''].map(isLoopback), [true, true, true, false, false, false, false, false]);
});
