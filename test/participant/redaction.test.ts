/**
 * Personal data never reaches a refusal's reason, which is what the bridge logs and answers: the
 * reason is built from schema names and fixed words, never from what libxml2 quotes.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../src/base/clock.js';
import { ParticipantDirectory } from '../../src/participant/directory.js';
import type { RefusedMessage } from '../../src/ledger/refusals.js';
import { ParticipantBridge } from '../../src/participant/bridge.js';
import { parsePacs008 } from '../../src/participant/iso20022/index.js';
import { InProcessTransport } from '../../src/participant/mq/in-process.js';
import { newMessageId, participantQueues, type IncomingMessage } from '../../src/participant/mq/index.js';
import { silentLogger } from '../../src/base/log.js';
import { until } from '../support/tcp.js';

const FIXTURE = readFileSync(new URL('../support/fixtures/pacs008-outbound-sip.xml', import.meta.url), 'utf8');

/** Every text and attribute value of the fixture, as the place a generated value goes. */
const FIELDS: ReadonlyArray<{ name: string; put: (value: string) => string }> = [
  ...[...FIXTURE.matchAll(/<([A-Za-z]+)(?: [^>]*)?>([^<]+)<\/\1>/g)].map((m, i) => ({
    name: m[1]!,
    put: (value: string) => {
      let n = -1;
      return FIXTURE.replace(/<([A-Za-z]+)((?: [^>]*)?)>([^<]+)<\/\1>/g, (all, tag: string, attrs: string) =>
        ++n === i ? `<${tag}${attrs}>${value}</${tag}>` : all,
      );
    },
  })),
  { name: '@Ccy', put: (value: string) => FIXTURE.replace('Ccy="GBP"', `Ccy="${value}"`) },
];

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** What an account number, an IBAN or a name looks like, with the apostrophes and quotes that broke cutting. */
const personal = fc.oneof(
  fc.stringMatching(/^[0-9]{8}$/),
  fc.stringMatching(/^GB[0-9]{2}[A-Z]{4}[0-9]{14}$/),
  fc
    .tuple(
      fc.stringMatching(/^[A-Z][a-z]{2,10}$/),
      fc.constantFrom("'", "' ", '"', "''", ' & '),
      fc.stringMatching(/^[A-Z][a-z]{2,10}$/),
      fc.stringMatching(/^( GB[0-9]{2}[A-Z]{4}[0-9]{8})?$/),
    )
    .map((p) => p.join('')),
);

/** The parts of a value long enough to identify someone: any of them in a reason is a leak. */
const pieces = (value: string) =>
  value
    .split(/['"&]| (?=GB)/)
    .map((p) => p.trim())
    .filter((p) => p.length >= 4);

describe('redaction of refusal reasons', () => {
  it('never puts generated personal data, placed in any field of a message, into the reason', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELDS), personal, fc.boolean(), (field, value, long) => {
        // Long enough to break a length facet as well, for fields whose type takes any text.
        const text = long ? `${value} ${value.repeat(Math.ceil(150 / value.length))}` : value;
        const r = parsePacs008(field.put(xmlEscape(text)));
        if (r.ok) return;
        for (const piece of pieces(value)) expect(r.reason, `${field.name}: ${r.reason}`).not.toContain(piece);
      }),
      { numRuns: 400 },
    );
  });

  it("keeps an IBAN after an apostrophe out of the bridge's warn log and its RJCT", async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const transport = new InProcessTransport(silentLogger);
    const bank = { id: '040004', name: 'Bank', sortCodes: ['040004'], prefetch: 8 };
    const q = participantQueues(bank.id);
    const audited: RefusedMessage[] = [];
    const refusals = { record: async (r: RefusedMessage) => void audited.push(r) };
    const bridge = new ParticipantBridge({
      transport,
      participants: new ParticipantDirectory([bank]),
      clock: systemClock,
      log,
      refusals,
    });
    await bridge.start({ instruct: async () => 'recorded', decide: async () => ({ taken: true }) });
    const answers: IncomingMessage[] = [];
    const c = await transport.consume(q.fromGateway, async (m) => (answers.push(m), 'commit'), {
      prefetch: 8,
      backoutThreshold: 3,
      backoutQueue: q.backout,
    });
    try {
      const iban = 'GB29NWBK60161331926819';
      await transport.put({
        queue: q.toGateway,
        body: FIXTURE.replace('>1250.5<', `>O'Brien ${iban}<`),
        messageId: newMessageId(),
      });
      await until(() => answers.length === 1, 2000, 'the refusal');
      const warned = lines.filter((l) => l.includes('refused a participant message'));
      expect(warned).toHaveLength(1);
      expect(JSON.parse(warned[0]!).reason).toMatch(
        /IntrBkSttlmAmt: the value is not a valid ActiveCurrencyAndAmount_SimpleType/,
      );
      expect(audited).toHaveLength(1);
      for (const text of [...lines, answers[0]!.body, audited[0]!.reason]) expect(text).not.toMatch(/Brien|GB29NWBK/);
    } finally {
      await bridge.stop();
      await c.stop();
      await transport.close();
    }
  });
});
