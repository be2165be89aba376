import type { Clock, Timer } from '../../src/base/clock.js';
import { MAC_LENGTH } from '../../src/scheme/mac.js';
import type { CentralSettings } from './options.js';
import { every } from './periodic.js';

const HEX = '0123456789ABCDEF';

/**
 * Turns every character of field 128 into the next hex digit. Field 128 is always last, so the
 * body still parses and only MAC verification fails at the peer.
 */
export function corruptMac(body: Buffer): Buffer {
  const out = Buffer.from(body);
  for (let i = out.length - MAC_LENGTH; i < out.length; i++) {
    out[i] = HEX.charCodeAt((HEX.indexOf(String.fromCharCode(out[i]!)) + 1) % HEX.length);
  }
  return out;
}

export interface FaultActions {
  dropRandom(): void;
  suspend(): void;
  resume(): void;
}

/** The periodic faults of the command line: a dropped session every N s, a suspension every S s. */
export function scheduleFaults(settings: CentralSettings, clock: Clock, act: FaultActions): Timer[] {
  const timers: Timer[] = [];
  if (settings.dropEverySec > 0) timers.push(every(clock, settings.dropEverySec * 1000, () => act.dropRandom()));
  if (settings.suspendEverySec > 0) {
    timers.push(
      every(clock, settings.suspendEverySec * 1000, () => {
        act.suspend();
        timers.push(clock.after(settings.suspendForSec * 1000, () => act.resume()));
      }),
    );
  }
  return timers;
}
