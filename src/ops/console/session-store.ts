import type { Session } from 'fastify';
import type { SessionStore } from '@fastify/session';
import type { Logger } from '../../base/log.js';

export interface SessionBounds {
  maxSessions: number;
  sessionIdleMs: number;
  sessionAbsoluteMs: number;
}

/** How often timed-out sessions are looked for at most: a minute, or the idle timeout if shorter. */
const SWEEP_EVERY_MS_MAX = 60_000;

/**
 * The console's sessions in this process's memory (a session is this site's, as its cookie is),
 * `maxSessions` at most, in least recently used order (every request of a session, polls too,
 * makes it the most recent).
 *
 * At the bound a new session drops the least recently used one, and says so (`onDropped`: the
 * console audits it). A bank wants the operator who logs in during an incident to get in: refusing
 * logins at the bound would lock out exactly that operator whenever something (a script logging
 * in over and over, tabs left open) had filled the store, while the session dropped is the one
 * least in use, whose operator only has to log in again.
 *
 * Sessions past the idle or absolute timeout are removed on a sweep (every minute, or every idle
 * timeout if shorter) once timed out for a sweep period (until then a request with one is told
 * why it ended), and before a new session is counted against the bound, so they never accumulate
 * nor push out a live one.
 */
export class BoundedSessionStore implements SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;
  private readonly sweepEveryMs: number;

  constructor(
    private readonly bounds: SessionBounds,
    private readonly log: Logger,
    private readonly onDropped: (s: Session, held: number) => void,
  ) {
    this.sweepEveryMs = Math.min(SWEEP_EVERY_MS_MAX, bounds.sessionIdleMs);
    this.sweeper = setInterval(() => this.sweep(Date.now() - this.sweepEveryMs), this.sweepEveryMs);
    // The sweep keeps memory tidy; it must not hold the process up.
    this.sweeper.unref();
  }

  /** Sessions held now. */
  get size(): number {
    return this.sessions.size;
  }

  get max(): number {
    return this.bounds.maxSessions;
  }

  set(id: string, session: Session, callback: (err?: unknown) => void): void {
    if (!this.sessions.delete(id)) {
      this.sweep(Date.now());
      if (this.sessions.size >= this.bounds.maxSessions) {
        const [lruId, lru] = this.sessions.entries().next().value!;
        this.sessions.delete(lruId);
        this.log.warn(
          { operator: lru.operator, maxSessions: this.bounds.maxSessions },
          'console session store full: the least recently used session was dropped for a new one',
        );
        this.onDropped(lru, this.sessions.size);
      }
    }
    this.sessions.set(id, session);
    callback();
  }

  get(id: string, callback: (err: unknown, result?: Session | null) => void): void {
    const s = this.sessions.get(id);
    if (s !== undefined) {
      // The most recently used goes last. A timed-out one is handed back too: the console tells
      // its operator why it ended, and ends it.
      this.sessions.delete(id);
      this.sessions.set(id, s);
    }
    callback(null, s ?? null);
  }

  destroy(id: string, callback: (err?: unknown) => void): void {
    this.sessions.delete(id);
    callback();
  }

  /** Stops the sweep (the server closes). */
  close(): void {
    clearInterval(this.sweeper);
  }

  private timedOut(s: Session, nowMs: number): boolean {
    return (
      nowMs - (s.createdAtMs ?? 0) > this.bounds.sessionAbsoluteMs ||
      nowMs - (s.lastSeenAtMs ?? 0) > this.bounds.sessionIdleMs
    );
  }

  /** Removes the sessions timed out at `asOfMs`. */
  private sweep(asOfMs: number): void {
    let removed = 0;
    for (const [id, s] of this.sessions)
      if (this.timedOut(s, asOfMs)) {
        this.sessions.delete(id);
        removed += 1;
      }
    if (removed > 0) this.log.info({ removed, held: this.sessions.size }, 'console sessions timed out and removed');
  }
}
