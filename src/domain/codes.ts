/**
 * The codes a payment is described and decided by. The scheme's profile names them first
 * (scheme-link.md section 3): the payment's type is field 3's first two digits, a decision is an
 * action code (field 26). Both travel on every link, so they belong to the payment, not a wire.
 */

/** Payment type codes, field 3 positions 1-2. */
export const PaymentType = { sip: '10', return: '20', sop: '30', fdp: '40' } as const;
export type PaymentType = (typeof PaymentType)[keyof typeof PaymentType];

/** Action codes, field 26. */
export const ActionCode = {
  accepted: '0000',
  invalidAccount: '1100',
  accountClosed: '1114',
  overLimit: '1160',
  netSenderCap: '1161',
  standIn: '0912',
  formatError: '9020',
  macFailure: '9068',
  notSignedOn: '9091',
} as const;
export type ActionCode = (typeof ActionCode)[keyof typeof ActionCode];
