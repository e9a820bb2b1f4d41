import t from 'tap';
import { InfergateError } from '../../../common/errors.ts';
import { adminAccess, isLoopback } from '../../../gateway/access/admin-access.ts';

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

t.test('with a token: Basic with the token as the password (what a browser sends), any user name', async (t) => {
  const check = adminAccess(TOKEN);
  const basic = (credentials: string) => `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}`;
  const cases: Array<[string, string]> = [
    [basic(`admin:${TOKEN}`), 'allowed'],
    [basic(`:${TOKEN}`), 'allowed'],
    [basic(`any one:${TOKEN}`), 'allowed'],
    [`basic   ${Buffer.from(`x:${TOKEN}`).toString('base64')} `, 'allowed'],
    [basic(`ünïcode:${TOKEN}`), 'allowed'],
    [basic(`${TOKEN}:`), 'GW_ERR_UNAUTHORIZED'],
    [basic(TOKEN), 'GW_ERR_UNAUTHORIZED'],
    [basic(`admin:${TOKEN}x`), 'GW_ERR_UNAUTHORIZED'],
    [basic(`admin:${TOKEN.slice(0, -1)}`), 'GW_ERR_UNAUTHORIZED'],
    [basic(`admin:${TOKEN}:`), 'GW_ERR_UNAUTHORIZED'],
    [`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64url')}!`, 'GW_ERR_UNAUTHORIZED'],
    ['Basic', 'GW_ERR_UNAUTHORIZED'],
    [`Bearer ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, 'GW_ERR_UNAUTHORIZED'],
  ];
  for (const [authorization, expected] of cases) t.equal(outcome(check, authorization, '203.0.113.7'), expected, JSON.stringify(authorization));
});

t.test('without a token: loopback clients only, whatever they send', async (t) => {
  const check = adminAccess(undefined);
  const cases: Array<[string | undefined, string | undefined, string]> = [
    [undefined, '127.0.0.1', 'allowed'],
    [undefined, '127.8.9.10', 'allowed'],
    [undefined, '::1', 'allowed'],
    [undefined, '::ffff:127.0.0.1', 'allowed'],
    [`Bearer ${TOKEN}`, '192.0.2.2', 'GW_ERR_FORBIDDEN'],
    [`Basic ${Buffer.from(`admin:${TOKEN}`).toString('base64')}`, '192.0.2.2', 'GW_ERR_FORBIDDEN'],
    [undefined, '::ffff:192.0.2.2', 'GW_ERR_FORBIDDEN'],
    [undefined, '2001:db8::1', 'GW_ERR_FORBIDDEN'],
    [undefined, undefined, 'GW_ERR_FORBIDDEN'],
  ];
  for (const [authorization, remote, expected] of cases) t.equal(outcome(check, authorization, remote), expected, `${JSON.stringify(authorization)} from ${remote}`);
});

t.test('isLoopback', async (t) => {
  t.same(['127.0.0.1', '::1', '::FFFF:127.0.0.2', '10.0.0.1', '::2', '128.0.0.1', 'localhost', ''].map(isLoopback), [true, true, true, false, false, false, false, false]);
});
