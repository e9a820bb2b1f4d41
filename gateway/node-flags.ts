// V8 flags the gateway process runs with. `npm start`, the container's
// entrypoint and bin/infergate.ts's shebang pass them on node's command line
// (V8 sizes its heap when the process starts: setting them from inside is too
// late); test/gateway/node-flags.test.ts keeps those three in step with this list.
//
// --max-semi-space-size=16 (MiB): V8 grows the young generation up to 64 MiB
// per semi-space on a machine with memory to spare, and the gateway's steady
// allocation (a few KiB of short-lived objects per request) makes it do so:
// 128 MiB committed for objects that live a millisecond. At 16 MiB the soak's
// RSS fell from about 320 to 230 MiB at the same CPU per request
// (docs/performance.md, "A capped young generation").

export const GATEWAY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
