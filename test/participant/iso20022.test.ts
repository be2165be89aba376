import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fpidOf, paymentFields } from '../../src/scheme/messages.js';
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
import {
  basePayment,
  baseReturn,
  idArb,
  instructionOf,
  paymentArb,
  penceArb,
  trnArb,
} from '../support/iso20022-arbitraries.js';

const createdAt = Date.UTC(2026, 10, 22, 9, 30, 15);
/** What the bank simulator reads with under `--validate off`: the gateway's own XML, unchecked. */
const TRUSTED = { trusted: true } as const;

describe('pacs.008 round trip', () => {
  it('builds valid XML whose scheme fields parse back exactly, inbound (with FPID and field 98) and as an instruction', () => {
    fc.assert(
      fc.property(
        paymentArb,
        idArb,
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        fc.boolean(),
        (payment, msgId, at, inbound) => {
          const xml = buildPacs008({ msgId, createdAt: at, payment, instruction: !inbound });
          expect(validateXml('pacs.008', xml)).toEqual({ ok: true });
          expect(detectMessage(xml)).toBe('pacs.008');
          expect(parsePacs008(xml)).toEqual({ ok: true, instruction: instructionOf(payment, msgId, inbound) });
          expect(detectMessage(xml, TRUSTED)).toBe('pacs.008');
          expect(parsePacs008(xml, TRUSTED)).toEqual(parsePacs008(xml));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('v1.1: carries the compact FPID in PmtId/ClrSysRef and field 98 in InstgAgt, only inbound', () => {
    const xml = buildPacs008({ msgId: 'M1', createdAt, payment: basePayment });
    expect(xml).toContain('<ClrSysRef>TRN00000000000001A1020261122040004</ClrSysRef>');
    expect(xml).toMatch(
      /<InstgAgt><FinInstnId><ClrSysMmbId><ClrSysId><Prtry>FPS<\/Prtry><\/ClrSysId><MmbId>040004<\/MmbId>/,
    );
    const r = parsePacs008(xml);
    expect(r.ok && [r.instruction.fpid, r.instruction.instructingAgent]).toEqual([
      fpidOf(paymentFields(basePayment)),
      '040004',
    ]);
    const instruction = buildPacs008({ msgId: 'M1', createdAt, payment: basePayment, instruction: true });
    expect(instruction).not.toMatch(/ClrSysRef|InstgAgt/);
  });

  it('v1.1: a return names its original by the compact FPID the original carried in ClrSysRef', () => {
    const original = buildPacs008({ msgId: 'M0', createdAt, payment: basePayment });
    const clrSysRef = /<ClrSysRef>([^<]+)<\/ClrSysRef>/.exec(original)![1]!;
    expect(clrSysRef).toHaveLength(34);
    const parsed = parsePacs008(original);
    const returned = buildPacs008({
      msgId: 'M1',
      createdAt,
      payment: { ...baseReturn, returnedFpid: parsed.ok ? parsed.instruction.fpid : '' },
      instruction: true,
    });
    expect(returned).toContain(`<Nb>${clrSysRef}</Nb>`);
  });

  it.each([
    [1, '0.01'],
    [99, '0.99'],
    [100, '1.00'],
    [1250, '12.50'],
    [12_345_678_901_234, '123456789012.34'],
    [99_999_999_999_999, '999999999999.99'],
  ])('carries %i pence as %s and back', (pence, text) => {
    const xml = buildPacs008({ msgId: 'M1', createdAt, payment: { ...basePayment, amountPence: pence } });
    expect(xml).toContain(`<IntrBkSttlmAmt Ccy="GBP">${text}</IntrBkSttlmAmt>`);
    const r = parsePacs008(xml);
    expect(r.ok && r.instruction.amountPence).toBe(pence);
  });

  it('refuses to build amounts the scheme cannot carry', () => {
    for (const pence of [0, -1, 1.5, 100_000_000_000_000]) {
      expect(() => buildPacs008({ msgId: 'M1', createdAt, payment: { ...basePayment, amountPence: pence } })).toThrow(
        /amount/,
      );
    }
  });

  it('writes field 15 as IntrBkSttlmDt and ISO "NOTPROVIDED" when field 62 is absent', () => {
    const xml = buildPacs008({
      msgId: 'M1',
      createdAt,
      payment: { ...basePayment, settlementDate: '20261123', endToEndRef: undefined },
    });
    expect(xml).toContain('<IntrBkSttlmDt>2026-11-23</IntrBkSttlmDt>');
    expect(xml).toContain('<EndToEndId>NOTPROVIDED</EndToEndId>');
    const r = parsePacs008(xml);
    expect(r.ok && r.instruction.endToEndRef).toBeUndefined();
  });

  it('writes a returned FPID into Max35Text RfrdDocInf/Nb without its currency and padding', () => {
    const returnedFpid = baseReturn.returnedFpid;
    const xml = buildPacs008({ msgId: 'M1', createdAt, payment: baseReturn });
    expect(xml).toContain('<Nb>TRN0000000000000991020261121200000</Nb>');
    expect(xml).toContain('<AddtlRmtInf>00000012</AddtlRmtInf>');
    const r = parsePacs008(xml);
    expect(r.ok && [r.instruction.returnedFpid, r.instruction.returnReason]).toEqual([returnedFpid, '00000012']);
  });
});

describe('a participant pacs.008 (fixture)', () => {
  it('parses to the expected instruction', () => {
    const xml = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
    expect(validateXml('pacs.008', xml)).toEqual({ ok: true });
    expect(parsePacs008(xml)).toEqual({
      ok: true,
      instruction: {
        msgId: 'NWBK20261122093015000042',
        trn: 'TRN00000000000001A',
        endToEndRef: 'INV-2026-11-0042',
        type: '10',
        amountPence: 125050,
        originatorName: 'Jane Q Example & Co',
        originatorAccount: '87654321',
        originatorSortCode: '040004',
        beneficiaryName: 'Acme Widgets Ltd',
        beneficiaryAccount: '12345678',
        beneficiarySortCode: '200000',
        reference: 'ACME-0042',
        remittance: 'Invoice 2026-11-0042, thank you',
      },
    });
  });

  it('reads the same instruction whatever namespace prefix the sender chose', () => {
    const xml = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
    const prefixed = xml.replace('xmlns="urn:', 'xmlns:p8="urn:').replace(/<(\/?)(?!\?|!)([A-Za-z])/g, '<$1p8:$2');
    expect(parsePacs008(prefixed)).toEqual(parsePacs008(xml));
  });

  it('reads text as XML means it: references decoded, CDATA kept verbatim, comments and instructions left out', () => {
    const xml = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');
    const written = xml
      .replace('<Nm>Jane Q Example &amp; Co</Nm>', '<Nm>Jane &#x51; Ex<!-- x -->ample<?note y?> &#38; Co</Nm>')
      .replace('<Nm>Acme Widgets Ltd</Nm>', '<Nm><![CDATA[Acme &amp;]]> Widgets &apos;Ltd&quot;</Nm>')
      .replace('Ccy="GBP"', "Ccy='GBP'");
    expect(validateXml('pacs.008', written)).toEqual({ ok: true });
    const parsed = parsePacs008(written);
    expect(parsed.ok && parsed.instruction).toMatchObject({
      originatorName: 'Jane Q Example & Co',
      beneficiaryName: 'Acme &amp; Widgets \'Ltd"',
      amountPence: 125050,
    });
  });
});

describe('pacs.002 round trip', () => {
  const statusArb = fc.oneof(
    fc.record({ status: fc.constant('ACSC' as const), reason: fc.constantFrom(undefined, ActionCode.accepted) }),
    fc.record({
      status: fc.constant('RJCT' as const),
      reason: fc.constantFrom(...Object.values(ActionCode).filter((c) => c !== ActionCode.accepted)),
    }),
  );

  it('builds valid XML that parses back to the same decision', () => {
    fc.assert(
      fc.property(
        idArb,
        fc.option(idArb, { nil: undefined }),
        fc.option(idArb, { nil: undefined }),
        trnArb,
        statusArb,
        (msgId, originalMsgId, originalEndToEndId, originalTrn, s) => {
          const xml = buildPacs002({ msgId, createdAt, originalMsgId, originalEndToEndId, originalTrn, ...s });
          expect(validateXml('pacs.002', xml)).toEqual({ ok: true });
          expect(detectMessage(xml)).toBe('pacs.002');
          const expected = Object.fromEntries(
            Object.entries({ msgId, originalMsgId, originalEndToEndId, originalTrn, ...s }).filter(
              ([, v]) => v !== undefined,
            ),
          );
          expect(parsePacs002(xml)).toEqual({ ok: true, status: expected });
          expect(detectMessage(xml, TRUSTED)).toBe('pacs.002');
          expect(parsePacs002(xml, TRUSTED)).toEqual(parsePacs002(xml));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('builds a valid RJCT for a message of which nothing could be read', () => {
    const xml = buildPacs002({ msgId: 'S1', createdAt, status: 'RJCT', reason: ActionCode.formatError });
    expect(validateXml('pacs.002', xml)).toEqual({ ok: true });
  });

  it('writes the stand-in reject 0912', () => {
    const xml = buildPacs002({
      msgId: 'S1',
      createdAt,
      originalMsgId: 'G1',
      originalTrn: 'TRN00000000000001A',
      status: 'RJCT',
      reason: ActionCode.standIn,
    });
    expect(xml).toContain('<TxSts>RJCT</TxSts><StsRsnInf><Rsn><Prtry>0912</Prtry></Rsn></StsRsnInf>');
  });

  it('refuses to build a RJCT without a reject code', () => {
    expect(() => buildPacs002({ msgId: 'S1', createdAt, originalTrn: 'TRN00000000000001A', status: 'RJCT' })).toThrow(
      /RJCT/,
    );
  });
});

describe('pacs.007 round trip', () => {
  it('builds valid XML that parses back to the same reversal', () => {
    fc.assert(
      fc.property(
        idArb,
        idArb,
        fc.option(idArb, { nil: undefined }),
        trnArb,
        penceArb,
        (msgId, originalMsgId, originalEndToEndId, originalTrn, amountPence) => {
          const xml = buildPacs007({
            msgId,
            createdAt,
            originalMsgId,
            originalEndToEndId,
            originalTrn,
            amountPence,
            reason: 'TMOT',
          });
          expect(validateXml('pacs.007', xml)).toEqual({ ok: true });
          expect(detectMessage(xml)).toBe('pacs.007');
          const expected = Object.fromEntries(
            Object.entries({
              msgId,
              originalMsgId,
              originalEndToEndId,
              originalTrn,
              amountPence,
              reason: 'TMOT',
            }).filter(([, v]) => v !== undefined),
          );
          expect(parsePacs007(xml)).toEqual({ ok: true, reversal: expected });
          expect(detectMessage(xml, TRUSTED)).toBe('pacs.007');
          expect(parsePacs007(xml, TRUSTED)).toEqual(parsePacs007(xml));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('trusted reading (the bank simulator under a benchmark)', () => {
  const decision = () => buildPacs002({ msgId: 'S1', createdAt, originalTrn: 'TRN00000000000001A', status: 'ACSC' });

  it('skips only the XSD: a message the schema refuses is read, the profile still applies', () => {
    // An element the schema does not know, after the transaction: refused when checked, read when trusted.
    const extra = decision().replace('</FIToFIPmtStsRpt>', '<Extra>1</Extra></FIToFIPmtStsRpt>');
    const checked = parsePacs002(extra);
    expect(checked.ok === false && checked.reason).toMatch(/^not valid against pacs\.002/);
    expect(parsePacs002(extra, TRUSTED)).toEqual(parsePacs002(decision()));
    const badStatus = decision().replace('<TxSts>ACSC</TxSts>', '<TxSts>XXXX</TxSts>');
    const trusted = parsePacs002(badStatus, TRUSTED);
    expect(trusted.ok === false && trusted.reason).toMatch(/TxSts must be ACSC or RJCT/);
  });

  it('refuses text with no message in a Document, and detects nothing in it', () => {
    expect(parsePacs002('<Other/>', TRUSTED)).toEqual({ ok: false, reason: 'no pacs.002 message in a Document' });
    expect(detectMessage('<Other xmlns="urn:x"/>', TRUSTED)).toBe('unknown');
    expect(detectMessage(decision().replace('pacs.002.001.11', 'pacs.999.001.01'), TRUSTED)).toBe('unknown');
  });
});
