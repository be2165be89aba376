import { z } from 'zod';
import type { Logger } from '../../src/base/log.js';
import { NotRunning, UnknownParticipant, type ParticipantBanks } from './bank.js';
import { rateRoute, startControlServer, type ControlServer, type Route } from '../control.js';

export type { ControlServer } from '../control.js';

const outboundBody = z
  .object({
    count: z.number().int().min(1).max(100_000),
    participant: z
      .string()
      .regex(/^\d{6}$/)
      .optional(),
  })
  .strict();

function routes(banks: ParticipantBanks): Record<string, Route> {
  return {
    'GET /report': () => banks.report(),
    'POST /outbound': (b) => {
      const { count, participant } = outboundBody.parse(b);
      const trns = banks.sendOutbound(count, participant);
      return { sent: trns.length, trns };
    },
    'POST /rate': rateRoute((perSecond) => banks.setOutboundRate(perSecond)),
    'POST /pause-decisions': () => ({ changed: banks.pauseDecisions(), paused: true }),
    'POST /resume-decisions': () => ({ changed: banks.resumeDecisions(), paused: false }),
    'GET /timings': () => banks.timings.view(),
    'POST /timings/clear': () => ({ cleared: banks.timings.clear() }),
  };
}

/** The JSON control endpoint (README "Control endpoint"). */
export function startControl(banks: ParticipantBanks, endpoint: string, log: Logger): Promise<ControlServer> {
  return startControlServer(routes(banks), endpoint, log, (e) =>
    e instanceof UnknownParticipant ? 404 : e instanceof NotRunning ? 409 : undefined,
  );
}
