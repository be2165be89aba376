import { z } from 'zod';
import { mqConfigSchema } from '../../src/participant/mq/index.js';
import { endpointSchema } from '../../src/base/config.js';

/** The broker AMQP tests and the demo use when neither `--mq` nor `AMQP_URL` names one. */
export const DEFAULT_AMQP_URL = 'amqp://guest:guest@127.0.0.1:5672';

const sortCode = z.string().regex(/^\d{6}$/, 'a sort code is 6 digits');
const share = z.number().min(0).max(1);

/** `ID:SORTCODE[,SORTCODE...]`: one simulated bank, its institution id and the sort codes it owns. */
export const participantSchema = z
  .string()
  .regex(/^\d{6}:\d{6}(?:,\d{6})*$/, 'must be ID:SORTCODE[,SORTCODE...] with a 6-digit id and 6-digit sort codes')
  .transform((text) => {
    const [id, codes] = text.split(':') as [string, string];
    return { id, sortCodes: [...new Set(codes.split(','))] };
  });
export type ParticipantSpec = z.output<typeof participantSchema>;

/** `MIN-MAX` milliseconds (or one number for a fixed latency). */
export const latencySchema = z
  .string()
  .regex(/^\d+(?:-\d+)?$/, 'must be MIN-MAX in milliseconds, e.g. 50-500')
  .transform((text) => {
    const [min, max = min] = text.split('-').map(Number) as [number, number?];
    return { minMs: min, maxMs: max };
  })
  .refine((l) => l.minMs <= l.maxMs, 'MIN must not exceed MAX');

/** `--mq`: an amqp:// URL, or the JSON of an MQ configuration (src/participant/mq/config.ts). */
export const mqOptionSchema = z
  .string()
  .transform((text, ctx) => {
    const t = text.trim();
    if (/^amqps?:\/\//.test(t)) return { kind: 'amqp', url: t };
    try {
      return JSON.parse(t) as unknown;
    } catch {
      ctx.addIssue({
        code: 'custom',
        message:
          'must be an amqp:// URL or the JSON of an MQ configuration, e.g. \'{"kind":"amqp","url":"amqp://..."}\'',
      });
      return z.NEVER;
    }
  })
  .pipe(mqConfigSchema);

/**
 * Everything the simulated banks are told at start, as plain data (README "Options"). Times are
 * milliseconds unless the name ends in `Sec`.
 */
export const bankSettingsSchema = z
  .object({
    participants: z.array(participantSchema).min(1, 'give at least one --participant ID:SORTCODE'),
    latency: latencySchema.default({ minMs: 50, maxMs: 500 }),
    lateShare: share.default(0.05),
    lateMs: z.number().int().min(0).default(12_000),
    rejectShare: share.default(0.1),
    returnShare: share.default(0),
    outboundRate: z.number().min(0).default(0),
    beneficiarySortCodes: z.array(sortCode).min(1).default(['300000']),
    badAccountShare: share.default(0.05),
    drainMs: z.number().int().min(0).default(3_000),
    seed: z.number().int().min(0).max(0xffffffff).optional(),
    /** Benchmarks: per-payment times for this many payments at most (simulators/timings.ts); 0 records none. */
    timings: z.number().int().min(0).default(0),
    /**
     * `off`: what the gateway sends is read as it is, not checked against its XSD first (ParseOptions
     * `trusted`), so that a benchmark measures the gateway rather than this simulator's checks.
     */
    validate: z.enum(['on', 'off']).default('on'),
  })
  .superRefine((s, ctx) => {
    // Zod runs this even when an item above failed: look only at what parsed.
    if (typeof s.lateShare === 'number' && typeof s.rejectShare === 'number' && s.lateShare + s.rejectShare > 1)
      ctx.addIssue({
        code: 'custom',
        path: ['rejectShare'],
        message: 'late share plus reject share must not exceed 1',
      });
    const ids = new Set<string>();
    const owners = new Map<string, string>();
    s.participants.forEach((p, i) => {
      if (!Array.isArray(p?.sortCodes)) return;
      if (ids.has(p.id))
        ctx.addIssue({ code: 'custom', path: ['participants', i], message: `participant ${p.id} is given twice` });
      ids.add(p.id);
      for (const code of p.sortCodes) {
        const owner = owners.get(code);
        if (owner !== undefined && owner !== p.id)
          ctx.addIssue({
            code: 'custom',
            path: ['participants', i],
            message: `sort code ${code} is owned by ${owner} already`,
          });
        owners.set(code, p.id);
      }
    });
  });

export type BankSettingsInput = z.input<typeof bankSettingsSchema>;
export type BankSettings = z.output<typeof bankSettingsSchema>;

/** The command line as a whole: the bank settings plus the process's own options. */
export const cliSchema = bankSettingsSchema.and(
  z.object({
    mq: mqOptionSchema.optional(),
    control: endpointSchema.optional(),
    durationSec: z.number().positive().optional(),
  }),
);
