import { DEFAULT_BACKOUT_THRESHOLD, type ConsumeOptions, type MqTransport } from './port.js';

/** A participant's three queues (participant-mq.md §1). */
export interface ParticipantQueues {
  toGateway: string;
  fromGateway: string;
  backout: string;
}

const TO_GATEWAY = '.TO.GATEWAY';

/** A queue only the open site reads: a participant's `TO.GATEWAY`. */
export function readByOneSite(queue: string): boolean {
  return queue.endsWith(TO_GATEWAY);
}

export function participantQueues(participantId: string): ParticipantQueues {
  if (!/^\d{6}$/.test(participantId))
    throw new Error(`participant id must be 6 digits, got ${JSON.stringify(participantId)}`);
  const toGateway = `FPS.${participantId}${TO_GATEWAY}`;
  return { toGateway, fromGateway: `FPS.${participantId}.FROM.GATEWAY`, backout: `${toGateway}.BACKOUT` };
}

/** Declares (AMQP, memory) or checks (IBM MQ) a participant's queues and returns their names. */
export async function ensureParticipantQueues(
  transport: MqTransport,
  participantId: string,
): Promise<ParticipantQueues> {
  const q = participantQueues(participantId);
  await transport.ensureQueues([q.toGateway, q.fromGateway, q.backout]);
  return q;
}

/** Consume options for `queue` with the scheme's defaults: threshold 3, backout to `<queue>.BACKOUT`. */
export function consumeOptions(queue: string, prefetch: number): ConsumeOptions {
  return { prefetch, backoutThreshold: DEFAULT_BACKOUT_THRESHOLD, backoutQueue: `${queue}.BACKOUT` };
}
