export interface BackoffOptions {
  /** First delay before jitter. */
  initialMs: number;
  /** Ceiling of the delay. */
  maxMs: number;
}

/**
 * [R9] Jittered exponential back-off to reconnect a dead connection: the n-th delay lies in [d/2, d] with
 * d = min(max, initial * 2^n), so a whole site's connections do not knock on the scheme in step.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly opts: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  next(): number {
    const ceiling = Math.min(this.opts.maxMs, this.opts.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }

  reset(): void {
    this.attempt = 0;
  }
}
