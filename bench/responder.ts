/**
 * A plain scheme responder for bench:link: signs on whoever connects and answers every request
 * `0000`, with full profile decoding, validation and MAC on both directions (the same Wire the
 * gateway uses), but none of the simulator's bookkeeping. Prints `{"ready":true,"dc1":...}`.
 */
import { createServer, type AddressInfo } from 'node:net';
import { systemClock } from '../src/base/clock.js';
import { silentLogger } from '../src/base/log.js';
import { ActionCode } from '../src/scheme/profile.js';
import { Wire } from '../src/scheme/wire.js';

const macKey = Buffer.from(process.argv[2] ?? '', 'hex');
let n = 0;
const server = createServer((socket) => {
  const id = `R#${++n}`;
  new Wire(
    socket,
    { id, macKey, clock: systemClock, log: silentLogger, requestTimeoutMs: 15_000, maxInFlight: 1000, heartbeatMs: 0 },
    {
      onRequest: (_request, reply) => reply.reply(ActionCode.accepted),
      onClose: () => undefined,
    },
  );
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ ready: true, dc1: `127.0.0.1:${port}` }));
});
process.on('SIGTERM', () => {
  console.log(JSON.stringify({ connections: n }));
  process.exit(0);
});
