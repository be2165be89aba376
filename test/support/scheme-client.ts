import net from 'node:net';
import { systemClock } from '../../src/base/clock.js';
import { splitEndpoint } from '../../src/base/config.js';
import { silentLogger } from '../../src/base/log.js';
import { encode, type DecodeError, type IsoMessage } from '../../src/scheme/codec.js';
import { networkRequest, paymentFields, responseTo, type SchemePayment } from '../../src/scheme/messages.js';
import type { ActionCode } from '../../src/scheme/profile.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';
import { Wire } from '../../src/scheme/wire.js';

export const KEY_HEX = '00112233445566778899aabbccddeeff';
export const KEY = Buffer.from(KEY_HEX, 'hex');

export interface Received {
  readonly message: IsoMessage;
  readonly reply: ReplyHandle;
}

/** Polls `probe` until it yields a value; fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false, what: string, timeoutMs = 3000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A bare gateway connection for tests: a socket and a Wire, no gateway logic. */
export class RawClient {
  /** Requests from the CI, in arrival order, not answered unless a test answers them. */
  readonly requests: Received[] = [];
  /** Responses nothing waited for, e.g. the CI's answer to a message written raw. */
  readonly strays: IsoMessage[] = [];
  /** Bodies this side refused (R11). */
  readonly refused: DecodeError[] = [];
  readonly wire: Wire;

  private constructor(readonly socket: net.Socket) {
    this.wire = new Wire(
      socket,
      {
        id: 'test',
        macKey: KEY,
        clock: systemClock,
        log: silentLogger,
        requestTimeoutMs: 3000,
        maxInFlight: 1000,
        heartbeatMs: 0,
      },
      {
        onRequest: (message, reply) => this.requests.push({ message, reply }),
        onUnmatched: (m) => this.strays.push(m),
        onRefused: (e) => this.refused.push(e),
        onClose: () => undefined,
      },
    );
  }

  static connect(address: string): Promise<RawClient> {
    const { host, port } = splitEndpoint(address);
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends 9804s with these function codes; resolves with the action codes of the 9814s. */
  async network(...codes: string[]): Promise<string[]> {
    const out: string[] = [];
    for (const code of codes) {
      const r = await this.wire.request(networkRequest(code, Date.now()), { exempt: true });
      out.push(r.fields.get(26)!);
    }
    return out;
  }

  pay(fields: ReadonlyMap<number, string>, mti: '9200' | '9201' = '9200'): Promise<IsoMessage> {
    return this.wire.request({ mti, fields });
  }

  /** Waits for the next request of this type from the CI, taking it off the list. */
  async next(mti: string, timeoutMs = 3000): Promise<Received> {
    const r = await eventually(() => this.requests.find((x) => x.message.mti === mti), `a ${mti}`, timeoutMs);
    this.requests.splice(this.requests.indexOf(r), 1);
    return r;
  }

  /** Answers `request` on THIS connection, bypassing the reply handle (for R1 violations). */
  answerRaw(request: IsoMessage, action: ActionCode): void {
    this.wire.writeRaw(encode(responseTo(request.mti, request.fields, action, Date.now()), KEY));
  }

  close(): void {
    this.wire.close('test done', false);
  }
}

let trn = 0;

/** An outbound payment's fields, unique TRN each call. */
export function payment(over: Partial<SchemePayment> = {}): Map<number, string> {
  trn++;
  return paymentFields({
    type: '10',
    amountPence: 1250,
    trn: 'TEST' + String(trn).padStart(14, '0'),
    dateSent: '20261122',
    originatorSortCode: '200000',
    originatorAccount: '87654321',
    beneficiarySortCode: '040004',
    beneficiaryAccount: '12345678',
    institution: '200000',
    ...over,
  });
}
