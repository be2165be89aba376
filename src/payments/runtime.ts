import type { AnyStateMachine, EventFromLogic, SnapshotFrom } from 'xstate';
import { assert } from '../base/assert.js';
import type { z } from 'zod';
import type { Clock, Timer } from '../base/clock.js';
import { isTransient, retryTransient } from '../base/faults.js';
import type { Ledger } from '../ledger/ledger.js';
import type { Cause, CommitResult, NewPayment, OutboxEvent, PaymentPatch, Transition } from '../ledger/transition.js';
import type { Logger } from '../base/log.js';
import { step, stateOf, type Effect } from './machines/step.js';
import { storedContext } from './stored-context.js';
import type { Fence } from '../failover/fence.js';
import { NO_EPOCH } from '../failover/lease-keeper.js';
import { UNOBSERVED, type PaymentObserver } from './observer.js';
import { paymentEvent, PAYMENT_EVENT_TOPICS, type PaymentFacts } from './payment-event.js';

type LedgerPort = Pick<Ledger, 'commit'>;

/** What a direction's desk tells the runtime about its machine. */
export interface LifecycleSpec<M extends AnyStateMachine, E extends Effect> {
  machine: M;
  /** The machine's effect union. */
  effects: z.ZodType<E>;
  direction: 'inbound' | 'outbound';
  /** The scheme connection a payment is bound to (its arrival, or its last submission), for logs. */
  connection(snapshot: SnapshotFrom<M>): string | null;
  /** The machine's context: what the ledger keeps (`storedContext`), and the action code decided so far. */
  context(snapshot: SnapshotFrom<M>): object & { outcome?: string | null | undefined };
  /**
   * [P3] Whether a transition, by its journal event name, is one only the open site may make: it then
   * commits only under the current lease epoch. The others (what arrives on this site's own scheme
   * connections, its answers and stand-ins) any site makes.
   */
  fenced(event: string): boolean;
  /**
   * Whether a transition, by its journal event name, records an effect already performed (the
   * answer written, the report put): nothing waits on its commit (Transition.afterTheFact).
   */
  afterTheFact?(event: string): boolean;
  /** Performs one effect after its state committed; returns events that follow at once from it. */
  perform(fpid: string, effect: E, snapshot: SnapshotFrom<M>): Promise<Array<EventFromLogic<M>>>;
  /** When the machine wants a DEADLINE event, if it waits for one in this state. */
  deadline(snapshot: SnapshotFrom<M>): number | undefined;
  /** R6: when the payment is stood in if undecided (inbound), kept in its own column for operators. */
  standInAt?(snapshot: SnapshotFrom<M>): number | undefined;
  /** Nothing more is owed in this state: the payment leaves memory (a later event reloads it). */
  settled(snapshot: SnapshotFrom<M>): boolean;
  /** Drops whatever the desk keeps beside the machine for a payment that left memory. */
  forget(fpid: string): void;
  /**
   * Effects that are not performed here but written to the outbox with their step, for another
   * process to deliver (participant notices, which only the open site puts): the rows to write,
   * `[]` when there is nothing to send, undefined for an effect performed here.
   */
  written?(fpid: string, effect: E, snapshot: SnapshotFrom<M>): OutboxEvent[] | undefined;
  /** A step that wrote such rows has committed: whoever delivers them may be told. */
  onWritten?(fpid: string): void;
  /**
   * [P3] A step was refused because this site's epoch is no longer the lease's: the event is lost
   * and the payment waits in its last committed state; the desk takes it up again if it reopens.
   */
  onFenced?(fpid: string): void;
  /**
   * Another site may have moved the payment (its commit was refused as a conflict, its event
   * ignored, or a signal or a poll said so): the ledger's state when it differs from `held`,
   * with the effects this site owes on learning it. Undefined when there is nothing new.
   */
  reload?(fpid: string, held: SnapshotFrom<M>): Promise<Reloaded<M, E> | undefined>;
}

/** A payment's state as another site committed it, and what this site owes on learning it. */
export interface Reloaded<M extends AnyStateMachine, E extends Effect> {
  snapshot: SnapshotFrom<M>;
  owed: E[];
}

/** Times an event is applied again after learning the ledger's state (another site's step). */
const RELOADS_MAX = 3;

export interface LifecycleDeps {
  ledger: LedgerPort;
  clock: Clock;
  log: Logger;
  fence: () => Fence;
  /** New payments held in memory at most; defaults to IN_MEMORY_PAYMENTS_MAX. */
  inMemoryPaymentsMax?: number;
  /** Told of every committed step (metrics); nothing by default. */
  observer?: PaymentObserver;
}

/**
 * New payments of one direction held in memory at most: at 1000 a second each way, with T_in
 * 10 s and T_out 15 s, under a fifth of it is in use. At the bound `create` refuses a new payment
 * (`full`) before anything is recorded; the desk refuses it the way it refuses one the ledger
 * cannot take. Payments the ledger already holds open (recovery, a repeat, a late decision) are
 * always taken back, since the gateway owes them an answer; they leave memory once settled.
 */
export const IN_MEMORY_PAYMENTS_MAX = 100_000;

interface Entry<M extends AnyStateMachine> {
  snapshot: SnapshotFrom<M>;
  /** Events of one payment are applied one at a time, in arrival order. */
  chain: Promise<void>;
  timer?: Timer;
  /** The state the ledger last committed for this payment; effects run only for that state. */
  committed: string | undefined;
  /** What its events carry beside the step: the amount and when it was first recorded. */
  facts: PaymentFacts;
}

/**
 * `unavailable`: the ledger could not be reached (a transient fault); nothing was recorded, or it
 * is unknown. `full`: IN_MEMORY_PAYMENTS_MAX payments are held already; nothing was recorded.
 * `fenced`: refused because this site is not open (its epoch is not the lease's); nothing was recorded.
 */
export type Created = 'created' | 'duplicate' | 'refused' | 'fenced' | 'unavailable' | 'full';

/**
 * What became of an event: `committed` (and its effects performed), `ignored` (the state takes no
 * such event), `refused` (by the ledger: conflict or fenced; nothing performed), or `uncommitted`
 * (the ledger stayed unreachable until the payment's deadline, the retry bound or stop; nothing
 * performed), or `failed` (any other error, logged).
 */
export type Applied = 'committed' | 'ignored' | 'refused' | 'uncommitted' | 'failed';

/**
 * Most commit attempts of one step through transient faults: with TRANSIENT_BACKOFF about ten
 * minutes. At the bound the step is given up and the payment waits in its last committed state
 * for the next event, or for recovery at the next start, which resumes every open payment.
 */
export const COMMIT_ATTEMPTS_MAX = 120;

/**
 * The runtime of one direction's payments: each event is a pure machine step, the new state is
 * committed to the ledger, and only then are its effects performed (durable before effect).
 */
export class PaymentRuntime<M extends AnyStateMachine, E extends Effect> {
  private readonly entries = new Map<string, Entry<M>>();
  /** Set by stop(): a step waiting out a transient fault gives up (recovery at the next start resumes it). */
  private stopped = false;

  constructor(
    private readonly spec: LifecycleSpec<M, E>,
    private readonly deps: LifecycleDeps,
  ) {}

  has(fpid: string): boolean {
    return this.entries.has(fpid);
  }

  snapshot(fpid: string): SnapshotFrom<M> | undefined {
    return this.entries.get(fpid)?.snapshot;
  }

  get size(): number {
    return this.entries.size;
  }

  private get sizeMax(): number {
    return this.deps.inMemoryPaymentsMax ?? IN_MEMORY_PAYMENTS_MAX;
  }

  /**
   * Records a new payment in its first state, then performs that state's effects. Through a
   * transient fault the record is tried again until the first state's deadline; `unavailable` after.
   */
  async create(
    fpid: string,
    snapshot: SnapshotFrom<M>,
    effects: E[],
    payment: NewPayment,
    event: string,
    cause: Cause,
    /** A cross-site signal the record's commit sends (the closed site telling the open one to offer it). */
    signal?: Transition['signal'],
  ): Promise<Created> {
    const receivedAtMs = this.deps.clock.now();
    const facts: PaymentFacts = { amountPence: payment.amountPence, receivedAtMs };
    const entry: Entry<M> = { snapshot, chain: Promise.resolve(), committed: undefined, facts };
    if (this.entries.has(fpid)) return 'duplicate';
    const { performed, written } = this.split(fpid, effects, snapshot);
    if (this.entries.size >= this.sizeMax) {
      this.deps.log.warn(
        { fpid, direction: this.spec.direction, held: this.entries.size },
        'payments in memory at their bound; new payment refused',
      );
      return 'full';
    }
    this.entries.set(fpid, entry);
    let result: Created = 'created';
    entry.chain = (async () => {
      const fence = this.deps.fence();
      const taken = {
        fpid,
        from: null,
        to: stateOf(snapshot),
        event,
        at: receivedAtMs,
        site: fence.site,
        epoch: fence.epoch,
      };
      const r = await this.commitThroughFaults(this.spec.deadline(snapshot), {
        ...taken,
        fenced: this.spec.fenced(event),
        payment,
        patch: this.patch(snapshot),
        cause,
        outbox: [this.announce(taken, snapshot, facts), ...written],
        ...(signal !== undefined && { signal }),
      });
      if (r === undefined) {
        this.entries.delete(fpid);
        result = 'unavailable';
        return;
      }
      if (!r.ok) {
        this.entries.delete(fpid);
        result = r.reason === 'duplicate' || r.reason === 'fenced' ? r.reason : 'refused';
        this.deps.log.warn({ fpid, reason: r.reason, state: r.currentState }, 'payment not recorded');
        return;
      }
      entry.committed = stateOf(snapshot);
      this.stepped(fpid, event, null, snapshot, fence, cause);
      if (written.length > 0) this.spec.onWritten?.(fpid);
      await this.afterCommit(fpid, entry, performed);
    })().catch((e: Error) => {
      this.entries.delete(fpid);
      result = isTransient(e) ? 'unavailable' : 'refused';
      this.deps.log.error({ fpid, err: e.message, transient: isTransient(e) }, 'recording a payment failed');
    });
    await entry.chain;
    return result;
  }

  /**
   * Takes back a payment from the ledger (recovery, or a repeat for one not in memory), with the
   * amount and first-recorded time its row holds.
   */
  adopt(fpid: string, snapshot: SnapshotFrom<M>, row: { amountPence: number; createdAt: number }): void {
    if (!this.entries.has(fpid)) {
      // Read from the ledger: committed by definition.
      const facts = { amountPence: row.amountPence, receivedAtMs: row.createdAt };
      const entry: Entry<M> = { snapshot, chain: Promise.resolve(), committed: stateOf(snapshot), facts };
      this.entries.set(fpid, entry);
      this.arm(fpid, entry);
    }
  }

  /** Applies an event to a payment held here; resolves once it and its effects are done. */
  send(fpid: string, event: EventFromLogic<M>, cause: Cause = {}): Promise<Applied> {
    const entry = this.entries.get(fpid);
    if (entry === undefined) {
      // A retry or deadline timer that outlived its payment: the payment owes nothing any more.
      this.deps.log.debug(
        { fpid, event: (event as { type: string }).type },
        'event for a payment no longer held; ignored',
      );
      return Promise.resolve('ignored');
    }
    const next = entry.chain.then(() => this.apply(fpid, entry, event, cause));
    const applied = next.catch((e: Error): Applied => {
      this.deps.log.error({ fpid, event: event.type, err: e.message }, 'payment event failed');
      return 'failed';
    });
    entry.chain = applied.then(() => undefined);
    return applied;
  }

  private release(fpid: string): void {
    this.entries.get(fpid)?.timer?.cancel();
    this.entries.delete(fpid);
    this.spec.forget(fpid);
  }

  stop(): void {
    this.stopped = true;
    for (const e of this.entries.values()) e.timer?.cancel();
  }

  /** Looks in the ledger for a step another site took on a payment held here, and takes it. */
  refresh(fpid: string): Promise<void> {
    const entry = this.entries.get(fpid);
    if (entry === undefined) return Promise.resolve();
    const next = entry.chain.then(async () => {
      await this.learn(fpid, entry, true);
    });
    entry.chain = next.catch((e: Error) => {
      this.deps.log.error({ fpid, err: e.message }, 'learning a step from the ledger failed');
    });
    return entry.chain;
  }

  /** The payments held here whose snapshot `pick` accepts. */
  held(pick: (snapshot: SnapshotFrom<M>) => boolean): string[] {
    return [...this.heldStates(pick).keys()];
  }

  /** The payments held here whose snapshot `pick` accepts, with the state each is held in. */
  heldStates(pick: (snapshot: SnapshotFrom<M>) => boolean): Map<string, string> {
    const held = new Map<string, string>();
    for (const [fpid, e] of this.entries) if (pick(e.snapshot)) held.set(fpid, stateOf(e.snapshot));
    return held;
  }

  private async apply(
    fpid: string,
    entry: Entry<M>,
    event: EventFromLogic<M>,
    cause: Cause,
    reloads = 0,
  ): Promise<Applied> {
    const before = entry.snapshot;
    const { snapshot, effects, changed } = step(this.spec.machine, this.spec.effects, before, event);
    // The state held here may be behind the ledger's (another site's step): an event it does not
    // take may be one the ledger's state takes.
    if (!changed)
      return (await this.relearned(fpid, entry, reloads))
        ? this.reapply(fpid, entry, event, cause, reloads)
        : 'ignored';
    const { performed, written } = this.split(fpid, effects, snapshot);
    const fence = this.deps.fence();
    const type = (event as { type: string }).type;
    const name = type.toLowerCase();
    // A deadline due while the ledger is away takes over from any other event: it is what acts then.
    const deadline = type === 'DEADLINE' ? undefined : this.spec.deadline(before);
    const taken = {
      fpid,
      from: stateOf(before),
      to: stateOf(snapshot),
      event: name,
      at: this.deps.clock.now(),
      site: fence.site,
      epoch: fence.epoch,
    };
    const r = await this.commitThroughFaults(deadline, {
      ...taken,
      fenced: this.spec.fenced(name),
      ...(this.spec.afterTheFact?.(name) === true && { afterTheFact: true }),
      patch: this.patch(snapshot),
      cause,
      outbox: [this.announce(taken, snapshot, entry.facts), ...written],
    });
    if (r === undefined) return 'uncommitted';
    if (!r.ok) {
      // Another site moved the payment first: apply the event to the state it left.
      if (r.reason === 'conflict' && (await this.relearned(fpid, entry, reloads)))
        return this.reapply(fpid, entry, event, cause, reloads);
      // [P3] Refused under an epoch this site has since left for a new one (it closed and reopened
      // while the step waited out the database): the same step again, under the epoch it holds now.
      const now = this.deps.fence().epoch;
      if (r.reason === 'fenced' && now !== NO_EPOCH && now !== fence.epoch && reloads < RELOADS_MAX)
        return this.reapply(fpid, entry, event, cause, reloads);
      // Nothing leaves the process for a state the ledger did not take.
      this.deps.log.error(
        { fpid, event: name, reason: r.reason, state: r.currentState },
        'transition refused by the ledger; effects dropped',
      );
      if (r.reason === 'fenced') this.spec.onFenced?.(fpid);
      return 'refused';
    }
    entry.snapshot = snapshot;
    entry.committed = stateOf(snapshot);
    this.stepped(fpid, name, before, snapshot, fence, cause);
    if (written.length > 0) this.spec.onWritten?.(fpid);
    await this.afterCommit(fpid, entry, performed);
    return 'committed';
  }

  /**
   * One log line per committed step, and the observer told. Identifiers only: the FPID is the
   * scheme's public reference; no payment field is logged.
   */
  private stepped(
    fpid: string,
    event: string,
    before: SnapshotFrom<M> | null,
    after: SnapshotFrom<M>,
    fence: Fence,
    cause: Cause,
  ): void {
    const step = {
      direction: this.spec.direction,
      event,
      from: before === null ? null : stateOf(before),
      to: stateOf(after),
      ...(cause.shed === undefined ? {} : { shed: cause.shed }),
    };
    (this.deps.observer ?? UNOBSERVED).stepCommitted(step);
    if (!this.deps.log.isLevelEnabled('debug')) return;
    this.deps.log.debug(
      {
        fpid,
        ...step,
        state: step.to,
        site: fence.site,
        epoch: fence.epoch,
        connection: cause.connectionId ?? this.spec.connection(after),
      },
      'payment step committed',
    );
  }

  /** True when the ledger held a newer state, now taken here (with what it owes performed). */
  private async relearned(fpid: string, entry: Entry<M>, reloads: number): Promise<boolean> {
    if (reloads >= RELOADS_MAX || this.spec.reload === undefined) return false;
    return this.learn(fpid, entry, false);
  }

  /** The event again, on the state just learnt; the payment leaves memory after it if settled. */
  private async reapply(
    fpid: string,
    entry: Entry<M>,
    event: EventFromLogic<M>,
    cause: Cause,
    reloads: number,
  ): Promise<Applied> {
    const applied = await this.apply(fpid, entry, event, cause, reloads + 1);
    if (this.spec.settled(entry.snapshot) && this.entries.get(fpid) === entry) this.release(fpid);
    return applied;
  }

  /**
   * Takes the ledger's state of a payment another site moved, then performs what this site owes in
   * it (an answer on its own connection, say). The effects of the other site's step are that site's.
   */
  private async learn(fpid: string, entry: Entry<M>, settle: boolean): Promise<boolean> {
    const fresh = await this.spec.reload?.(fpid, entry.snapshot);
    if (fresh === undefined || this.entries.get(fpid) !== entry) return false;
    entry.snapshot = fresh.snapshot;
    entry.committed = stateOf(fresh.snapshot);
    await this.afterCommit(fpid, entry, fresh.owed, settle);
    return true;
  }

  /** The step's effects: those performed here after the commit, and the outbox rows written with it. */
  private split(fpid: string, effects: E[], snapshot: SnapshotFrom<M>): { performed: E[]; written: OutboxEvent[] } {
    const performed: E[] = [];
    const written: OutboxEvent[] = [];
    for (const e of effects) {
      const rows = this.spec.written?.(fpid, e, snapshot);
      if (rows === undefined) performed.push(e);
      else written.push(...rows);
    }
    return { performed, written };
  }

  /**
   * Commits one step, trying again after each transient fault with a bounded back-off until it
   * commits, `deadline` passes (its own DEADLINE event then acts), or COMMIT_ATTEMPTS_MAX. Undefined
   * when given up. A retry that finds the payment already in the target state learns that an
   * earlier attempt committed and only its answer was lost.
   */
  private async commitThroughFaults(deadline: number | undefined, t: Transition): Promise<CommitResult | undefined> {
    const commit = async (attempt: number): Promise<CommitResult> => {
      // [P3] Each attempt carries the fence as it is now: a step waiting out a database outage across
      // this site's own close and reopen commits under its new epoch, and is refused while it is closed.
      const fence = attempt === 1 ? t : this.deps.fence();
      const r = await this.deps.ledger.commit({ ...t, site: fence.site, epoch: fence.epoch });
      assert(r.fpid === t.fpid, `the ledger answered a commit of ${t.fpid} with the result of ${r.fpid}`);
      return !r.ok && attempt > 1 && r.reason !== 'fenced' && r.currentState === t.to ? { fpid: t.fpid, ok: true } : r;
    };
    const next = (attempt: number, delayMs: number, err: Error): number | undefined => {
      const now = this.deps.clock.now();
      const due = deadline !== undefined && now >= deadline;
      if (due || attempt >= COMMIT_ATTEMPTS_MAX || this.stopped) {
        this.deps.log.error(
          { fpid: t.fpid, event: t.event, attempt, deadlinePassed: due, err: err.message },
          'step not committed; given up, the payment stays in its last committed state',
        );
        return undefined;
      }
      this.deps.log.warn(
        { fpid: t.fpid, event: t.event, attempt, retryInMs: delayMs, err: err.message },
        'step not committed (transient fault); trying again',
      );
      return deadline === undefined ? delayMs : Math.min(delayMs, Math.max(0, deadline - now));
    };
    try {
      return await retryTransient(this.deps.clock, commit, next);
    } catch (e) {
      if (isTransient(e)) return undefined;
      throw e;
    }
  }

  private async afterCommit(fpid: string, entry: Entry<M>, effects: E[], settle = true): Promise<void> {
    this.arm(fpid, entry);
    for (const effect of effects) {
      // Durable before effect: paired with the write of `committed` right after each commit.
      assert(
        entry.committed === stateOf(entry.snapshot),
        `effect ${effect.type} of ${fpid} in ${stateOf(entry.snapshot)}, which the ledger has not committed`,
      );
      const follow = await this.spec.perform(fpid, effect, entry.snapshot);
      for (const ev of follow) await this.apply(fpid, entry, ev, {});
    }
    if (settle && this.spec.settled(entry.snapshot) && this.entries.get(fpid) === entry) this.release(fpid);
  }

  private arm(fpid: string, entry: Entry<M>): void {
    entry.timer?.cancel();
    entry.timer = undefined;
    const at = this.spec.deadline(entry.snapshot);
    if (at === undefined) return;
    const fire = () => {
      // A timer may wake a millisecond before the wall clock reaches its deadline: wait the rest.
      const now = this.deps.clock.now();
      if (now < at) entry.timer = this.deps.clock.after(at - now, fire);
      else void this.send(fpid, { type: 'DEADLINE', at: now } as EventFromLogic<M>);
    };
    entry.timer = this.deps.clock.after(at - this.deps.clock.now(), fire);
  }

  /**
   * What a step writes beside the state: the machine's context, and in their own columns for
   * operators and queries the outcome, the stand-in time and the state's deadline (cleared in a
   * state that waits for none). The runtime itself reads only the context back.
   */
  private patch(snapshot: SnapshotFrom<M>): PaymentPatch {
    const outcome = this.spec.context(snapshot).outcome ?? undefined;
    const standInAt = this.spec.standInAt?.(snapshot);
    return {
      context: storedContext(this.spec.context(snapshot)),
      deadlineAt: this.spec.deadline(snapshot) ?? null,
      ...(outcome === undefined ? {} : { outcome }),
      ...(standInAt === undefined ? {} : { standInAt }),
    };
  }

  /** The step's event (`payment-event.ts`) on its direction's topic, keyed by FPID: a payment's events stay in order. */
  private announce(
    taken: Pick<Transition, 'fpid' | 'from' | 'to' | 'event' | 'at' | 'site' | 'epoch'>,
    after: SnapshotFrom<M>,
    facts: PaymentFacts,
  ): OutboxEvent {
    const direction = this.spec.direction;
    return {
      topic: PAYMENT_EVENT_TOPICS[direction],
      key: taken.fpid,
      payload: paymentEvent({
        ...taken,
        atMs: taken.at,
        direction,
        outcome: this.spec.context(after).outcome ?? null,
        facts,
      }),
    };
  }
}
