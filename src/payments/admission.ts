import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Clock, Timer } from '../base/clock.js';

/**
 * Admission control of inbound offers, and of outbound intake (README "Overload"). Past its
 * capacity the gateway must still answer every inbound payment within T_in: a payment it cannot
 * get decided in time is stood in at
 * once (R6: answered 0912, never offered, so the participant has nothing to learn), which costs a
 * fraction of an offer and its decision, instead of being offered into a queue where it and the
 * payments behind it would miss their deadlines. Decided on arrival (on any site) and again where
 * the open site offers, from a sample of the site's load taken every SAMPLE_MS. Outbound
 * instructions are never shed (they wait in MQ); while the site is congested they are taken at a
 * bounded pace, so that both directions are served and the inbound deadlines are met first.
 */
export interface AdmissionOptions {
  /** Inbound payments this site has offered and holds undecided, at most: Little's law, rate times decision time. */
  offeredMax: number;
  /** An offer is made only with this long left before its stand-in deadline: the participant's time to decide. */
  decisionWindowMs: number;
  /** Event-loop delay (the sample period's p99) above which offers are shed: this process is saturated. */
  loopDelayMaxMs: number;
  /** The oldest ledger commit's wait above which offers are shed: the database is behind the traffic. */
  commitDelayMaxMs: number;
  /**
   * New outbound instructions taken per sample while the site is congested (loop or ledger behind):
   * outbound is slowed, never stopped, so that the ledger goes first to answering inbound in time.
   */
  congestedIntakePerSample: number;
}

/** The participant's time to decide, by default, as a share of the time to the stand-in (T_in - margin). */
export const DECISION_WINDOW_SHARE = 0.25;

/**
 * 1,000 offered: the offers wait in MQ and at the participants for as long as 1,000 take to decide,
 * so this bounds the latency of what is admitted (1,000 at 265 decided a second is 3.8 s, measured);
 * size it as the peak inbound rate times the participants' decision time (1,000 a second with the
 * bank simulator's 20-300 ms needs 300). 2.25 s to decide (a
 * quarter of T_in 10 s less the 1 s margin): a payment held 6.75 s in the gateway is not worth offering. 100 ms of
 * loop delay, or a commit waiting 250 ms, is well past what the latency bar (p99 added 100 ms) allows.
 */
export const ADMISSION_DEFAULTS: AdmissionOptions = {
  offeredMax: 1_000,
  decisionWindowMs: 2_250,
  loopDelayMaxMs: 100,
  commitDelayMaxMs: 250,
  // 100 instructions a second a site while congested: the 1,000/s bench's outbound third, 333/s,
  // had taken the ledger from the inbound answers, whose deadline is the scheme's.
  congestedIntakePerSample: 10,
};

/** Why an offer was shed; the metric's label. */
export type ShedReason = 'offered' | 'window' | 'loop' | 'ledger';

/** The site's load as last sampled. */
export interface Load {
  offered: number;
  loopDelayMs: number;
  commitDelayMs: number;
}

/** Pure: whether a payment due to be stood in at `standInAt` is offered now, or why not. */
export function shedReason(load: Load, standInAt: number, now: number, o: AdmissionOptions): ShedReason | undefined {
  if (standInAt - now < o.decisionWindowMs) return 'window';
  if (load.offered >= o.offeredMax) return 'offered';
  if (load.loopDelayMs > o.loopDelayMaxMs) return 'loop';
  if (load.commitDelayMs > o.commitDelayMaxMs) return 'ledger';
  return undefined;
}

/** Pure: whether the site is behind, its event loop or its ledger; new outbound work then waits its turn. */
export function congested(load: Load, o: AdmissionOptions): boolean {
  return load.loopDelayMs > o.loopDelayMaxMs || load.commitDelayMs > o.commitDelayMaxMs;
}

/** How often the load is sampled: often enough to follow a burst, rarely enough to cost nothing. */
export const SAMPLE_MS = 100;

/** Where the sampler reads the load. */
export interface LoadSources {
  offered(): number;
  commitDelayMs(): number;
}

/** Samples the load every SAMPLE_MS and answers each offer from the last sample. */
export class Admission {
  private load: Load = { offered: 0, loopDelayMs: 0, commitDelayMs: 0 };
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private timer: Timer | undefined;
  /** Instructions waiting for `intake`, in arrival order; bounded by the MQ consumers' prefetch. */
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly deps: { clock: Clock; sources: LoadSources },
    private readonly options: AdmissionOptions = ADMISSION_DEFAULTS,
  ) {}

  start(): void {
    this.loop.enable();
    const sample = () => {
      this.load = {
        offered: this.deps.sources.offered(),
        loopDelayMs: this.loop.percentile(99) / 1e6,
        commitDelayMs: this.deps.sources.commitDelayMs(),
      };
      this.loop.reset();
      const taken = congested(this.load, this.options) ? this.options.congestedIntakePerSample : this.waiting.length;
      for (const take of this.waiting.splice(0, taken)) take();
      this.timer = this.deps.clock.after(SAMPLE_MS, sample);
    };
    this.timer = this.deps.clock.after(SAMPLE_MS, sample);
  }

  stop(): void {
    this.timer?.cancel();
    this.loop.disable();
    // Nothing is held back by a sampler that no longer runs.
    for (const take of this.waiting.splice(0)) take();
  }

  /**
   * Resolves when a new outbound instruction may be taken: at once unless the site is congested or
   * others wait before it; while it is congested, `congestedIntakePerSample` a sample, in order.
   * Those not yet taken stay unacknowledged in MQ, where the consumers' prefetch bounds them.
   */
  intake(): Promise<void> {
    if (this.waiting.length === 0 && !congested(this.load, this.options)) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Undefined: offer it. Otherwise why it is to be stood in instead. */
  shed(standInAt: number): ShedReason | undefined {
    return shedReason(this.load, standInAt, this.deps.clock.now(), this.options);
  }

  /** The last sample, for metrics. */
  get sampled(): Load {
    return this.load;
  }
}
