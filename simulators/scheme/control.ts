import { z } from 'zod';
import type { Logger } from '../../src/base/log.js';
import { rateRoute, startControlServer, type ControlServer, type Route } from '../control.js';
import { SessionUnavailable, type Central } from './central.js';

export type { ControlServer } from '../control.js';

const inboundBody = z.object({ count: z.number().int().min(1).max(100_000), session: z.string().optional() });
const dropBody = z.object({ session: z.string().optional() });
const muteBody = z.object({ session: z.string() });

function routes(central: Central): Record<string, Route> {
  return {
    'GET /report': () => central.report(),
    'GET /sessions': () => central.sessions(),
    'POST /inbound': (b) => {
      const { count, session } = inboundBody.parse(b);
      const fpids = central.sendInbound(count, session);
      return { sent: fpids.length, fpids };
    },
    'POST /rate': rateRoute((perSecond) => central.setInboundRate(perSecond)),
    'POST /drop': (b) => ({ dropped: central.drop(dropBody.parse(b).session) ?? null }),
    'POST /mute': (b) => {
      const { session } = muteBody.parse(b);
      central.mute(session);
      return { muted: session };
    },
    'POST /suspend': () => ({ changed: central.suspend() }),
    'POST /resume': () => ({ changed: central.resume() }),
    'GET /timings': () => central.timings.view(),
    'POST /timings/clear': () => ({ cleared: central.timings.clear() }),
  };
}

/** The JSON control endpoint (README "Control endpoint"): what tests use for deterministic scenarios. */
export function startControl(central: Central, endpoint: string, log: Logger): Promise<ControlServer> {
  // A session that is unknown or cannot be used is the caller's conflict.
  return startControlServer(routes(central), endpoint, log, (e) => (e instanceof SessionUnavailable ? 409 : undefined));
}
