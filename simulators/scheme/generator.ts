import type { Clock } from '../../src/base/clock.js';
import { businessDate, paymentFields } from '../../src/scheme/messages.js';
import { PaymentType } from '../../src/scheme/profile.js';
import { settlement } from './rules.js';

/** Sending institutions of the inbound payments: other banks, never the gateway's participants. */
const OTHER_BANKS = ['040004', '090128', '301775', '608371', '774926'];

/** Largest inbound amount generated: GBP 5,000.00. */
const MAX_AMOUNT_PENCE = 500_000;

/** Makes the fields of new inbound 9200s, as the CI would forward them (15 and 29 set). */
export class PaymentGenerator {
  private serial = 0;
  /** Keeps TRNs unique across runs as well as within one. */
  private readonly run: string;

  constructor(
    private readonly sortCodes: readonly string[],
    private readonly clock: Clock,
    private readonly random: () => number,
  ) {
    this.run = clock.now().toString(36).toUpperCase().slice(-6).padStart(6, '0');
  }

  next(): Map<number, string> {
    const now = this.clock.now();
    const s = settlement(now);
    this.serial++;
    return paymentFields({
      type: PaymentType.sip,
      amountPence: 1 + Math.floor(this.random() * MAX_AMOUNT_PENCE),
      trn: 'SIM' + this.run + this.serial.toString(36).toUpperCase().padStart(9, '0'),
      dateSent: businessDate(now),
      originatorSortCode: this.digits(6),
      originatorAccount: this.digits(8),
      beneficiarySortCode: this.pick(this.sortCodes),
      beneficiaryAccount: this.digits(8),
      institution: this.pick(OTHER_BANKS),
      settlementDate: s.date,
      settlementCycle: s.cycle,
      reference: `SIM ${this.serial}`.slice(0, 18),
    });
  }

  private digits(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(this.random() * 10);
    return s;
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.random() * list.length)]!;
  }
}
