import { ActionCode } from '../../scheme/profile.js';
import { requiredField } from './formats.js';
import { ORIGINAL_MESSAGE_NAME, checkOneTransaction, groupHeader, max35 } from './header.js';
import { parseMessage, withoutAbsent, type ParseOptions, type Rejection } from './parse.js';
import { Refusal, optionalText, requiredText, writeDocument, type XmlNode } from './xml.js';

export type TransactionStatus = 'ACSC' | 'RJCT';

/**
 * A status report on one pacs.008. The original ids are optional because a message the gateway
 * could not parse is still answered with what could be read of it (participant-mq.md section 2).
 */
export interface Pacs002Build {
  msgId: string;
  createdAt: number;
  originalMsgId?: string;
  originalEndToEndId?: string;
  /** OrgnlTxId: the TRN. */
  originalTrn?: string;
  status: TransactionStatus;
  /** StsRsnInf/Rsn/Prtry: the scheme's action code; required for RJCT. */
  reason?: ActionCode;
  /** StsRsnInf/AddtlInf: what was wrong, for a message the gateway refused (at most 105 chars kept). */
  detail?: string;
}

/** A participant's decision on an inbound payment (or, for tests and simulators, the gateway's report). */
export interface PaymentStatus {
  msgId: string;
  status: TransactionStatus;
  reason?: ActionCode;
  /** OrgnlTxId: the TRN of the payment decided. */
  originalTrn: string;
  originalMsgId?: string;
  originalEndToEndId?: string;
}

export type Pacs002Parse = { ok: true; status: PaymentStatus } | Rejection;

const ACTION_CODES = new Set<string>(Object.values(ActionCode));
const TX = 'TxInfAndSts';

export function buildPacs002(p: Pacs002Build): string {
  if (p.status === 'RJCT' && (p.reason === undefined || p.reason === ActionCode.accepted))
    throw new RangeError('a RJCT needs a reject action code');
  return writeDocument('pacs.002', {
    GrpHdr: groupHeader(p.msgId, p.createdAt),
    ...(p.originalMsgId !== undefined && {
      OrgnlGrpInfAndSts: { OrgnlMsgId: max35(p.originalMsgId, 'OrgnlMsgId'), OrgnlMsgNmId: ORIGINAL_MESSAGE_NAME },
    }),
    TxInfAndSts: {
      ...(p.originalEndToEndId !== undefined && { OrgnlEndToEndId: max35(p.originalEndToEndId, 'OrgnlEndToEndId') }),
      ...(p.originalTrn !== undefined && { OrgnlTxId: max35(p.originalTrn, 'OrgnlTxId') }),
      TxSts: p.status,
      ...(p.reason !== undefined && {
        StsRsnInf: {
          Rsn: { Prtry: p.reason },
          ...(p.detail !== undefined && p.detail !== '' && { AddtlInf: p.detail.slice(0, 105) }),
        },
      }),
    },
  });
}

/** A pacs.002 deciding one payment: ACSC, or RJCT with an action code, and the payment's TRN. */
export function parsePacs002(xml: string, options: ParseOptions = {}): Pacs002Parse {
  const r = parseMessage(
    'pacs.002',
    xml,
    { endToEndId: `${TX}/OrgnlEndToEndId`, trn: `${TX}/OrgnlTxId` },
    readStatus,
    options,
  );
  return r.ok ? { ok: true, status: r.value } : r;
}

function readStatus(m: XmlNode): PaymentStatus {
  checkOneTransaction(m, TX);
  const status = requiredText(m, `${TX}/TxSts`, 'transaction status');
  if (status !== 'ACSC' && status !== 'RJCT') throw new Refusal(`${TX}/TxSts must be ACSC or RJCT`);
  if (optionalText(m, `${TX}/StsRsnInf/Rsn/Cd`) !== undefined)
    throw new Refusal(`${TX}/StsRsnInf/Rsn must carry the action code as Prtry, not Cd`);
  const reason = optionalText(m, `${TX}/StsRsnInf/Rsn/Prtry`);
  if (reason !== undefined && !ACTION_CODES.has(reason))
    throw new Refusal(`${TX}/StsRsnInf/Rsn/Prtry must be an action code of the scheme`);
  if (status === 'RJCT' && (reason === undefined || reason === ActionCode.accepted))
    throw new Refusal(`${TX}/StsRsnInf/Rsn/Prtry must give the reject action code of a RJCT`);
  return withoutAbsent({
    msgId: requiredText(m, 'GrpHdr/MsgId', 'message id'),
    status,
    reason: reason as ActionCode | undefined,
    originalTrn: requiredField(m, `${TX}/OrgnlTxId`, 31),
    originalMsgId: optionalText(m, 'OrgnlGrpInfAndSts/OrgnlMsgId'),
    originalEndToEndId: optionalText(m, `${TX}/OrgnlEndToEndId`),
  });
}
