import type { Clock, Timer } from '../base/clock.js';
import type { Logger } from '../base/log.js';
import type { Ledger } from '../ledger/ledger.js';

/**
 * The fallback for a lost cross-site signal: payments waiting on another site are looked up in the
 * ledger this often, so a lost signal costs at most this much of the stand-in margin.
 */
export const CROSS_SITE_POLL_MS = 250;

/** FPIDs looked up in one query. */
const POLL_CHUNK = 1_000;

/** What a poll looks at, and what it is told. */
export interface PollTarget {
  /** The payments to look up now, with the state each is held in here. */
  watched(): ReadonlyMap<string, string>;
  /** The ledger holds another state (`state`, not `held`): another site moved the payment. */
  moved(fpid: string, state: string, held: string): void;
  /** The ledger holds the state held here. */
  unmoved(fpid: string, state: string): void;
}

/**
 * Every `everyMs`, the states of the watched payments from the ledger (primary key lookups, in
 * chunks), one poll at a time. A poll that fails is logged and the next one tries again.
 */
export class CrossSitePoll {
  private timer: Timer | undefined;
  private stopped = false;

  constructor(
    private readonly deps: { ledger: Pick<Ledger, 'statesOf'>; clock: Clock; log: Logger; everyMs?: number },
    private readonly target: PollTarget,
  ) {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }

  private schedule(): void {
    this.timer = this.deps.clock.after(this.deps.everyMs ?? CROSS_SITE_POLL_MS, () => {
      void this.once().finally(() => {
        if (!this.stopped) this.schedule();
      });
    });
  }

  private async once(): Promise<void> {
    const watched = [...this.target.watched()];
    for (let i = 0; i < watched.length; i += POLL_CHUNK) {
      const chunk = watched.slice(i, i + POLL_CHUNK);
      let states: Map<string, string>;
      try {
        states = await this.deps.ledger.statesOf(chunk.map(([fpid]) => fpid));
      } catch (e) {
        this.deps.log.warn({ err: (e as Error).message }, 'cross-site poll failed; trying again');
        return;
      }
      for (const [fpid, held] of chunk) {
        const state = states.get(fpid);
        if (state === undefined) continue;
        if (state === held) this.target.unmoved(fpid, state);
        else this.target.moved(fpid, state, held);
      }
    }
  }
}
