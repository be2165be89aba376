/**
 * Group commit: items submitted while a write is in flight wait and go together in the next write,
 * so many callers share one transaction and one WAL flush. Knows nothing of SQL; `write` does.
 */
import { assert } from '../base/assert.js';
import { TransientFault } from '../base/faults.js';

/**
 * Items waiting for a write, at most: twenty default batches. A database slower than the traffic
 * shows as this queue growing; past the bound `submit` refuses with a TransientFault at once, so
 * the caller waits it out as it waits out a database away (the payment runtime retries the step
 * with back-off until the payment's deadline acts) instead of the gateway's memory growing.
 */
export const GROUP_COMMIT_QUEUED_MAX = 10_000;

export interface GroupCommitOptions {
  /** Most items in one write. */
  maxBatch: number;
  /** Writes allowed in flight at once; more than one lets a batch execute while another flushes. */
  maxInFlight: number;
  /** Items waiting for a write at most; defaults to GROUP_COMMIT_QUEUED_MAX. */
  maxQueued?: number;
  /** How long lazy items alone wait for company before a write of their own; 0 (the default): not at all. */
  lingerMs?: number;
}

/**
 * Whether an item goes ahead of the others: under load, the steps of work already taken on (an
 * answer, a stand-in, a report) are written before new work (a payment's first record), so that
 * what is owed finishes in time however much new work waits behind it. Order per key always holds:
 * an urgent item whose key still has an ordinary one waiting queues behind it, in the ordinary lane.
 */
export type Urgency<T> = (item: T) => boolean;

/**
 * Whether an item may wait `lingerMs` for others: one nobody waits on (the record of an answer
 * already written), which then rides in the next write instead of costing one of its own.
 */
export type Laziness<T> = (item: T) => boolean;

/** Writes a batch in one transaction and returns one result per item, in order, once committed. */
export type BatchWriter<T, R> = (batch: readonly T[]) => Promise<R[]>;

interface Pending<T, R> {
  item: T;
  lazy: boolean;
  /** When it was submitted (the committer's clock). */
  at: number;
  resolve(result: R): void;
  reject(err: unknown): void;
}

/**
 * Takes the next batch from the queue, in order, up to `max` items. An item whose key is already in
 * the batch or in a write still in flight stays queued, as do later items with that key, so
 * transitions of one payment apply in the order they were submitted.
 */
export function takeBatch<T>(
  queue: readonly T[],
  max: number,
  keyOf: (item: T) => string,
  busy: ReadonlySet<string>,
  batch: T[] = [],
  taken = new Set<string>(),
): { batch: T[]; rest: T[] } {
  const rest: T[] = [];
  for (const item of queue) {
    const key = keyOf(item);
    if (batch.length < max && !busy.has(key) && !taken.has(key)) {
      batch.push(item);
      taken.add(key);
    } else {
      rest.push(item);
      // Reserve the key so a later item for it cannot overtake this one.
      taken.add(key);
    }
  }
  return { batch, rest };
}

export class GroupCommitter<T, R> {
  /** Urgent items, then the others: each in submission order. */
  private urgentQueue: Pending<T, R>[] = [];
  private queue: Pending<T, R>[] = [];
  /** Items of each key waiting in the ordinary lane: an urgent one of such a key must not pass them. */
  private readonly ordinaryKeys = new Map<string, number>();
  private readonly busy = new Set<string>();
  private inFlight = 0;
  /** When the oldest item of each write in flight was submitted. */
  private readonly writing: number[] = [];
  private idle: (() => void)[] = [];
  /** Items queued that are not lazy: while there are none, lazy ones linger. */
  private eager = 0;
  private lingering: ReturnType<typeof setTimeout> | undefined;
  /** The lazy items queued have waited their `lingerMs`: they go in the next write, company or not. */
  private lingered = false;

  constructor(
    private readonly write: BatchWriter<T, R>,
    private readonly keyOf: (item: T) => string,
    private readonly options: GroupCommitOptions,
    private readonly urgent: Urgency<T> = () => false,
    private readonly now: () => number = () => 0,
    private readonly lazy: Laziness<T> = () => false,
  ) {}

  /** How long the oldest item not yet written has waited: the queue's delay, 0 when all is written. */
  get oldestWaitMs(): number {
    const oldest = Math.min(...this.writing, this.urgentQueue[0]?.at ?? Infinity, this.queue[0]?.at ?? Infinity);
    return oldest === Infinity ? 0 : this.now() - oldest;
  }

  /** Items waiting for a write (not those in a write in flight). */
  get queued(): number {
    return this.urgentQueue.length + this.queue.length;
  }

  /** Whether a write is due without lingering: some item not lazy waits for one. */
  get writeDue(): boolean {
    return this.eager > 0;
  }

  /**
   * Queues an item for the next write; refused with a TransientFault while the queue is full. An
   * urgent item is refused only when urgent items alone fill it: new work cannot crowd it out.
   */
  submit(item: T): Promise<R> {
    const max = this.options.maxQueued ?? GROUP_COMMIT_QUEUED_MAX;
    const key = this.keyOf(item);
    const urgent = this.urgent(item) && !this.ordinaryKeys.has(key);
    if ((urgent ? this.urgentQueue.length : this.queued) >= max)
      return Promise.reject(new TransientFault(`commit queue full: ${max} items wait for a write`));
    return new Promise<R>((resolve, reject) => {
      const lazy = this.lazy(item);
      const pending = { item, lazy, at: this.now(), resolve, reject };
      if (!lazy) this.eager += 1;
      if (urgent) this.urgentQueue.push(pending);
      else {
        this.queue.push(pending);
        this.ordinaryKeys.set(key, (this.ordinaryKeys.get(key) ?? 0) + 1);
      }
      this.pump();
    });
  }

  /** Resolves once everything submitted so far has been written or refused. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.queued === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    const key = (p: Pending<T, R>) => this.keyOf(p.item);
    while (this.inFlight < this.options.maxInFlight && this.queued > 0) {
      const { maxBatch, lingerMs = 0 } = this.options;
      if (this.eager === 0 && !this.lingered && lingerMs > 0) {
        this.linger(lingerMs);
        return;
      }
      const taken = new Set<string>();
      const first = takeBatch(this.urgentQueue, maxBatch, key, this.busy, [], taken);
      const urgentTaken = first.batch.length;
      const { batch, rest } = takeBatch(this.queue, maxBatch, key, this.busy, first.batch, taken);
      if (batch.length === 0) return;
      this.urgentQueue = first.rest;
      this.queue = rest;
      for (const p of batch.slice(urgentTaken)) {
        const k = key(p);
        const left = (this.ordinaryKeys.get(k) ?? 1) - 1;
        if (left === 0) this.ordinaryKeys.delete(k);
        else this.ordinaryKeys.set(k, left);
      }
      for (const p of batch) if (!p.lazy) this.eager -= 1;
      clearTimeout(this.lingering);
      this.lingering = undefined;
      this.lingered = false;
      void this.run(batch);
    }
  }

  private linger(ms: number): void {
    if (this.lingering !== undefined) return;
    // A timer, not the injected clock: a few milliseconds of scheduling that no deadline reads.
    this.lingering = setTimeout(() => {
      this.lingering = undefined;
      this.lingered = true;
      this.pump();
    }, ms);
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    const keys = batch.map((p) => this.keyOf(p.item));
    for (const key of keys) {
      // Paired with takeBatch, which leaves busy keys queued: one write per key at a time keeps its order.
      assert(!this.busy.has(key), `key ${key} taken into a batch while a write for it is in flight`);
      this.busy.add(key);
    }
    this.inFlight += 1;
    const oldest = batch.reduce((at, p) => Math.min(at, p.at), Infinity);
    this.writing.push(oldest);
    try {
      const results = await this.write(batch.map((p) => p.item));
      if (results.length !== batch.length)
        throw new Error(`batch writer returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.writing.splice(this.writing.indexOf(oldest), 1);
      for (const key of keys) this.busy.delete(key);
      this.inFlight -= 1;
      this.pump();
      if (this.inFlight === 0 && this.queued === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
