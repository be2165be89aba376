import { z } from 'zod';

/** Least margin between a holder's renew deadline and its lease's expiry (see the defaults). */
export const MARGIN_MS_MIN = 100;

/** Shortest renew period: a site must not hammer the database it shares with the other. */
export const RENEW_PERIOD_MS_MIN = 50;

/** Longest lease: past a minute failover would no longer be failover. */
export const LEASE_MS_MAX = 60_000;

/**
 * The open-site lease's timing, as plain data in milliseconds. Kubernetes' leader election uses a
 * lease of 15 s, a renew deadline of 10 s and a retry period of 2 s; the failover bar here is far
 * tighter (kill -9 of the open site to the other site bridging again: worst of 10 runs <= 5 s,
 * goal <= 3 s), so the defaults are about eight times shorter, and chosen as follows.
 *
 * - Failover after a crash takes at most `leaseMs` (the dead holder's last renew was no later than
 *   its death) + `renewPeriodMs` (the other site's next attempt) + one statement: 2.25 s, which
 *   leaves 0.75 s of the goal to start bridging.
 * - A stall of the database (or of the path to it) delays a renew. The holder closes only when no
 *   renew has succeeded for `renewDeadlineMs` since the last successful renew *started*, and renews
 *   start every `renewPeriodMs`, so a stall shorter than `renewDeadlineMs - renewPeriodMs` = 1.25 s
 *   does not close it; the database side keeps the lease through a stall shorter than
 *   `leaseMs - renewPeriodMs` = 1.75 s. A stall of one second therefore moves nothing.
 * - `leaseMs - renewDeadlineMs` = 0.5 s is the margin by which the holder stops bridging before
 *   the database lets the other site in: clock rate drift between the site and the database (NTP
 *   slews at most 500 ppm: 1 ms over 2 s), a timer firing late on a busy event loop, and the time
 *   the bridge takes to stop once told.
 * - Four renews a second are one-row updates, nothing to a database that commits payments.
 */
export const DEFAULT_LEASE_TIMING = { leaseMs: 2_000, renewDeadlineMs: 1_500, renewPeriodMs: 250 } as const;

export const leaseTimingSchema = z
  .object({
    /** How long an acquire or renew holds the lease, by the database's clock. Default 2 s. */
    leaseMs: z.number().int().max(LEASE_MS_MAX).default(DEFAULT_LEASE_TIMING.leaseMs),
    /**
     * The holder stops bridging when this long has passed, by its own monotonic clock, since the
     * start of its last successful renew (or acquire); every statement of the lease is also cut
     * off after this long. Default 1.5 s.
     */
    renewDeadlineMs: z.number().int().default(DEFAULT_LEASE_TIMING.renewDeadlineMs),
    /** The holder renews, and a closed site tries to acquire, this often (start to start). Default 250 ms. */
    renewPeriodMs: z.number().int().min(RENEW_PERIOD_MS_MIN).default(DEFAULT_LEASE_TIMING.renewPeriodMs),
  })
  .refine((t) => t.renewPeriodMs < t.renewDeadlineMs, 'renewPeriodMs must be less than renewDeadlineMs')
  .refine(
    (t) => t.leaseMs - t.renewDeadlineMs >= Math.max(MARGIN_MS_MIN, t.leaseMs / 5),
    `leaseMs - renewDeadlineMs must be at least ${MARGIN_MS_MIN} ms and a fifth of leaseMs, so that a site stops bridging before its lease can expire`,
  )
  .default(DEFAULT_LEASE_TIMING);

export type LeaseTiming = z.infer<typeof leaseTimingSchema>;

/** Validates timing, naming every reason at once; absent fields take their defaults. */
export function parseLeaseTiming(input: unknown): LeaseTiming {
  const r = leaseTimingSchema.safeParse(input);
  if (!r.success)
    throw new Error(
      `invalid lease timing: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
