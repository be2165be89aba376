import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { mqConfigSchema } from '../participant/mq/index.js';
import { schemeLinkSchema } from '../scheme/config.js';
import { participantSchema } from '../participant/directory.js';

/** One gateway site's settings, as plain data. Times are milliseconds, money integer pence. */
export const gatewayConfigSchema = z.object({
  /** This site's name, written on every ledger change. */
  site: z.string().min(1).default('site-a'),
  scheme: schemeLinkSchema,
  timing: z
    .object({
      /** R2: the scheme's `T_in`. */
      tInMs: z.number().int().min(1000).default(10_000),
      /** R6: stand in this long before `T_in` runs out. */
      standInMarginMs: z.number().int().min(100).default(1000),
      /** R7: the scheme's `T_out`. */
      tOutMs: z.number().int().min(1000).default(15_000),
      /** Pause before trying again what could not go. */
      retryMs: z.number().int().min(10).default(250),
    })
    .refine((t) => t.standInMarginMs < t.tInMs, 'standInMarginMs must be less than tInMs')
    .default({ tInMs: 10_000, standInMarginMs: 1000, tOutMs: 15_000, retryMs: 250 }),
  participants: z.array(participantSchema).min(1),
  mq: mqConfigSchema.default({ kind: 'in-process' }),
  database: z
    .object({
      /** A PostgreSQL server to use; when absent (and DATABASE_URL unset) an embedded one starts. */
      url: z.string().optional(),
      dataDir: z.string().optional(),
      port: z.number().int().min(1).max(65535).optional(),
    })
    .default({}),
  ledger: z
    .object({
      duplicateWindowDays: z.number().int().min(1).max(90).default(7),
      maxBatch: z.number().int().min(1).max(5000).default(500),
    })
    .default({ duplicateWindowDays: 7, maxBatch: 500 }),
});

export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** Validates settings; a bad one is refused with every reason at once and nothing starts. */
export function parseGatewayConfig(input: unknown): GatewayConfig {
  const r = gatewayConfigSchema.safeParse(input);
  if (!r.success) {
    throw new Error(`invalid gateway config: ${r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  return r.data;
}

export async function loadGatewayConfig(file: string): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read gateway config ${file}: ${(e as Error).message}`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`gateway config ${file} is not JSON: ${(e as Error).message}`, { cause: e });
  }
  return parseGatewayConfig(json);
}
