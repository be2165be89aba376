import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import type { LeaseStatements, ReleaseReason, Renewal, Tenure } from '../../src/failover/lease.js';
import { LeaseKeeper, NO_EPOCH, type CloseReason } from '../../src/failover/lease-keeper.js';
import { DEFAULT_LEASE_TIMING, parseLeaseTiming } from '../../src/failover/lease-timing.js';
import { ManualClock } from '../support/manual-clock.js';

/** Statements that answer when the test says, counting how many are in flight at once. */
class ScriptedLease implements LeaseStatements {
  readonly site = 'site-a';
  readonly calls: string[] = [];
  inFlightMax = 0;
  private pending: Array<{ resolve: (v: unknown) => void; reject: (e: Error) => void }> = [];

  tryAcquire(): Promise<Tenure | undefined> {
    return this.call('acquire');
  }
  renew(epoch: number): Promise<Renewal | undefined> {
    return this.call(`renew ${epoch}`);
  }
  release(epoch: number, reason: ReleaseReason): Promise<boolean> {
    return this.call(`release ${epoch} ${reason}`);
  }

  /** Answers the statement in flight. */
  async answer(value: unknown): Promise<void> {
    const p = this.pending.shift();
    if (p === undefined) throw new Error('no statement in flight');
    p.resolve(value);
    await settle();
  }
  async fail(): Promise<void> {
    this.pending.shift()?.reject(new Error('connection terminated'));
    await settle();
  }

  private call<T>(what: string): Promise<T> {
    this.calls.push(what);
    this.inFlightMax = Math.max(this.inFlightMax, this.pending.length + 1);
    return new Promise<T>((resolve, reject) => this.pending.push({ resolve: resolve as (v: unknown) => void, reject }));
  }
}

const settle = () => new Promise<void>((r) => setImmediate(r));
const tenure = (epoch: number): Tenure => ({ epoch, expiresAtMs: 0, reason: 'start' });
const RENEWED: Renewal = { move: undefined };
const moveBy = (by: string): Renewal => ({ move: { by, atMs: 0 } });

function keeperOver(lease = new ScriptedLease(), whenClosed?: () => Promise<void>) {
  const clock = new ManualClock();
  const events: Array<number | CloseReason> = [];
  const keeper = new LeaseKeeper({
    lease,
    timing: parseLeaseTiming({}),
    clock,
    log: silentLogger,
    listener: {
      onOpen: (epoch) => events.push(epoch),
      onClose: (reason) => events.push(reason),
      ...(whenClosed === undefined ? {} : { whenClosed }),
    },
  });
  return { lease, clock, events, keeper };
}

const { leaseMs, renewPeriodMs, renewDeadlineMs } = DEFAULT_LEASE_TIMING;

describe('lease keeper', () => {
  it('opens on an acquire, renews every renew period, and writes under its epoch only while open', async () => {
    const { lease, clock, events, keeper } = keeperOver();
    keeper.start();
    expect(keeper.fence()).toEqual({ site: 'site-a', epoch: NO_EPOCH });
    await lease.answer(tenure(3));
    expect(events).toEqual([3]);
    expect(keeper.fence()).toEqual({ site: 'site-a', epoch: 3 });
    for (let i = 0; i < 3; i += 1) {
      clock.advance(renewPeriodMs);
      await lease.answer(RENEWED);
    }
    expect(lease.calls).toEqual(['acquire', 'renew 3', 'renew 3', 'renew 3']);
    expect(events).toEqual([3]);
  });

  it('closes when the renew deadline passes since the last successful renew started, and a late success opens nothing', async () => {
    const { lease, clock, events, keeper } = keeperOver();
    keeper.start();
    await lease.answer(tenure(1));
    clock.advance(renewPeriodMs);
    await lease.answer(RENEWED); // started at renewPeriodMs: the deadline is renewPeriodMs + renewDeadlineMs
    clock.advance(renewPeriodMs); // this renew hangs
    clock.advance(renewDeadlineMs - renewPeriodMs - 1);
    expect(keeper.isOpen).toBe(true);
    clock.advance(1);
    expect(events).toEqual([1, 'renew-deadline']);
    expect(keeper.fence().epoch).toBe(NO_EPOCH);
    await lease.answer(RENEWED);
    expect(events).toEqual([1, 'renew-deadline']);
    // Closed, it contends again at once, and opens under the new epoch it wins.
    clock.advance(0);
    expect(lease.calls.at(-1)).toBe('acquire');
    await lease.answer(tenure(2));
    expect(events).toEqual([1, 'renew-deadline', 2]);
  });

  it('closes at once when a renew fails, or finds the lease no longer ours', async () => {
    const { lease, clock, events, keeper } = keeperOver();
    keeper.start();
    await lease.answer(tenure(1));
    clock.advance(renewPeriodMs);
    await lease.fail();
    expect(events).toEqual([1, 'renew-failed']);
    clock.advance(renewPeriodMs);
    await lease.answer(tenure(2));
    clock.advance(renewPeriodMs);
    await lease.answer(undefined);
    expect(events).toEqual([1, 'renew-failed', 2, 'lost']);
  });

  it('does not open on an acquire won after the renew deadline, and releases it when stopped', async () => {
    const { lease, clock, events, keeper } = keeperOver();
    keeper.start();
    clock.advance(renewDeadlineMs);
    await lease.answer(tenure(1));
    expect(events).toEqual([]);
    const stopped = keeper.stop('manual');
    await settle();
    expect(lease.calls).toEqual(['acquire', 'release 1 manual']);
    await lease.answer(true);
    await stopped;
  });

  it('closes before it releases when stopped, and may be started again', async () => {
    const { lease, clock, events, keeper } = keeperOver();
    keeper.start();
    await lease.answer(tenure(1));
    clock.advance(renewPeriodMs);
    const stopped = keeper.stop('manual');
    expect(() => keeper.start()).toThrow(/already running/);
    await lease.answer(RENEWED); // the renew in flight finishes first
    expect(events).toEqual([1, 'stopped']);
    expect(lease.calls.at(-1)).toBe('release 1 manual');
    await lease.answer(true);
    await stopped;
    clock.advance(10 * renewPeriodMs);
    expect(lease.calls.at(-1)).toBe('release 1 manual');
    keeper.start();
    expect(lease.calls.at(-1)).toBe('acquire');
  });

  it('steps down when a renew returns a move request: closes, lets the site finish under its epoch, releases saying manual, then holds off a lease period', async () => {
    let bridgeStopped: () => void = () => {};
    const { lease, clock, events, keeper } = keeperOver(undefined, () => new Promise<void>((r) => (bridgeStopped = r)));
    keeper.start();
    await lease.answer(tenure(4));
    clock.advance(renewPeriodMs);
    await lease.answer(moveBy('alice'));
    // Closed at once: no new work; what was taken still commits under epoch 4, the lease still ours.
    expect(events).toEqual([4, 'moved']);
    expect(keeper.isOpen).toBe(false);
    expect(keeper.fence().epoch).toBe(4);
    clock.advance(renewPeriodMs);
    expect(lease.calls).toEqual(['acquire', 'renew 4']);
    bridgeStopped();
    await settle();
    expect(lease.calls.at(-1)).toBe('release 4 manual');
    expect(keeper.fence().epoch).toBe(NO_EPOCH);
    await lease.answer(true);
    const releasedAt = clock.now();
    // No acquire for a lease period, so that the other site takes the lease; then it contends again.
    while (clock.now() < releasedAt + leaseMs) {
      clock.advance(renewPeriodMs);
      await settle();
    }
    expect(lease.calls).toHaveLength(3);
    clock.advance(0); // the attempt due at the end of the hold-off
    expect(lease.calls.at(-1)).toBe('acquire');
    await lease.answer(tenure(6));
    expect(events).toEqual([4, 'moved', 6]);
    await settle();
  });

  it('releases at the renew deadline a site that has not stopped bridging by then', async () => {
    const { lease, clock, events, keeper } = keeperOver(undefined, () => new Promise<void>(() => {}));
    keeper.start();
    await lease.answer(tenure(1));
    clock.advance(renewPeriodMs);
    const renewStartedAt = clock.now();
    await lease.answer(moveBy('bob'));
    expect(events).toEqual([1, 'moved']);
    clock.advance(renewStartedAt + renewDeadlineMs - clock.now() - 1);
    expect(lease.calls.at(-1)).toBe('renew 1');
    expect(keeper.fence().epoch).toBe(1);
    clock.advance(1);
    await settle();
    expect(lease.calls.at(-1)).toBe('release 1 manual');
    expect(keeper.fence().epoch).toBe(NO_EPOCH);
    await lease.answer(false); // the other site may have taken it meanwhile: nothing changes here
    const stopped = keeper.stop();
    await stopped;
    expect(lease.calls).toHaveLength(3);
  });

  it('never runs a second loop nor two statements at once, and a failing listener stops nothing', async () => {
    const lease = new ScriptedLease();
    const clock = new ManualClock();
    const opened: number[] = [];
    const keeper = new LeaseKeeper({
      lease,
      timing: parseLeaseTiming({}),
      clock,
      log: silentLogger,
      listener: {
        onOpen: (epoch) => {
          opened.push(epoch);
          throw new Error('listener fault');
        },
        onClose: () => {},
      },
    });
    keeper.start();
    expect(() => keeper.start()).toThrow(/already running/);
    await lease.answer(tenure(1));
    for (let i = 0; i < 20; i += 1) {
      clock.advance(renewPeriodMs / 2); // timers fire while the statement is still in flight
      clock.advance(renewPeriodMs / 2);
      await lease.answer(RENEWED);
    }
    expect(opened).toEqual([1]);
    expect(lease.calls).toHaveLength(21);
    expect(lease.inFlightMax).toBe(1);
  });
});

describe('lease timing', () => {
  it('defaults to a 2 s lease, a 1.5 s renew deadline and a 250 ms renew period', () => {
    expect(parseLeaseTiming({})).toEqual({ leaseMs: 2_000, renewDeadlineMs: 1_500, renewPeriodMs: 250 });
    expect(parseLeaseTiming(undefined)).toEqual(DEFAULT_LEASE_TIMING);
  });

  it('refuses timing under which a site could still bridge when its lease expires', () => {
    expect(() => parseLeaseTiming({ leaseMs: 2_000, renewDeadlineMs: 2_000 })).toThrow(
      /stops bridging before its lease can expire/,
    );
    expect(() => parseLeaseTiming({ leaseMs: 2_000, renewDeadlineMs: 1_900 })).toThrow(/a fifth of leaseMs/);
    expect(() => parseLeaseTiming({ leaseMs: 400, renewDeadlineMs: 350, renewPeriodMs: 100 })).toThrow(
      /at least 100 ms/,
    );
    expect(() => parseLeaseTiming({ renewPeriodMs: 1_500 })).toThrow(/renewPeriodMs must be less than renewDeadlineMs/);
    expect(() => parseLeaseTiming({ renewPeriodMs: 10 })).toThrow(/renewPeriodMs/);
    expect(() => parseLeaseTiming({ leaseMs: 120_000, renewDeadlineMs: 60_000 })).toThrow(/leaseMs/);
  });
});
