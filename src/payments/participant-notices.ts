import type pg from 'pg';
import type { Clock } from '../base/clock.js';
import { isTransient } from '../base/faults.js';
import type { Logger } from '../base/log.js';
import type { Ledger } from '../ledger/ledger.js';
import type { OutboxRow } from '../ledger/outbox.js';
import { OutboxRelay } from '../ledger/outbox-relay.js';
import type { ParticipantPort, Told } from './participant-port.js';
import { schemePaymentOf } from './records.js';

/** The outbox topic of participant notices. */
export const NOTICES_TOPIC = 'participant.notices';

/**
 * A notice to a participant about an inbound payment, written with the step that calls for it:
 * the stand-in (R6, P10), the answer to a late decision (R6), the reversal (R3). Any site may
 * take that step (the arrival site stands in, whether or not it is open); only the open site puts
 * on the participants' queues, so it delivers them.
 */
export type Notice =
  | { fpid: string; notice: 'standIn'; participant: string; offerMessageId: string }
  | { fpid: string; notice: 'answerLate'; participant: string; offerMessageId: string; decision: string }
  | { fpid: string; notice: 'reversal'; participant: string; offerMessageId: string };

/** Notices put per claim: one transaction holds their rows while they are put. */
const BATCH = 100;
/** How often the open site looks for notices when no signal woke it. */
const POLL_MS = 500;

/**
 * [P3] The open site's delivery of participant notices from the outbox. Woken by a signal (the site
 * that wrote one says so) and by a poll; a notice is marked delivered only once it is on the
 * participant's queue, so a failover or a crash puts it again (at least once: notice ids are
 * derived from the payment, so a participant sees the same message twice, never two notices).
 */
export class ParticipantNotices {
  private readonly relay: OutboxRelay;

  constructor(
    private readonly deps: {
      pool: pg.Pool;
      ledger: Pick<Ledger, 'get'>;
      port: Pick<ParticipantPort, 'standIn' | 'answerLate' | 'reversal'>;
      clock: Clock;
      log: Logger;
    },
  ) {
    this.relay = new OutboxRelay(deps, {
      what: 'participant notices',
      claim: { topics: [NOTICES_TOPIC], limit: BATCH },
      pollMs: POLL_MS,
      deliver: (rows) => this.deliver(rows),
    });
  }

  start(): void {
    this.relay.start();
  }

  /** Stops claiming; resolves once the claim in progress is done. */
  stop(): Promise<void> {
    return this.relay.stop();
  }

  /** Something was written: deliver now rather than at the next poll. */
  wake(): void {
    this.relay.wake();
  }

  /** Puts each notice; a put that fails transiently stops the batch (the rest stay for the next claim). */
  private async deliver(rows: readonly OutboxRow[]): Promise<number[]> {
    const delivered: number[] = [];
    for (const row of rows) {
      const notice = row.payload as Notice;
      try {
        await this.put(notice);
      } catch (e) {
        if (isTransient(e)) {
          if (delivered.length > 0) return delivered;
          throw e;
        }
        // Never deliverable (the payment purged, a message that cannot be built): said, and dropped.
        this.deps.log.error({ fpid: notice.fpid, notice: notice.notice, err: (e as Error).message }, 'notice dropped');
      }
      delivered.push(row.id);
    }
    return delivered;
  }

  private async put(n: Notice): Promise<void> {
    const row = await this.deps.ledger.get(n.fpid);
    if (row === undefined) throw new Error('the payment is no longer in the ledger');
    const told: Told = {
      participant: n.participant,
      fpid: n.fpid,
      payment: schemePaymentOf(row),
      offerMessageId: n.offerMessageId,
    };
    switch (n.notice) {
      case 'standIn':
        return this.deps.port.standIn(told);
      case 'answerLate':
        return this.deps.port.answerLate({ ...told, decision: n.decision });
      case 'reversal':
        return this.deps.port.reversal(told);
    }
  }
}
