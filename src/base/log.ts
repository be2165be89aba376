import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * Account numbers and names never reach a log. Code logs FPIDs, MTIs and field 11 only, and these
 * paths are censored in case a payment object is ever passed to a log call whole. They are the
 * payment table's personal attributes (src/domain/payment.ts, a layer above this one, so
 * test/domain/payment.test.ts proves each is censored).
 */
const REDACT = [
  '*.beneficiaryAccount',
  '*.originatorAccount',
  '*.beneficiaryName',
  '*.originatorName',
  '*.remittance',
  'payment.*.beneficiaryAccount',
  'payment.*.originatorAccount',
];

/** `destination` defaults to stdout; a process whose stdout is its own output (the simulator) logs to stderr. */
export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = { name, level, redact: { paths: REDACT, censor: '[redacted]' } };
  return destination === undefined ? pino(options) : pino(options, destination);
}

/** A logger that writes nothing, for tests and benchmarks that measure the wire, not the log. */
export const silentLogger: Logger = pino({ level: 'silent' });
