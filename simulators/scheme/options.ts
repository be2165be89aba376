import { z } from 'zod';
import { endpointSchema, macKeySchema } from '../../src/base/config.js';
import { T_IN_MS, T_OUT_MS } from '../../src/scheme/config.js';

const ms = (fallback: number) => z.number().int().min(0).default(fallback);
const seconds = z.number().min(0).default(0);

/**
 * What the simulated Central Infrastructure is told at start, as plain data. Times are
 * milliseconds unless the name ends in `Sec`; a zero period turns that fault off.
 */
export const centralSettingsSchema = z
  .object({
    macKey: macKeySchema,
    dc1: z.array(endpointSchema).default([]),
    dc2: z.array(endpointSchema).default([]),
    tInMs: z.number().int().positive().default(T_IN_MS),
    tOutMs: z.number().int().positive().default(T_OUT_MS),
    heartbeatMs: ms(5_000),
    reversalRepeatMs: z.number().int().positive().default(2_000),
    inboundRate: z.number().min(0).default(0),
    sortCodes: z
      .array(z.string().regex(/^\d{6}$/, 'a sort code is 6 digits'))
      .min(1)
      .default(['200000']),
    answerDelayMs: ms(0),
    corruptMacRate: z.number().min(0).max(1).default(0),
    dropEverySec: seconds,
    suspendEverySec: seconds,
    suspendForSec: seconds,
    /** Benchmarks: per-payment times for this many payments at most (simulators/timings.ts); 0 records none. */
    timings: z.number().int().min(0).default(0),
  })
  .superRefine((s, ctx) => {
    if (s.dc1.length + s.dc2.length === 0)
      ctx.addIssue({ code: 'custom', path: ['dc1'], message: 'give at least one listener (DC1 or DC2)' });
    if (s.suspendEverySec > 0 && !(s.suspendForSec > 0 && s.suspendForSec < s.suspendEverySec)) {
      ctx.addIssue({
        code: 'custom',
        path: ['suspendForSec'],
        message: 'must be above 0 and below the suspend period',
      });
    }
  });

export type CentralSettingsInput = z.input<typeof centralSettingsSchema>;
export type CentralSettings = z.output<typeof centralSettingsSchema>;
