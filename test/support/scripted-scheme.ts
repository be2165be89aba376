import type { IsoMessage } from '../../src/scheme/codec.js';
import { fpidOf } from '../../src/scheme/messages.js';
import type { ActionCode } from '../../src/scheme/profile.js';
import type { ReplyHandle } from '../../src/scheme/reply.js';

/** A payment request the scheme got: its type, FPID, the connection it came on and when. */
export interface SeenRequest {
  mti: string;
  fpid: string;
  connection: string;
  at: number;
}

/**
 * The scheme's side of a gateway test, for `schemePeer`: sign-on and echoes are answered 0000;
 * each payment request is recorded in `seen` and answered with the next code of `script`
 * (undefined, or an empty script: no answer, so that the gateway's wait runs out).
 */
export class ScriptedScheme {
  readonly seen: SeenRequest[] = [];
  script: Array<ActionCode | undefined> = [];

  readonly onRequest = (m: IsoMessage, reply: ReplyHandle): void => {
    if (m.mti === '9804') {
      reply.reply('0000');
      return;
    }
    this.seen.push({ mti: m.mti, fpid: fpidOf(m.fields), connection: reply.connectionId, at: Date.now() });
    const code = this.script.shift();
    if (code !== undefined) reply.reply(code);
  };
}
