import type pg from 'pg';
import type { MoveRequested } from '../../failover/lease.js';
import type { Dc } from '../../scheme/connection.js';
import type { SiteStatus } from '../site.js';

/** What a drain or undrain of this site's connections did; `unknown` names no connection or DC here. */
export type DrainOutcome = { ok: true; connections: string[] } | { ok: false; reason: string };

/**
 * What the console reads of, and asks of, the running site it is served by; the daemon implements
 * it. Reads are cheap (memory); actions say what they did.
 */
export interface ConsoleSite {
  readonly site: string;
  /** The ledger, as the runtime role. */
  readonly pool: pg.Pool;
  /** The open-site lease's role name. */
  readonly leaseRole: string;
  /** R2: the scheme's T_in, for the inbound deadline margin. */
  readonly tInMs: number;
  status(): SiteStatus;
  /** Connections an operator drained (they stay closed until undrained). */
  drained(): string[];
  participants(): string[];
  /** Participants whose TO.GATEWAY this site does not read while open (the ledger's suspensions, applied). */
  suspended(): string[];
  /** Marks the live lease: its holder, whichever site, steps down and the other opens. */
  requestMove(by: string): Promise<MoveRequested | undefined>;
  drain(target: { connection: string } | { dc: Dc }): Promise<DrainOutcome>;
  undrain(target: { connection: string } | { dc: Dc }): DrainOutcome;
  /** Makes the participants suspended here exactly `participants` (the ledger's): stops or starts their consumers. */
  applySuspended(participants: readonly string[]): Promise<void>;
  /**
   * Tells `to` (a site, or whichever is open: OPEN_SITE) to look at its commands and the
   * suspensions now rather than at its next poll; `about` names what changed. Best effort.
   */
  signal(to: string, about: string): void;
}
