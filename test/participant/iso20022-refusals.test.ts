import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ActionCode } from '../../src/scheme/profile.js';
import {
  buildPacs002,
  buildPacs007,
  buildPacs008,
  detectMessage,
  parsePacs002,
  parsePacs007,
  parsePacs008,
  validateXml,
} from '../../src/participant/iso20022/index.js';
import { basePayment, baseReturn } from '../support/iso20022-arbitraries.js';

const createdAt = Date.UTC(2026, 10, 22, 9, 30, 15);
const sip = buildPacs008({ msgId: 'MSG-1', createdAt, payment: basePayment, instruction: true });
const rtn = buildPacs008({ msgId: 'MSG-1', createdAt, payment: baseReturn, instruction: true });
const NS8 = 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.09';

/** `xml` with `from` replaced once, failing loudly if `from` is not there. */
function edit(xml: string, from: string | RegExp, to: string): string {
  const out = xml.replace(from, to);
  expect(out, `edit ${String(from)}`).not.toBe(xml);
  return out;
}

function refused(xml: string) {
  const r = parsePacs008(xml);
  if (r.ok) throw new Error('expected a refusal');
  return r;
}

describe('parsePacs008 refuses, naming the element', () => {
  it('XML that is not well formed, with no ids to address', () => {
    const r = refused(sip.slice(0, 200));
    expect(r.reason).toMatch(/^not well-formed XML: /);
    expect([r.msgId, r.trn]).toEqual([undefined, undefined]);
  });

  it('a DOCTYPE: external entities and entity expansion never reach the parser', () => {
    const xxe =
      `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>` +
      sip.slice(sip.indexOf('<Document')).replace('<MsgId>MSG-1', '<MsgId>&x;');
    expect(refused(xxe).reason).toBe('a DOCTYPE is not allowed');
    const laughs = `<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]><Document xmlns="${NS8}">&d;&d;&d;&d;</Document>`;
    // libxml2's own amplification guard may stop it before the DOCTYPE check does.
    expect(refused(laughs).reason).toMatch(/^a DOCTYPE is not allowed$|entity reference loop/);
  });

  it('another message or version, still extracting the ids it can', () => {
    const r = refused(edit(sip, NS8, 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08'));
    expect(r.reason).toMatch(/namespace urn:iso:std:iso:20022:tech:xsd:pacs\.008\.001\.09/);
    expect([r.msgId, r.trn, r.endToEndId]).toEqual(['MSG-1', 'TRN00000000000001A', 'E2E-1']);
    expect(
      refused(buildPacs002({ msgId: 'S1', createdAt, originalTrn: 'TRN00000000000001A', status: 'ACSC' })).reason,
    ).toMatch(/namespace/);
  });

  it('schema violations, with the ids of the message', () => {
    const r = refused(edit(sip, '<ChrgBr>SLEV</ChrgBr>', ''));
    expect(r.reason).toMatch(/^not valid against pacs\.008: Dbtr: not expected here; expected .*ChrgBr$/);
    expect([r.msgId, r.trn]).toEqual(['MSG-1', 'TRN00000000000001A']);
    expect(refused(edit(sip, /<CreDtTm>[^<]*<\/CreDtTm>/, '')).reason).toMatch(
      /NbOfTxs: not expected here; expected CreDtTm/,
    );
    const negative = refused(edit(sip, 'Ccy="GBP">12.50', 'Ccy="GBP">-12.50')).reason;
    expect(negative).toMatch(/IntrBkSttlmAmt: the value breaks its minInclusive facet/);
    expect(negative).not.toContain('12.50');
    const pattern = refused(edit(sip, '<NbOfTxs>1', '<NbOfTxs>x1')).reason;
    expect(pattern).toMatch(/NbOfTxs: the value breaks its pattern facet/);
    expect(pattern).not.toContain('x1');
  });

  it('an amount with 3 decimals', () => {
    const r = refused(edit(sip, '>12.50<', '>12.500<'));
    expect(r.reason).toBe('CdtTrfTxInf/IntrBkSttlmAmt has more than 2 decimals');
    expect([r.msgId, r.trn]).toEqual(['MSG-1', 'TRN00000000000001A']);
  });

  it('amounts of zero or beyond 14 digits of pence, and accepts what xs:decimal allows', () => {
    expect(refused(edit(sip, '>12.50<', '>0.00<')).reason).toBe('CdtTrfTxInf/IntrBkSttlmAmt must be above zero');
    expect(refused(edit(sip, '>12.50<', '>1000000000000<')).reason).toBe(
      'CdtTrfTxInf/IntrBkSttlmAmt exceeds 14 digits of pence',
    );
    for (const [text, pence] of [
      [' +012.5 ', 1250],
      ['7', 700],
      ['.01', 1],
      ['3.', 300],
    ] as const) {
      const r = parsePacs008(edit(sip, '>12.50<', `>${text}<`));
      expect(r.ok && r.instruction.amountPence, text).toBe(pence);
    }
  });

  it('a currency other than GBP', () => {
    expect(refused(edit(sip, 'Ccy="GBP"', 'Ccy="EUR"')).reason).toBe('CdtTrfTxInf/IntrBkSttlmAmt/@Ccy must be GBP');
  });

  it('a TRN with lower case, still echoing it so the RJCT can be addressed', () => {
    const r = refused(edit(sip, '<TxId>TRN00000000000001A', '<TxId>trn00000000000001a'));
    expect(r.reason).toBe('CdtTrfTxInf/PmtId/TxId (field 31, TRN) must be 18 characters A-Z 0-9');
    expect(r.trn).toBe('trn00000000000001a');
    expect(refused(edit(sip, /<TxId>[^<]*<\/TxId>/, '')).reason).toBe(
      'CdtTrfTxInf/PmtId/TxId (field 31, TRN) is missing',
    );
  });

  it('two transactions, addressing the message but no single TRN', () => {
    const tx = /<CdtTrfTxInf>.*<\/CdtTrfTxInf>/.exec(sip)![0];
    const two = refused(
      edit(edit(sip, tx, tx + tx.replace('TRN00000000000001A', 'TRN00000000000002B')), '<NbOfTxs>1', '<NbOfTxs>2'),
    );
    expect(two.reason).toBe('CdtTrfTxInf occurs 2 times; the link carries exactly one transaction per message');
    expect([two.msgId, two.trn]).toEqual(['MSG-1', undefined]);
    expect(refused(edit(sip, '<NbOfTxs>1', '<NbOfTxs>2')).reason).toBe('GrpHdr/NbOfTxs must be 1');
  });

  it('a return without field 126 or 127, and return fields on a payment that is not one', () => {
    expect(refused(edit(rtn, /<AddtlRmtInf>[^<]*<\/AddtlRmtInf>/, '')).reason).toBe(
      'CdtTrfTxInf/RmtInf/Strd/AddtlRmtInf (field 126, return reason code) is mandatory for a return (RTN)',
    );
    expect(refused(edit(rtn, /<RfrdDocInf>.*<\/RfrdDocInf>/, '')).reason).toBe(
      'CdtTrfTxInf/RmtInf/Strd/RfrdDocInf/Nb (field 127, FPID of the payment being returned) is mandatory for a return (RTN)',
    );
    expect(refused(edit(rtn, '<Nb>TRN', '<Nb>XTRN')).reason).toMatch(
      /^CdtTrfTxInf\/RmtInf\/Strd\/RfrdDocInf\/Nb \(field 127\)/,
    );
    expect(refused(edit(rtn, '<AddtlRmtInf>00000012', '<AddtlRmtInf>12')).reason).toMatch(
      /AddtlRmtInf \(field 126, return reason code\) must be 8 digits/,
    );
    expect(refused(edit(rtn, '<Prtry>RTN', '<Prtry>SIP')).reason).toMatch(/only for a return/);
  });

  it('v1.1 inbound elements: a ClrSysRef that is no compact FPID, an InstgAgt that is no 6-digit institution', () => {
    const inbound = buildPacs008({ msgId: 'MSG-1', createdAt, payment: basePayment });
    expect(refused(edit(inbound, '<ClrSysRef>TRN', '<ClrSysRef>trn')).reason).toMatch(
      /^CdtTrfTxInf\/PmtId\/ClrSysRef \(the payment's FPID\) must be a FPID without its currency and padding/,
    );
    expect(
      refused(edit(inbound, '<Prtry>FPS</Prtry></ClrSysId><MmbId>040004', '<Prtry>FPS</Prtry></ClrSysId><MmbId>04000X'))
        .reason,
    ).toMatch(
      /^CdtTrfTxInf\/InstgAgt\/FinInstnId\/ClrSysMmbId\/MmbId \(field 98, sending institution\) must be 6 digits$/,
    );
  });

  it('scheme formats of the other fields, never quoting the value', () => {
    const cases: Array<[from: string, to: string, reason: RegExp, secret: string]> = [
      [
        '<Id>87654321',
        '<Id>8765432',
        /^CdtTrfTxInf\/DbtrAcct\/Id\/Othr\/Id \(field 43, originating account number\) must be 8 digits$/,
        '8765432',
      ],
      ['<Id>12345678', '<Id>1234567X', /^CdtTrfTxInf\/CdtrAcct\/Id\/Othr\/Id \(field 35, /, '1234567X'],
      ['<MmbId>040004', '<MmbId>04000', /^CdtTrfTxInf\/DbtrAgt\/FinInstnId\/ClrSysMmbId\/MmbId \(field 42, /, '04000'],
      [
        '<MmbId>200000',
        '<MmbId>2000000',
        /^CdtTrfTxInf\/CdtrAgt\/FinInstnId\/ClrSysMmbId\/MmbId \(field 95, /,
        '2000000',
      ],
      [
        '<Nm>Jane Example',
        '<Nm>Jane Example Who Has A Very Long Name Indeed',
        /^CdtTrfTxInf\/Dbtr\/Nm \(field 116, originator name\) must be 1 to 40 printable ASCII/,
        'Jane Example Who',
      ],
      ['<Nm>Acme Ltd', '<Nm>Acmé Ltd', /^CdtTrfTxInf\/Cdtr\/Nm \(field 118, /, 'Acmé'],
      [
        '<Ref>REF-1',
        '<Ref>REF-1-TOO-LONG-FOR-120',
        /^CdtTrfTxInf\/RmtInf\/Strd\/CdtrRefInf\/Ref \(field 120, /,
        'TOO-LONG',
      ],
      ['<Ustrd>Invoice 42', '<Ustrd>Invoice&#10;42', /^CdtTrfTxInf\/RmtInf\/Ustrd \(field 121, /, 'Invoice'],
      [
        '<Ustrd>Invoice 42',
        `<Ustrd>Invoice 42 ${'x'.repeat(130)}`,
        /Ustrd: the value breaks its maxLength facet/,
        'Invoice 42',
      ],
      ['<EndToEndId>E2E-1', '<EndToEndId>E2E&#9;1', /^CdtTrfTxInf\/PmtId\/EndToEndId \(field 62, /, 'E2E'],
      [
        '<Prtry>SIP',
        '<Prtry>XYZ',
        /^CdtTrfTxInf\/PmtTpInf\/LclInstrm\/Prtry \(field 3\) must be one of SIP, RTN, SOP, FDP$/,
        'XYZ',
      ],
      [
        '<IntrBkSttlmAmt',
        '<IntrBkSttlmDt>2026-13-01</IntrBkSttlmDt><IntrBkSttlmAmt',
        /^not valid against pacs\.008: /,
        '2026-13',
      ],
      ['<Id>87654321', `<Id>${'9'.repeat(35)}`, /Id: the value breaks its maxLength facet/, '9'.repeat(35)],
      ['<Id>87654321', '<Id>', /Id: the value breaks its minLength facet/, '87654321'],
    ];
    for (const [from, to, reason, secret] of cases) {
      const r = refused(edit(sip, from, to));
      expect(r.reason, to).toMatch(reason);
      expect(r.reason, to).not.toContain(secret);
    }
  });

  it('a repeated element of the profile', () => {
    expect(refused(edit(sip, '<Ustrd>', '<Ustrd>more</Ustrd><Ustrd>')).reason).toBe(
      'CdtTrfTxInf/RmtInf/Ustrd occurs 2 times, at most once is allowed',
    );
  });

  it('does not echo ids that would not fit a pacs.002', () => {
    const r = refused(edit(sip, '<MsgId>MSG-1', `<MsgId>${'M'.repeat(36)}`));
    expect(r.reason).toMatch(/MsgId: the value breaks its maxLength facet/);
    expect([r.msgId, r.trn]).toEqual([undefined, 'TRN00000000000001A']);
  });
});

describe('parsePacs008 on anything a queue may carry', () => {
  it('answers, never throws, for arbitrary text and broken copies of a valid message', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.nat({ max: sip.length }).map((n) => sip.slice(0, n)),
          fc.nat({ max: sip.length }).map((n) => sip.slice(n)),
        ),
        (text) => {
          const r = parsePacs008(text);
          expect(typeof r.ok).toBe('boolean');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('reads a valid message whose supplementary data nests deeper than the XML reader default', () => {
    const deep = '<a>'.repeat(200) + '</a>'.repeat(200);
    expect(
      parsePacs008(edit(sip, '</CdtTrfTxInf>', `<SplmtryData><Envlp>${deep}</Envlp></SplmtryData></CdtTrfTxInf>`)).ok,
    ).toBe(true);
  });
});

describe('parsePacs002 refuses', () => {
  const acsc = buildPacs002({
    msgId: 'S1',
    createdAt,
    originalMsgId: 'G1',
    originalTrn: 'TRN00000000000001A',
    status: 'ACSC',
  });
  const rjct = buildPacs002({
    msgId: 'S1',
    createdAt,
    originalMsgId: 'G1',
    originalTrn: 'TRN00000000000001A',
    status: 'RJCT',
    reason: ActionCode.invalidAccount,
  });
  const reasonOf = (xml: string) => {
    const r = parsePacs002(xml);
    if (r.ok) throw new Error('expected a refusal');
    return r.reason;
  };

  it('statuses other than ACSC and RJCT, and a RJCT without an action code', () => {
    expect(reasonOf(edit(acsc, '>ACSC<', '>PDNG<'))).toBe('TxInfAndSts/TxSts must be ACSC or RJCT');
    expect(reasonOf(edit(rjct, /<StsRsnInf>.*<\/StsRsnInf>/, ''))).toBe(
      'TxInfAndSts/StsRsnInf/Rsn/Prtry must give the reject action code of a RJCT',
    );
    expect(reasonOf(edit(rjct, '<Prtry>1100</Prtry>', '<Cd>AC01</Cd>'))).toBe(
      'TxInfAndSts/StsRsnInf/Rsn must carry the action code as Prtry, not Cd',
    );
    expect(reasonOf(edit(rjct, '<Prtry>1100', '<Prtry>1234'))).toBe(
      'TxInfAndSts/StsRsnInf/Rsn/Prtry must be an action code of the scheme',
    );
  });

  it('a decision without the TRN, or on more than one payment', () => {
    const r = parsePacs002(edit(acsc, /<OrgnlTxId>[^<]*<\/OrgnlTxId>/, ''));
    expect(r).toEqual({ ok: false, reason: 'TxInfAndSts/OrgnlTxId (field 31, TRN) is missing', msgId: 'S1' });
    const tx = /<TxInfAndSts>.*<\/TxInfAndSts>/.exec(acsc)![0];
    expect(reasonOf(edit(acsc, tx, tx + tx))).toBe(
      'TxInfAndSts occurs 2 times; the link carries exactly one transaction per message',
    );
  });
});

describe('parsePacs007', () => {
  it('refuses a reason other than TMOT', () => {
    const xml = buildPacs007({
      msgId: 'R1',
      createdAt,
      originalMsgId: 'G1',
      originalTrn: 'TRN00000000000001A',
      amountPence: 1250,
      reason: 'TMOT',
    });
    expect(parsePacs007(edit(xml, '>TMOT<', '>AM05<'))).toEqual({
      ok: false,
      reason: 'TxInf/RvslRsnInf/Rsn/Prtry must be TMOT',
      msgId: 'R1',
      trn: 'TRN00000000000001A',
    });
  });
});

describe('detectMessage and validateXml', () => {
  it('tell the messages apart by namespace', () => {
    expect(detectMessage(sip)).toBe('pacs.008');
    expect(detectMessage(edit(sip, NS8, 'urn:iso:std:iso:20022:tech:xsd:pacs.008.001.08'))).toBe('unknown');
    expect(detectMessage('<Document/>')).toBe('unknown');
    expect(detectMessage('not xml')).toBe('unknown');
    expect(detectMessage(`<Other xmlns="${NS8}"/>`)).toBe('unknown');
  });

  it('give the reason a document is refused', () => {
    expect(validateXml('pacs.008', '<Document')).toEqual({
      ok: false,
      errors: [expect.stringMatching(/^not well-formed XML: /)],
    });
    expect(validateXml('pacs.002', sip)).toEqual({
      ok: false,
      errors: ['root element is not a Document in namespace urn:iso:std:iso:20022:tech:xsd:pacs.002.001.11'],
    });
  });
});
