import type { Logger } from '../../base/log.js';
import { writeSiteStatus } from '../../ledger/console.js';
import type { ConsoleSite } from './site.js';

/** What a site says of itself in `site_status`, for the other site's console. */
export function siteReport(site: ConsoleSite): Record<string, unknown> {
  const s = site.status();
  return {
    open: s.open,
    epoch: s.epoch,
    schemeSuspended: s.suspended,
    inFlight: s.inFlight,
    bridging: s.mq.bridging,
    connections: s.connections.map((c) => ({
      id: c.id,
      dc: c.dc,
      state: c.state,
      submit: c.submit,
      receive: c.receive,
      inFlight: c.inFlight,
      unanswered: c.unanswered,
      sinceMs: c.since,
      reconnects: c.reconnects,
      lastError: c.lastError,
      lastEchoMs: c.lastEcho ?? null,
      remote: c.remote,
    })),
    drained: site.drained(),
    participants: site.participants(),
    suspendedParticipants: site.suspended(),
  };
}

/**
 * Writes this site's row every `everyMs`, one statement at a time (a slow ledger skips beats
 * rather than queueing them). Returns the stop.
 */
export function startStatusWriter(site: ConsoleSite, everyMs: number, log: Logger): () => Promise<void> {
  let running = true;
  let inFlight: Promise<void> = Promise.resolve();
  let failing = false;
  let busy = false;
  const beat = () => {
    if (!running || busy) return;
    busy = true;
    inFlight = writeSiteStatus(site.pool, site.site, siteReport(site))
      .then(
        () => {
          if (failing) log.info('site status row written again');
          failing = false;
        },
        (e: Error) => {
          if (!failing) log.warn({ err: e.message }, 'site status row not written; trying every beat');
          failing = true;
        },
      )
      .finally(() => (busy = false));
  };
  beat();
  const timer = setInterval(beat, everyMs);
  return async () => {
    running = false;
    clearInterval(timer);
    await inFlight;
  };
}
