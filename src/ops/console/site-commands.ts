/**
 * The target's side of site commands: this site applies the drains and undrains the other site's
 * console sent it through the ledger (`site_commands`), and the participant suspensions the ledger
 * holds. It looks on every `commands` signal and, should one be lost, every `commandPollMs`; one
 * look at a time, each command applied once (its row leaves `pending` as the result is recorded),
 * each audited on this site under the operator who asked.
 */
import type { Logger } from '../../base/log.js';
import { audit } from '../../ledger/console.js';
import { suspensions } from '../../ledger/participant-suspensions.js';
import { finishCommand, pendingCommands, type SiteCommand } from '../../ledger/site-commands.js';
import type { Dc } from '../../scheme/connection.js';
import { drainHere, targetName, undrainHere, type ConnectionTarget, type Done } from './connection-actions.js';
import type { ConsoleSite } from './site.js';

const DCS: readonly Dc[] = ['DC1', 'DC2'];

export class SiteCommandRunner {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** A signal came while a look was running: look again after it. */
  private again = false;
  private stopped = false;
  private failing = false;

  constructor(
    private readonly site: ConsoleSite,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.wake();
    this.timer = setInterval(() => this.wake(), this.pollMs);
  }

  /** Looks now (a signal came), or once the look running ends. */
  wake(): void {
    if (this.stopped) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.look()
      .then(
        () => {
          if (this.failing) this.log.info('site commands and suspensions read again');
          this.failing = false;
        },
        (e: Error) => {
          if (!this.failing) this.log.warn({ err: e.message }, 'site commands not read; trying at every poll');
          this.failing = true;
        },
      )
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private async look(): Promise<void> {
    const s = this.site;
    await s.applySuspended((await suspensions(s.pool)).map((x) => x.participant));
    for (const c of await pendingCommands(s.pool, s.site)) await this.apply(c);
  }

  private async apply(c: SiteCommand): Promise<void> {
    const s = this.site;
    const target = connectionTarget(c);
    let done: Done;
    if (c.state === 'expired')
      done = {
        ok: false,
        message: `not applied: it waited past its expiry (${new Date(c.expiresAtMs).toISOString()}) for ${s.site}`,
      };
    else if (target === undefined)
      done = { ok: false, message: `not applied: ${JSON.stringify(c.arguments)} names no connection or DC` };
    else {
      try {
        done = c.command === 'drain' ? await drainHere(s, target) : undrainHere(s, target);
      } catch (e) {
        done = { ok: false, message: `failed: ${(e as Error).message}` };
      }
    }
    // Recorded first: should the audit row fail, the command is still not applied twice.
    if (!(await finishCommand(s.pool, c.id, done.ok, done.message))) return;
    await audit(s.pool, {
      site: s.site,
      operator: c.requestedBy,
      address: undefined,
      action: c.command,
      target: target === undefined ? s.site : targetName(s.site, target),
      result: done.ok ? 'ok' : 'failed',
      detail: `command ${c.id} from ${c.requestedOn}'s console (audit ${c.auditId}): ${done.message}`,
    }).catch((e: Error) => this.log.error({ command: c.id, err: e.message }, 'console audit row not written'));
  }
}

function connectionTarget(c: SiteCommand): ConnectionTarget | undefined {
  const a = c.arguments as Record<string, unknown>;
  if (typeof a['connection'] === 'string') return { connection: a['connection'] };
  const dc = DCS.find((d) => d === a['dc']);
  return dc === undefined ? undefined : { dc };
}
