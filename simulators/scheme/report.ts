/** Counters, named as they appear in the JSON report (README "Report"). */

export interface InboundCounts {
  sent: number;
  answered_in_time: number;
  late: number;
  unanswered: number;
  reversed: number;
  accepted: number;
  rejected: number;
  repeats_sent: number;
}

export interface OutboundCounts {
  received: number;
  answered: number;
  accepted: number;
  rejected: number;
  duplicates: number;
  repeats: number;
  refused_not_signed_on: number;
  refused_suspended: number;
  late_answers: number;
}

export interface FaultCounts {
  dropped: number;
  muted: number;
  corrupted_macs: number;
  suspensions: number;
}

export interface ConnectionCounts {
  inbound_sent: number;
  inbound_answered: number;
  reversals_sent: number;
  outbound_received: number;
  outbound_answered: number;
  advices_sent: number;
  advices_acknowledged: number;
  wrong_connection_responses: number;
  unmatched_responses: number;
  mac_errors: number;
  format_errors: number;
  /** R8: a sign-off submit (882) before sign-off receive (892), or while CI requests were unanswered. */
  drain_violations: number;
}

/** One session as GET /sessions and the report show it. */
export interface SessionView {
  id: string;
  dc: string;
  remote: string;
  open: boolean;
  submit: boolean;
  receive: boolean;
  muted: boolean;
  /** R8: the sign-off function codes (882, 892) received, in order (the first few). */
  sign_offs: string[];
  closed_reason?: string;
}

export type ConnectionReport = Omit<SessionView, 'id'> & ConnectionCounts;

export interface Report {
  inbound: InboundCounts;
  outbound: OutboundCounts;
  wrong_connection_responses: number;
  unmatched_responses: number;
  mac_errors: number;
  format_errors: number;
  drain_violations: number;
  suspended: boolean;
  faults: FaultCounts;
  connections: Record<string, ConnectionReport>;
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

export const zeroInbound = (): InboundCounts =>
  zeros(['sent', 'answered_in_time', 'late', 'unanswered', 'reversed', 'accepted', 'rejected', 'repeats_sent']);

export const zeroOutbound = (): OutboundCounts =>
  zeros([
    'received',
    'answered',
    'accepted',
    'rejected',
    'duplicates',
    'repeats',
    'refused_not_signed_on',
    'refused_suspended',
    'late_answers',
  ]);

export const zeroFaults = (): FaultCounts => zeros(['dropped', 'muted', 'corrupted_macs', 'suspensions']);

export const zeroConnection = (): ConnectionCounts =>
  zeros([
    'inbound_sent',
    'inbound_answered',
    'reversals_sent',
    'outbound_received',
    'outbound_answered',
    'advices_sent',
    'advices_acknowledged',
    'wrong_connection_responses',
    'unmatched_responses',
    'mac_errors',
    'format_errors',
    'drain_violations',
  ]);

/** The connection-level error counts summed over every session the run has seen. */
export function buildReport(
  parts: Pick<Report, 'inbound' | 'outbound' | 'faults' | 'suspended'>,
  sessions: Iterable<{ view: SessionView; counts: ConnectionCounts }>,
): Report {
  const report: Report = {
    inbound: { ...parts.inbound },
    outbound: { ...parts.outbound },
    wrong_connection_responses: 0,
    unmatched_responses: 0,
    mac_errors: 0,
    format_errors: 0,
    drain_violations: 0,
    suspended: parts.suspended,
    faults: { ...parts.faults },
    connections: {},
  };
  for (const { view, counts } of sessions) {
    const { id, ...rest } = view;
    report.connections[id] = { ...rest, ...counts };
    report.wrong_connection_responses += counts.wrong_connection_responses;
    report.unmatched_responses += counts.unmatched_responses;
    report.mac_errors += counts.mac_errors;
    report.format_errors += counts.format_errors;
    report.drain_violations += counts.drain_violations;
  }
  return report;
}
