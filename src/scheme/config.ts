import { z } from 'zod';
import { endpointSchema, macKeySchema, parseSettings } from '../base/config.js';

/** R2: the scheme's `T_in`, the longest the CI waits for the gateway to answer a payment it sends. */
export const T_IN_MS = 10_000;
/** R7: the scheme's `T_out`, the longest the CI takes to answer a payment the gateway sends. Every `T_out` setting defaults to it. */
export const T_OUT_MS = 15_000;

/** The scheme link of one gateway site, as plain data. Times are milliseconds. */
export const schemeLinkSchema = z.object({
  /** Listeners of each DC; connections are spread over them. */
  dc1: z.array(endpointSchema).min(1),
  dc2: z.array(endpointSchema).min(1),
  connectionsPerDc: z.number().int().min(1).max(32).default(2),
  /** Section 8: the per-link MAC secret as hex. */
  macKey: macKeySchema,
  heartbeatMs: z.number().int().min(100).default(5000),
  /** The wait for a payment response: `T_out`, or the gateway's stricter one. */
  requestTimeoutMs: z.number().int().min(100).default(T_OUT_MS),
  signOnTimeoutMs: z.number().int().min(100).default(5000),
  connectTimeoutMs: z.number().int().min(100).default(5000),
  maxInFlight: z.number().int().min(1).max(100_000).default(512),
  backoff: z
    .object({ initialMs: z.number().int().min(1).default(250), maxMs: z.number().int().min(1).default(30_000) })
    .default({ initialMs: 250, maxMs: 30_000 }),
  drainTimeoutMs: z.number().int().min(0).default(20_000),
});

export type SchemeLinkConfig = z.infer<typeof schemeLinkSchema>;

/** Parses link settings; a bad setting is refused with every reason at once. */
export function parseSchemeLinkConfig(input: unknown): SchemeLinkConfig {
  return parseSettings(schemeLinkSchema, input, 'scheme link config');
}
