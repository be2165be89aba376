import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseSettings } from '../base/config.js';
import { ledgerConfigSchema } from '../ledger/config.js';
import { mqConfigSchema } from '../participant/mq/index.js';
import { schemeLinkSchema, T_IN_MS, T_OUT_MS } from '../scheme/config.js';
import { participantSchema } from '../participant/directory.js';
import { leaseTimingSchema } from '../failover/lease-timing.js';
import { httpConfigSchema } from '../ops/config.js';
import { eventsConfigSchema } from '../events/config.js';
import { tracingConfigSchema } from './tracing.js';
import { ADMISSION_DEFAULTS, DECISION_WINDOW_SHARE } from '../payments/admission.js';
import { consoleConfigSchema } from '../ops/console/index.js';

/** The link's wait for a payment response is the gateway's `T_out` unless set apart (stricter). */
const gatewaySchemeSchema = schemeLinkSchema.extend({
  requestTimeoutMs: schemeLinkSchema.shape.requestTimeoutMs.unwrap().optional(),
});

/** One gateway site's settings, as plain data. Times are milliseconds, money integer pence. */
export const gatewayConfigSchema = z
  .object({
    /** This site's name, written on every ledger change. */
    site: z.string().min(1).default('site-a'),
    scheme: gatewaySchemeSchema,
    timing: z
      .object({
        /** R2: the scheme's `T_in`. */
        tInMs: z.number().int().min(1000).default(T_IN_MS),
        /** R6: stand in this long before `T_in` runs out. */
        standInMarginMs: z.number().int().min(100).default(1000),
        /** R7: the scheme's `T_out`; the one setting of it, read by the desks and the scheme link. */
        tOutMs: z.number().int().min(1000).default(T_OUT_MS),
        /** Pause before trying again what could not go. */
        retryMs: z.number().int().min(10).default(250),
      })
      .refine((t) => t.standInMarginMs < t.tInMs, 'standInMarginMs must be less than tInMs')
      .prefault({}),
    /** Admission control of inbound offers (src/payments/admission.ts): when to stand in at once. */
    admission: z
      .object({
        offeredMax: z.number().int().min(1).default(ADMISSION_DEFAULTS.offeredMax),
        /** Defaults to a quarter of the time to the stand-in (T_in - margin): 2.25 s by default. */
        decisionWindowMs: z.number().int().min(0).optional(),
        loopDelayMaxMs: z.number().int().min(1).default(ADMISSION_DEFAULTS.loopDelayMaxMs),
        commitDelayMaxMs: z.number().int().min(1).default(ADMISSION_DEFAULTS.commitDelayMaxMs),
        congestedIntakePerSample: z.number().int().min(1).default(ADMISSION_DEFAULTS.congestedIntakePerSample),
      })
      .prefault({}),
    /**
     * Which site is open: the open-site lease's timing (src/failover/lease-timing.ts). Every site
     * sharing the ledger must be given the same.
     */
    failover: z.object({ lease: leaseTimingSchema }).default({ lease: leaseTimingSchema.parse(undefined) }),
    participants: z.array(participantSchema).min(1),
    mq: mqConfigSchema.default({ kind: 'in-process' }),
    database: z
      .object({
        /** A PostgreSQL server to use; when absent (and DATABASE_URL unset) an embedded one starts. */
        url: z.string().optional(),
        /** With `url`: the schema owner's, for migrations (else DATABASE_MIGRATION_URL, else `url`). */
        migrationUrl: z.string().optional(),
        dataDir: z.string().optional(),
        port: z.number().int().min(1).max(65535).optional(),
      })
      .default({}),
    ledger: ledgerConfigSchema.prefault({}),
    /** `/metrics`, `/healthz`, `/readyz` (src/ops): loopback, port 9464 unless set. */
    http: httpConfigSchema,
    /** Payment events to Kafka (src/events/config.ts): off unless brokers are given here or in KAFKA_BROKERS. */
    events: eventsConfigSchema,
    /** Traces over OTLP (src/daemon/tracing.ts): off unless `otlpUrl` or OTEL_EXPORTER_OTLP_ENDPOINT is set. */
    tracing: tracingConfigSchema,
    /** The ops console on the same server (src/ops/console); absent, none is served. */
    console: consoleConfigSchema.optional(),
  })
  .transform((c) => ({
    ...c,
    scheme: { ...c.scheme, requestTimeoutMs: c.scheme.requestTimeoutMs ?? c.timing.tOutMs },
    admission: {
      ...c.admission,
      decisionWindowMs:
        c.admission.decisionWindowMs ?? Math.floor((c.timing.tInMs - c.timing.standInMarginMs) * DECISION_WINDOW_SHARE),
    },
  }));

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;

/** Validates settings; a bad one is refused with every reason at once and nothing starts. */
export function parseGatewayConfig(input: unknown): GatewayConfig {
  return parseSettings(gatewayConfigSchema, input, 'gateway config');
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
