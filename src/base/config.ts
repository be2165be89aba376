import { z } from 'zod';

/**
 * The primitives every configuration is made of, written once: the gateway's config file, the scheme
 * link, the MQ settings and the simulators' command lines read endpoints and MAC keys alike and
 * report what they refuse alike.
 */

/** Section 8: a MAC key is 16 to 64 whole bytes, given as hex. */
export const MAC_KEY_HEX = /^(?:[0-9a-fA-F]{2}){16,64}$/;

export const macKeySchema = z.string().regex(MAC_KEY_HEX, 'must be 16 to 64 bytes given as hex');

/** `host:port`, split at the last colon. */
export function splitEndpoint(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

/** `host:port`; port 0 asks the system for a free one (a listener reports the real port). */
export const endpointSchema = z
  .string()
  .regex(/^\S+:\d{1,5}$/, { error: 'must be host:port', abort: true })
  .refine((text) => splitEndpoint(text).port <= 65535, 'port must be 0..65535');

/** Where an issue is, as the reader of the settings names it; by default its dotted path. */
export type IssuePlace = (path: readonly PropertyKey[]) => string;

const dottedPath: IssuePlace = (path) => path.map(String).join('.') || '(root)';

/** One line per refused setting: where, then why. */
export function issueLines(issues: readonly z.core.$ZodIssue[], placeOf: IssuePlace = dottedPath): string[] {
  return issues.map((i) => `${placeOf(i.path)}: ${i.message}`);
}

/** Parses `input` with `schema`; a bad setting is refused with every reason at once: `invalid ${what}: ...`. */
export function parseSettings<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const r = schema.safeParse(input);
  if (!r.success) throw new Error(`invalid ${what}: ${issueLines(r.error.issues).join('; ')}`);
  return r.data;
}
