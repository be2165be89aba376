import { z } from 'zod';

const endpoint = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'expected host:port')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0..65535');

/** The scheme link of one gateway site, as plain data. Times are milliseconds. */
export const schemeLinkSchema = z.object({
  /** Listeners of each DC; connections are spread over them. */
  dc1: z.array(endpoint).min(1),
  dc2: z.array(endpoint).min(1),
  connectionsPerDc: z.number().int().min(1).max(32).default(2),
  /** Section 8: the per-link MAC secret as hex. */
  macKey: z.string().regex(/^(?:[0-9a-fA-F]{2}){16,64}$/, 'MAC key must be 16 to 64 bytes of hex'),
  heartbeatMs: z.number().int().min(100).default(5000),
  requestTimeoutMs: z.number().int().min(100).default(15_000),
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
  const r = schemeLinkSchema.safeParse(input);
  if (!r.success) {
    throw new Error(`invalid scheme link config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}
