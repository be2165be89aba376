import type { ConnectionStatus, Dc } from '../scheme/connection.js';
import type { SiteStatus } from './site.js';

/** One DC as the readiness probe sees it. */
export interface DcReadiness {
  /** Some connection to it has a TCP session (signing on, ready or draining). */
  reachable: boolean;
  /** Connections ready and signed on to both submit and receive (R8). */
  signedOn: number;
  connections: number;
}

export interface Readiness {
  ready: boolean;
  /** Why not, one sentence each; empty when ready. */
  reasons: string[];
  site: string;
  open: boolean;
  epoch: number;
  stopping: boolean;
  checks: {
    database: { ok: boolean; error?: string };
    scheme: Record<Dc, DcReadiness>;
    /** The bridge is required only on the open site, which alone reads the participants' queues. */
    mq: { required: boolean; bridging: boolean };
  };
}

const connected = (c: ConnectionStatus) => c.session !== null && c.state !== 'closed' && c.state !== 'connecting';
const signedOn = (c: ConnectionStatus) => c.state === 'ready' && c.submit && c.receive;

function dc(connections: readonly ConnectionStatus[], name: Dc): DcReadiness {
  const mine = connections.filter((c) => c.dc === name);
  return { reachable: mine.some(connected), signedOn: mine.filter(signedOn).length, connections: mine.length };
}

/**
 * Ready: not stopping, the database answers, every DC this site reaches has at least one
 * connection signed on both ways and at least one DC has, and, on the open site, the participants'
 * queues are read. A DC that cannot be reached at all does not hold a site back while the other
 * carries the traffic (the pool spreads over both); a DC reached but not signed on does, since it
 * is where the scheme sends this site's inbound payments.
 */
export function readiness(status: SiteStatus, database: { ok: boolean; error?: string }, stopping: boolean): Readiness {
  const scheme = { DC1: dc(status.connections, 'DC1'), DC2: dc(status.connections, 'DC2') };
  const reasons: string[] = [];
  if (stopping) reasons.push('the site is stopping (draining the scheme link)');
  if (!database.ok) reasons.push(`the database is not reachable: ${database.error ?? 'no answer'}`);
  for (const [name, d] of Object.entries(scheme)) {
    if (d.reachable && d.signedOn === 0) reasons.push(`${name} is reachable but no connection to it is signed on`);
  }
  if (scheme.DC1.signedOn + scheme.DC2.signedOn === 0) reasons.push('no scheme connection is signed on at either DC');
  const mq = { required: status.open, bridging: status.mq.bridging };
  if (mq.required && !mq.bridging) reasons.push("this site is open but does not read the participants' queues");
  return {
    ready: reasons.length === 0,
    reasons,
    site: status.site,
    open: status.open,
    epoch: status.epoch,
    stopping,
    checks: { database, scheme, mq },
  };
}
