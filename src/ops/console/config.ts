import { z } from 'zod';

/** `viewer` reads; `operator` also acts (moves, drains, suspends, approves). */
export const ROLES = ['viewer', 'operator'] as const;

const SCRYPT_HASH = /^scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/;
const TOKEN_HASH = /^sha256\$[0-9a-f]{64}$/;

export const operatorSchema = z.object({
  /** The login name, written on every audit row. */
  name: z.string().regex(/^[\w.@:+-]{1,64}$/, 'a name is 1 to 64 letters, digits or . _ @ : + -'),
  role: z.enum(ROLES),
  /** `npm run console:hash` prints it from the secret on stdin: scrypt, salted. */
  secretHash: z.string().regex(SCRYPT_HASH, 'secretHash must be what npm run console:hash prints (scrypt$...)'),
  /** A bearer token for scripts (`Authorization: Bearer ...`): `npm run console:hash -- --token` makes one. */
  tokenHash: z.string().regex(TOKEN_HASH, 'tokenHash must be what npm run console:hash -- --token prints').optional(),
  /** Sees account numbers and names in full; everyone else sees their last 4 characters. */
  personalData: z.boolean().default(false),
});

export type OperatorAccount = z.output<typeof operatorSchema>;

/**
 * The ops console, served on the site's HTTP server (config `http`: loopback unless told). Absent:
 * no console. Every time is milliseconds. Defaults: sessions idle out after 15 minutes and end
 * after 8 hours whatever, 1000 of them at most; five failed logins a minute from one address; a
 * proposal waits 5 minutes for its second operator; a command to the other site waits a minute
 * for it, which looks for its commands every second besides the signal.
 */
export const consoleConfigSchema = z
  .object({
    /** The demo alone may run with no operator (it adds its own) and four eyes off. */
    demo: z.boolean().default(false),
    operators: z.array(operatorSchema).default([]),
    /** A second, different operator approves a move of the open site and a DC drain. */
    fourEyes: z.boolean().default(true),
    proposalTtlMs: z.number().int().min(10_000).max(3_600_000).default(300_000),
    sessionIdleMs: z.number().int().min(1_000).default(900_000),
    sessionAbsoluteMs: z.number().int().min(1_000).default(28_800_000),
    /** Sessions this site's console holds at most; at the bound a new login drops the least recently used. */
    maxSessions: z.number().int().min(1).max(100_000).default(1_000),
    loginAttemptsPerMinute: z.number().int().min(1).max(1000).default(5),
    /** How often this site writes its status row for the other site's console. */
    statusEveryMs: z.number().int().min(100).max(10_000).default(1_000),
    /** A drain or undrain sent to the other site is not applied after this (the site was away). */
    commandTtlMs: z.number().int().min(1_000).max(3_600_000).default(60_000),
    /** How often a site looks in the ledger for its commands and the suspensions, should a signal be lost. */
    commandPollMs: z.number().int().min(50).max(60_000).default(1_000),
    /** PEM files: HTTPS when given (both). */
    tls: z.object({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  })
  .superRefine((c, ctx) => {
    if (!c.demo && c.operators.length === 0)
      ctx.addIssue({ code: 'custom', message: 'the console needs at least one operator outside the demo' });
    if (!c.demo && !c.fourEyes)
      ctx.addIssue({ code: 'custom', message: 'four eyes may be turned off for the demo only (console.demo)' });
    const names = c.operators.map((o) => o.name);
    const twice = names.filter((n, i) => names.indexOf(n) !== i);
    if (twice.length > 0) ctx.addIssue({ code: 'custom', message: `operator names must differ: ${twice.join(', ')}` });
    if (c.sessionIdleMs > c.sessionAbsoluteMs)
      ctx.addIssue({ code: 'custom', message: 'sessionIdleMs must not exceed sessionAbsoluteMs' });
  });

export type ConsoleConfig = z.output<typeof consoleConfigSchema>;
