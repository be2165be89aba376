/** ISO 20022 messages of the participant link (participant-mq.md section 3). */
export type { MessageKind } from './kinds.js';
export { validateXml, type Validation } from './schemas.js';
export { detectMessage } from './detect.js';
export type { ParseOptions, Rejection } from './parse.js';
export { buildPacs008, parsePacs008, type Pacs008Build, type Instruction, type Pacs008Parse } from './pacs008.js';
export {
  buildPacs002,
  parsePacs002,
  type Pacs002Build,
  type Pacs002Parse,
  type PaymentStatus,
  type TransactionStatus,
} from './pacs002.js';
export {
  buildPacs007,
  parsePacs007,
  type Pacs007Build,
  type Pacs007Parse,
  type PaymentReversal,
  type ReversalReason,
} from './pacs007.js';
