import type { Logger } from '../../log.js';
import { logFields, type Disposition, type Handler, type IncomingMessage } from './port.js';

/** What a transport can do with one delivered, not yet settled message. */
export interface Delivery {
  message: IncomingMessage;
  commit(): Promise<void>;
  rollback(): Promise<void>;
  /** Moves the message to the backout queue and removes it, or leaves it in place if it cannot. */
  backout(): Promise<void>;
}

/**
 * The rules every transport shares: poison messages skip the handler, a throwing handler means
 * rollback, and a settle that fails (connection gone) is only logged, because the broker then
 * redelivers the message by itself.
 */
export async function settle(d: Delivery, handler: Handler, backoutThreshold: number, log: Logger): Promise<void> {
  const fields = logFields(d.message);
  let disposition: Disposition;
  if (d.message.deliveryCount >= backoutThreshold) {
    log.warn({ ...fields, backoutThreshold }, 'delivery count reached the backout threshold; moving the message to the backout queue');
    disposition = 'backout';
  } else {
    try {
      disposition = await handler(d.message);
      if (disposition === 'backout') log.warn(fields, 'handler declared the message poison; moving it to the backout queue');
    } catch (err) {
      log.warn({ ...fields, err }, 'handler failed; rolling the message back for redelivery');
      disposition = 'rollback';
    }
  }
  try {
    await d[disposition]();
    log.debug({ ...fields, disposition }, 'message settled');
  } catch (err) {
    log.error({ ...fields, disposition, err }, 'could not settle the message; the broker will redeliver it');
  }
}
