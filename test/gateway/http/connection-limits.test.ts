import t from 'tap';
import { ConnectionLimits } from '../../../gateway/http/connection-limits.ts';

t.test('an address gets up to its limit of connections; one more is refused and counts nothing', async (t) => {
  const limits = new ConnectionLimits({ maxConnectionsPerAddress: 2, maxConnections: 10 });
  t.equal(limits.open('10.0.0.1'), undefined);
  t.equal(limits.open('10.0.0.1'), undefined);
  t.equal(limits.open('10.0.0.1'), 'per_address');
  t.equal(limits.openFrom('10.0.0.1'), 2);
  t.equal(limits.open('10.0.0.2'), undefined, 'another address has its own count');
  t.equal(limits.total, 3);
  limits.close('10.0.0.1');
  t.equal(limits.open('10.0.0.1'), undefined, 'a closed connection frees its place');
});

t.test('the total limit holds across addresses', async (t) => {
  const limits = new ConnectionLimits({ maxConnectionsPerAddress: 5, maxConnections: 3 });
  for (const address of ['a', 'b', 'c']) t.equal(limits.open(address), undefined);
  t.equal(limits.open('d'), 'total');
  t.equal(limits.open('a'), 'total', 'the total is checked first');
  limits.close('b');
  t.equal(limits.open('d'), undefined);
  t.equal(limits.total, 3);
});

t.test('closing forgets an address with no connection left, and ignores one never admitted', async (t) => {
  const limits = new ConnectionLimits({ maxConnectionsPerAddress: 1, maxConnections: 2 });
  limits.open('a');
  limits.close('a');
  limits.close('a');
  limits.close('never');
  t.equal(limits.total, 0);
  t.equal(limits.openFrom('a'), 0);
  t.equal(limits.open('a'), undefined);
});
