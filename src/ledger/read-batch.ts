/**
 * Point reads coalesced: every key asked for in one event-loop turn is read by one statement, so
 * a burst of signals or instructions costs one round trip rather than one each. Each read still
 * sees the ledger as it is after the turn it was asked in. Knows nothing of SQL; `read` does.
 */
export type BatchReader<K, V> = (keys: readonly K[]) => Promise<ReadonlyMap<K, V>>;

interface Waiter<V> {
  resolve(value: V | undefined): void;
  reject(err: unknown): void;
}

export class ReadBatcher<K, V> {
  /** Keys asked for this turn, each with its callers: bounded by the callers, who each wait for one. */
  private pending = new Map<K, Waiter<V>[]>();
  private scheduled = false;

  /** `maxKeys`: most keys in one statement; more asked in one turn go in several. */
  constructor(
    private readonly read: BatchReader<K, V>,
    private readonly maxKeys: number,
  ) {}

  /** The value under `key`, undefined when the ledger has none. */
  get(key: K): Promise<V | undefined> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(key);
      if (waiters === undefined) this.pending.set(key, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const pending = [...this.pending];
    this.pending = new Map();
    this.scheduled = false;
    for (let i = 0; i < pending.length; i += this.maxKeys) void this.readChunk(pending.slice(i, i + this.maxKeys));
  }

  private async readChunk(chunk: [K, Waiter<V>[]][]): Promise<void> {
    try {
      const found = await this.read(chunk.map(([key]) => key));
      for (const [key, waiters] of chunk) for (const w of waiters) w.resolve(found.get(key));
    } catch (err) {
      for (const [, waiters] of chunk) for (const w of waiters) w.reject(err);
    }
  }
}
