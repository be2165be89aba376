/**
 * Per-payment timestamps a simulator keeps for benchmarks when started with `--timings N`: what
 * `npm run bench` joins across the two simulators to tell the latency the gateway adds from the
 * time the simulators themselves took. Each side records, by TRN, when a request left or arrived
 * at its edge and when the answer arrived or left, so that both simulators speak of one payment
 * in the same terms.
 */

/** One payment as one simulator saw it; times are its clock's milliseconds. */
export interface TimingRow {
  direction: 'inbound' | 'outbound';
  /** When the request left (the side that asks) or arrived (the side that answers). */
  request_ms?: number;
  /** When the answer arrived (the side that asks) or left (the side that answers). */
  answer_ms?: number;
  /** The outcome at that answer: the 9210's action code, or the pacs.002 status (and reason). */
  outcome?: string;
  /** Inbound, at the scheme: unanswered within T_in, so timed out (R2), and then reversed (R3). */
  timed_out?: boolean;
  reversed?: boolean;
}

/** What `GET /timings` answers: the rows held, and how many older rows were dropped for room. */
export interface TimingsView {
  capacity: number;
  dropped: number;
  rows: Array<TimingRow & { trn: string }>;
}

/**
 * The rows of at most `capacity` payments, oldest first. When full, a new payment drops the oldest
 * row and counts it in `dropped`, so a run longer than the table loses its oldest rows, never
 * memory. With `capacity` 0 (the default of both simulators) nothing is recorded at all.
 */
export class TimingTable {
  private readonly rows = new Map<string, TimingRow>();
  private dropped = 0;

  constructor(private readonly capacity: number) {}

  get enabled(): boolean {
    return this.capacity > 0;
  }

  /**
   * Sets the fields given on the row of `trn` that are not set yet (the first time wins: a repeat
   * or a redelivery does not move a payment's times), making the row when it is new.
   */
  note(trn: string, direction: TimingRow['direction'], fields: Omit<TimingRow, 'direction'>): void {
    if (this.capacity === 0) return;
    const row = this.rows.get(trn);
    if (row === undefined && this.rows.size >= this.capacity) {
      this.rows.delete(this.rows.keys().next().value!);
      this.dropped++;
    }
    // Only what is set: a field given as undefined must not hide one set before.
    const given = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    // Map.set on a key held keeps its place: a row ages from its first note.
    this.rows.set(trn, { ...given, ...row, direction: row?.direction ?? direction });
  }

  view(): TimingsView {
    return {
      capacity: this.capacity,
      dropped: this.dropped,
      rows: [...this.rows].map(([trn, row]) => ({ trn, ...row })),
    };
  }

  /** Forgets every row (between the steps of a benchmark); returns how many there were. */
  clear(): number {
    const n = this.rows.size;
    this.rows.clear();
    return n;
  }
}
