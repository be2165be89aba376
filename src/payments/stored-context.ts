import type { z } from 'zod';
import type { Logger } from '../base/log.js';
import type { Payment } from '../ledger/transition.js';

/**
 * The version of the context schemas (`inboundContext`, `outboundContext`) this build writes:
 * every commit stores `{ v: CONTEXT_VERSION, ...context }` in the ledger's `context` column, and
 * every load parses it back with the machine's schema.
 *
 * Earlier versions are read by the same schema once their reader's `upgrade` has completed them:
 * - 0, a row written before the version was kept (no `v`): an inbound context may lack
 *   `offerMessageId` (its offer's id is then the row's `participant_msg_id`);
 * - 0 and 1: an inbound context lacks `arrivalSite`, from the time one site wrote every step of
 *   its payments: the row's `site`.
 * Such a row is written as the current version at its next commit; nothing migrates the rows in
 * the database.
 */
export const CONTEXT_VERSION = 2;

/** The versions before CONTEXT_VERSION that this build still reads. */
type EarlierVersion = 0 | 1;

export type StoredContext<C> = C & { v: typeof CONTEXT_VERSION };

export function storedContext<C extends object>(context: C): StoredContext<C> {
  return { v: CONTEXT_VERSION, ...context };
}

export type Loaded<C> = { ok: true; context: C } | { ok: false; issue: string };

export interface ContextReader<C> {
  schema: z.ZodType<C>;
  /** The states of the machine: a row in any other cannot be resumed either. */
  states: readonly string[];
  /** Completes a context of an earlier version from its row. */
  upgrade?: (context: Record<string, unknown>, row: Payment, from: EarlierVersion) => Record<string, unknown>;
}

/**
 * A row's context, parsed. The issue names the paths at fault and the kind of error, never a
 * value nor an unknown key: a context holds no personal data, but a broken one may hold anything.
 */
export function loadContext<C>(row: Payment, reader: ContextReader<C>): Loaded<C> {
  if (!reader.states.includes(row.state)) return { ok: false, issue: 'state: not a state of its machine' };
  if (row.context === undefined) return { ok: false, issue: 'context: missing' };
  const { v, ...context } = row.context;
  const version = v ?? 0;
  if (version !== 0 && version !== 1 && version !== CONTEXT_VERSION) {
    return {
      ok: false,
      issue: `v: version ${typeof v === 'number' ? v : `of type ${typeof v}`} is not one this build reads (0-${CONTEXT_VERSION})`,
    };
  }
  const parsed = reader.schema.safeParse(
    version !== CONTEXT_VERSION && reader.upgrade !== undefined ? reader.upgrade(context, row, version) : context,
  );
  if (parsed.success) return { ok: true, context: parsed.data };
  return { ok: false, issue: parsed.error.issues.map(describeIssue).join('; ') };
}

function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length === 0 ? 'context' : issue.path.map(String).join('.');
  const detail =
    issue.code === 'invalid_type'
      ? ` (expected ${issue.expected})`
      : issue.code === 'unrecognized_keys'
        ? ` (${issue.keys.length} unknown)`
        : '';
  return `${path}: ${issue.code}${detail}`;
}

/** A row that cannot be resumed is left as it is in the ledger, for an operator, and said so. */
export function reportUnreadable(log: Logger, row: Payment, issue: string): void {
  log.error(
    { fpid: row.fpid, direction: row.direction, state: row.state, issue },
    'payment not resumed: its stored context does not parse; left in the ledger for an operator',
  );
}
