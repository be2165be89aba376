export { createTransport } from './factory.js';
export { mqConfigSchema, type MqConfig } from './config.js';
export { consumeOptions, ensureParticipantQueues, participantQueues, type ParticipantQueues } from './queues.js';
export {
  DEFAULT_BACKOUT_THRESHOLD,
  isMessageId,
  newMessageId,
  type ConsumeOptions,
  type Consumer,
  type Disposition,
  type Handler,
  type IncomingMessage,
  type MqTransport,
  type OutgoingMessage,
} from './port.js';
