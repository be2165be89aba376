/**
 * bench:link: this process as the gateway side (SchemeConnection), the peer in its own process,
 * one loopback connection, 100 payment requests always in flight, full profile 9200/9210 with MAC
 * on both sides. `--peer plain` (default) answers with bench/responder.ts; `--peer simulator` with
 * the scheme simulator and all its rules. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { systemClock } from '../src/base/clock.js';
import { silentLogger } from '../src/base/log.js';
import { SchemeConnection } from '../src/scheme/connection.js';
import { paymentFields, businessDate } from '../src/scheme/messages.js';
import { splitEndpoint } from '../src/base/config.js';
import { launchScript, launchSimulator } from '../simulators/launch.js';
import { processProbe, type Probe } from './measure.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    'in-flight': { type: 'string', default: '100' },
    // `simulator`: the scheme simulator with all its rules; `plain`: bench/responder.ts.
    peer: { type: 'string', default: 'plain' },
  },
});
const seconds = Number(values.seconds);
const warmup = Number(values.warmup);
const inFlight = Number(values['in-flight']);
const MAC_KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

// The peer gets the same young-generation size as this process (see the bench:link script).
const peerEnv = { SIMULATOR_NODE_ARGS: process.env.SIMULATOR_NODE_ARGS ?? '--max-semi-space-size=64' };
const sim =
  values.peer === 'plain'
    ? await launchScript('bench/responder', [MAC_KEY], peerEnv)
    : await launchSimulator(
        'scheme',
        ['--dc1', '127.0.0.1:0', '--dc2', '127.0.0.1:0', '--mac-key', MAC_KEY, '--heartbeat', '60000'],
        peerEnv,
      );
const { host, port } = splitEndpoint(String(sim.ready.dc1));
let ready!: () => void;
const signedOn = new Promise<void>((r) => (ready = r));
const conn = new SchemeConnection(
  {
    id: 'DC1-1',
    dc: 'DC1',
    host,
    port,
    macKey: Buffer.from(MAC_KEY, 'hex'),
    heartbeatMs: 60_000,
    requestTimeoutMs: 15_000,
    signOnTimeoutMs: 5000,
    connectTimeoutMs: 5000,
    maxInFlight: inFlight,
    backoff: { initialMs: 100, maxMs: 1000 },
    drainTimeoutMs: 5000,
  },
  { clock: systemClock, log: silentLogger },
  { onRequest: () => undefined, onStateChange: (s) => s.state === 'ready' && ready() },
);
conn.start();
await signedOn;

const today = businessDate(Date.now());
let seq = 0;
let measuring = false;
let stop = false;
const latenciesUs: number[] = [];

async function worker(): Promise<void> {
  while (!stop) {
    const n = seq++;
    const fields = paymentFields({
      type: '10',
      amountPence: 1 + (n % 100_000),
      trn: 'BENCH' + String(n).padStart(13, '0'),
      dateSent: today,
      originatorSortCode: '040004',
      originatorAccount: '87654321',
      beneficiarySortCode: '200000',
      beneficiaryAccount: '12345678',
      institution: '040004',
    });
    const t0 = process.hrtime.bigint();
    const r = await conn.request({ mti: '9200', fields });
    if (r.fields.get(26) !== '0000') throw new Error(`payment refused: ${r.fields.get(26)}`);
    if (measuring) latenciesUs.push(Number(process.hrtime.bigint() - t0) / 1000);
  }
}

const workers = Array.from({ length: inFlight }, () => worker());
await new Promise((r) => setTimeout(r, warmup * 1000));
// CPU per pair of each side: on a shared machine it holds still where pairs/s and latency do not.
const sides = { client: processProbe(process.pid), peer: processProbe(sim.process.pid!) };
const cpuUs = async (probe: Probe) => (await probe())?.cpuUs ?? NaN;
const cpuAt = async () => ({ client: await cpuUs(sides.client), peer: await cpuUs(sides.peer) });
const cpuBefore = await cpuAt();
measuring = true;
const start = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, seconds * 1000));
measuring = false;
const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
const pairs = latenciesUs.length;
const cpuAfter = await cpuAt();
stop = true;
await Promise.all(workers);
await conn.drain();
await sim.stop();

latenciesUs.sort((a, b) => a - b);
const pct = (p: number) => Math.round(latenciesUs[Math.min(pairs - 1, Math.floor((p / 100) * pairs))] ?? 0);
console.log(
  JSON.stringify({
    pairs_per_s: Math.round(pairs / elapsedS),
    p50_us: pct(50),
    p99_us: pct(99),
    in_flight: inFlight,
    message: '9200/9210',
    seconds: Number(elapsedS.toFixed(2)),
    pairs,
    peer: values.peer,
    cpu_us_per_pair: {
      client: Number(((cpuAfter.client - cpuBefore.client) / pairs).toFixed(1)),
      peer: Number(((cpuAfter.peer - cpuBefore.peer) / pairs).toFixed(1)),
    },
  }),
);
