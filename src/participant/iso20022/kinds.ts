/** The three ISO 20022 messages of the participant link (participant-mq.md section 3). */
export type MessageKind = 'pacs.008' | 'pacs.002' | 'pacs.007';

export interface MessageSpec {
  /** The schema version the link speaks, also the XSD's file name. */
  readonly version: string;
  /** The Document namespace that identifies the message. */
  readonly namespace: string;
  /** The message element under Document. */
  readonly root: string;
}

const spec = (version: string, root: string): MessageSpec => ({
  version,
  namespace: `urn:iso:std:iso:20022:tech:xsd:${version}`,
  root,
});

export const MESSAGES: Readonly<Record<MessageKind, MessageSpec>> = {
  'pacs.008': spec('pacs.008.001.09', 'FIToFICstmrCdtTrf'),
  'pacs.002': spec('pacs.002.001.11', 'FIToFIPmtStsRpt'),
  'pacs.007': spec('pacs.007.001.10', 'FIToFIPmtRvsl'),
};

export const MESSAGE_KINDS = Object.keys(MESSAGES) as MessageKind[];
