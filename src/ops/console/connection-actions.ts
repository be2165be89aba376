/**
 * Drain and undrain of this site's scheme connections as the console says them: asked on this
 * site's console, or applied here from the other site's (a site command). The same words either way.
 */
import type { Dc } from '../../scheme/connection.js';
import type { ConsoleSite } from './site.js';

export type ConnectionTarget = { connection: string } | { dc: Dc };

/** What an action answers: what happened, for the page to say. */
export interface Done {
  ok: boolean;
  message: string;
}

/** `site-a/DC1-1` or `site-a/DC1`, as audit rows name a target. */
export const targetName = (site: string, t: ConnectionTarget) =>
  'dc' in t ? `${site}/${t.dc}` : `${site}/${t.connection}`;

export async function drainHere(s: ConsoleSite, target: ConnectionTarget): Promise<Done> {
  const r = await s.drain(target);
  return r.ok
    ? {
        ok: true,
        message: `drained (R8: receive signed off, held payments answered, submit signed off): ${r.connections.join(', ')}`,
      }
    : { ok: false, message: r.reason };
}

export function undrainHere(s: ConsoleSite, target: ConnectionTarget): Done {
  const r = s.undrain(target);
  return r.ok
    ? { ok: true, message: `reconnecting and signing on again: ${r.connections.join(', ')}` }
    : { ok: false, message: r.reason };
}
