import { formatPence, readPence } from './amount.js';
import { requiredField } from './formats.js';
import { ORIGINAL_MESSAGE_NAME, checkOneTransaction, max35, settledGroupHeader } from './header.js';
import { parseMessage, withoutAbsent, type ParseOptions, type Rejection } from './parse.js';
import { Refusal, optionalText, requiredText, writeDocument, type XmlNode } from './xml.js';

/** [P11] The only reversal the link carries: the scheme timed the inbound payment out (TMOT, after R3). */
export type ReversalReason = 'TMOT';

export interface Pacs007Build {
  msgId: string;
  createdAt: number;
  /** GrpHdr/MsgId of the inbound pacs.008 reversed. */
  originalMsgId: string;
  originalEndToEndId?: string;
  originalTrn: string;
  /** RvsdIntrBkSttlmAmt, which the XSD requires: the whole amount of the payment. */
  amountPence: number;
  reason: ReversalReason;
}

export type PaymentReversal = Omit<Pacs007Build, 'createdAt'>;

export type Pacs007Parse = { ok: true; reversal: PaymentReversal } | Rejection;

const TX = 'TxInf';

export function buildPacs007(p: Pacs007Build): string {
  return writeDocument('pacs.007', {
    GrpHdr: settledGroupHeader(p.msgId, p.createdAt),
    OrgnlGrpInf: { OrgnlMsgId: max35(p.originalMsgId, 'OrgnlMsgId'), OrgnlMsgNmId: ORIGINAL_MESSAGE_NAME },
    TxInf: {
      ...(p.originalEndToEndId !== undefined && { OrgnlEndToEndId: max35(p.originalEndToEndId, 'OrgnlEndToEndId') }),
      OrgnlTxId: max35(p.originalTrn, 'OrgnlTxId'),
      RvsdIntrBkSttlmAmt: { '@_Ccy': 'GBP', '#text': formatPence(p.amountPence) },
      RvslRsnInf: { Rsn: { Prtry: p.reason } },
    },
  });
}

/** For tests and the bank simulator: a pacs.007 as the gateway writes it. */
export function parsePacs007(xml: string, options: ParseOptions = {}): Pacs007Parse {
  const r = parseMessage(
    'pacs.007',
    xml,
    { endToEndId: `${TX}/OrgnlEndToEndId`, trn: `${TX}/OrgnlTxId` },
    readReversal,
    options,
  );
  return r.ok ? { ok: true, reversal: r.value } : r;
}

function readReversal(m: XmlNode): PaymentReversal {
  checkOneTransaction(m, TX);
  if (optionalText(m, `${TX}/RvslRsnInf/Rsn/Prtry`) !== 'TMOT')
    throw new Refusal(`${TX}/RvslRsnInf/Rsn/Prtry must be TMOT`);
  return withoutAbsent<PaymentReversal>({
    msgId: requiredText(m, 'GrpHdr/MsgId', 'message id'),
    originalMsgId: requiredText(m, 'OrgnlGrpInf/OrgnlMsgId', 'original message id'),
    originalEndToEndId: optionalText(m, `${TX}/OrgnlEndToEndId`),
    originalTrn: requiredField(m, `${TX}/OrgnlTxId`, 31),
    amountPence: readPence(m, `${TX}/RvsdIntrBkSttlmAmt`),
    reason: 'TMOT',
  });
}
