/**
 * Opening a site (P3): the broker away at the moment the site takes the lease must not leave an
 * open site that does not bridge. The gateway tries the opening again with back-off until it
 * reads the participants' queues.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import { silentLogger } from '../../src/base/log.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { gatewayHere, type GatewayHere } from '../support/gateway-here.js';
import { startSchemeSim, type SchemeSim } from '../support/scheme-sim.js';

/** A broker that refuses to declare queues the first `failures` times, as one reconnecting would. */
class ReconnectingBroker extends InProcessTransport {
  declared = 0;
  constructor(private failures: number) {
    super(silentLogger);
  }
  override async ensureQueues(queues: readonly string[]): Promise<void> {
    this.declared += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      throw new TransientFault('ensureQueues: the broker is unreachable (reconnecting)');
    }
    return super.ensureQueues(queues);
  }
}

let sim: SchemeSim | undefined;
let here: GatewayHere | undefined;
afterAll(async () => {
  await here?.stop();
  await sim?.stop();
});

describe('opening a site (P3)', () => {
  it('bridges once the broker is back when it was away as the site opened (P3)', async () => {
    sim = await startSchemeSim();
    const broker = new ReconnectingBroker(2);
    here = await gatewayHere({
      site: 'site-a',
      transport: broker,
      scheme: { dc1: [sim.dc1], dc2: [sim.dc2], connectionsPerDc: 1 },
      participant: { id: '200001', sortCodes: ['200000'] },
    });
    expect(here.gateway.status()).toMatchObject({ open: true, mq: { bridging: true } });
    expect(broker.declared).toBeGreaterThanOrEqual(3);
  });
});
