// A DNS server for tests, on a loopback UDP port: it answers A queries for
// the names it is given with the addresses set now (changeable while it
// runs), AAAA queries with none, and anything else with NXDOMAIN. Just
// enough of RFC 1035 for a resolver: one question per query, TTL 0.

import { createSocket as udpSocket, type RemoteInfo } from 'node:dgram';
import type { Test } from 'tap';

export type TestDns = { address: string; records: Map<string, string[]> };

export async function startDnsServer(t: Test): Promise<TestDns> {
  const records = new Map<string, string[]>();
  const socket = udpSocket('udp4');
  socket.on('message', (query: Buffer, peer: RemoteInfo) => socket.send(answer(query, records), peer.port, peer.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  return { address: `127.0.0.1:${socket.address().port}`, records };
}

function answer(query: Buffer, records: ReadonlyMap<string, string[]>): Buffer {
  // The question: labels from byte 12, then its type and class.
  const labels: string[] = [];
  let at = 12;
  while (query[at]! !== 0) {
    labels.push(query.subarray(at + 1, at + 1 + query[at]!).toString('latin1'));
    at += query[at]! + 1;
  }
  const questionEnd = at + 5;
  const type = query.readUInt16BE(at + 1);
  const name = labels.join('.').toLowerCase();
  const known = records.get(name);
  const addresses = type === 1 ? (known ?? []) : [];
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // the id
  header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // a response, recursion available; NXDOMAIN for an unknown name
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const answers = addresses.map((ip) => {
    const record = Buffer.alloc(16);
    record.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    record.writeUInt16BE(1, 2); // A
    record.writeUInt16BE(1, 4); // IN
    record.writeUInt32BE(0, 6); // TTL 0: always ask again
    record.writeUInt16BE(4, 10);
    ip.split('.').forEach((octet, i) => record.writeUInt8(Number(octet), 12 + i));
    return record;
  });
  return Buffer.concat([header, query.subarray(12, questionEnd), ...answers]);
}
