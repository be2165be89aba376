import { systemClock } from '../../base/clock.js';
import { isTransient, retryTransient } from '../../base/faults.js';
import type { Logger } from '../../base/log.js';
import { logFields, type Disposition, type Handler, type IncomingMessage } from './port.js';

/** What a transport can do with one delivered, not yet settled message. */
export interface Delivery {
  message: IncomingMessage;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Moves the message to the backout queue and removes it, or leaves it in place if it cannot. */
  backout(): Promise<void>;
  /** True once the message can no longer be settled here (consumer stopping, channel gone). */
  abandoned(): boolean;
}

/**
 * Most handler runs for one delivery that fail with a transient fault (database or broker away):
 * with TRANSIENT_BACKOFF that is about ten minutes. At the bound the message is rolled back, which
 * counts one delivery towards the backout threshold.
 */
export const TRANSIENT_ATTEMPTS_MAX = 120;

/**
 * The rules every transport shares: poison messages skip the handler; a handler failing with a
 * transient fault is run again after a bounded back-off while the message stays held (so the
 * fault never counts towards the backout threshold, and the prefetch bounds how many wait); any
 * other failure means rollback; a settle that fails (connection gone) is only logged, because the
 * broker then redelivers the message by itself.
 */
export async function settle(d: Delivery, handler: Handler, backoutThreshold: number, log: Logger): Promise<void> {
  const fields = logFields(d.message);
  let disposition: Disposition;
  // [P7] A message delivered backoutThreshold times goes to the backout queue, never dropped.
  if (d.message.deliveryCount >= backoutThreshold) {
    log.warn(
      { ...fields, backoutThreshold },
      'delivery count reached the backout threshold; moving the message to the backout queue',
    );
    disposition = 'backout';
  } else {
    disposition = await handle(d, handler, log);
    if (disposition === 'backout')
      log.warn(fields, 'handler declared the message poison; moving it to the backout queue');
  }
  try {
    await d[disposition]();
    log.debug({ ...fields, disposition }, 'message settled');
  } catch (err) {
    log.error({ ...fields, disposition, err }, 'could not settle the message; the broker will redeliver it');
  }
}

async function handle(d: Delivery, handler: Handler, log: Logger): Promise<Disposition> {
  const fields = logFields(d.message);
  const next = (attempt: number, delayMs: number, err: Error): number | undefined => {
    if (attempt >= TRANSIENT_ATTEMPTS_MAX || d.abandoned()) {
      log.error(
        { ...fields, attempt, err: err.message },
        'transient fault outlasted the retries for this delivery; rolling the message back',
      );
      return undefined;
    }
    log.warn(
      { ...fields, attempt, retryInMs: delayMs, err: err.message },
      'transient fault while handling a message; holding it and trying again',
    );
    return delayMs;
  };
  try {
    return await retryTransient(systemClock, () => handler(d.message), next);
  } catch (err) {
    if (!isTransient(err)) log.warn({ ...fields, err }, 'handler failed; rolling the message back for redelivery');
    return 'rollback';
  }
}
