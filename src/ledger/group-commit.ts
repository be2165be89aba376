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
}

/** Writes a batch in one transaction and returns one result per item, in order, once committed. */
export type BatchWriter<T, R> = (batch: readonly T[]) => Promise<R[]>;

interface Pending<T, R> {
  item: T;
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
): { batch: T[]; rest: T[] } {
  const batch: T[] = [];
  const rest: T[] = [];
  const taken = new Set<string>();
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
  private queue: Pending<T, R>[] = [];
  private readonly busy = new Set<string>();
  private inFlight = 0;
  private idle: (() => void)[] = [];

  constructor(
    private readonly write: BatchWriter<T, R>,
    private readonly keyOf: (item: T) => string,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Items waiting for a write (not those in a write in flight). */
  get queued(): number {
    return this.queue.length;
  }

  /** Queues an item for the next write; refused with a TransientFault while the queue is full. */
  submit(item: T): Promise<R> {
    const max = this.options.maxQueued ?? GROUP_COMMIT_QUEUED_MAX;
    if (this.queue.length >= max)
      return Promise.reject(new TransientFault(`commit queue full: ${max} items wait for a write`));
    return new Promise<R>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  /** Resolves once everything submitted so far has been written or refused. */
  drained(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.options.maxInFlight && this.queue.length > 0) {
      const { batch, rest } = takeBatch(this.queue, this.options.maxBatch, (p) => this.keyOf(p.item), this.busy);
      if (batch.length === 0) return;
      this.queue = rest;
      void this.run(batch);
    }
  }

  private async run(batch: Pending<T, R>[]): Promise<void> {
    const keys = batch.map((p) => this.keyOf(p.item));
    for (const key of keys) {
      // Paired with takeBatch, which leaves busy keys queued: one write per key at a time keeps its order.
      assert(!this.busy.has(key), `key ${key} taken into a batch while a write for it is in flight`);
      this.busy.add(key);
    }
    this.inFlight += 1;
    try {
      const results = await this.write(batch.map((p) => p.item));
      if (results.length !== batch.length)
        throw new Error(`batch writer returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve(results[i] as R));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      for (const key of keys) this.busy.delete(key);
      this.inFlight -= 1;
      this.pump();
      if (this.inFlight === 0 && this.queue.length === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
