import type { Load } from '../payments/admission.js';
import type { ConnectionStatus } from '../scheme/connection.js';

/**
 * What the ops layer reads of a running site, at scrape or probe time only: the daemon's
 * `GatewayStatus` has this shape. Nothing here is read on the payment path.
 */
export interface SiteStatus {
  site: string;
  /** This site holds the open-site lease. */
  open: boolean;
  epoch: number;
  /** The scheme said 971 SUSPENDED (R10). */
  suspended: boolean;
  connections: ConnectionStatus[];
  inFlight: { inbound: number; outbound: number };
  mq: { transport: string; durable: boolean; /** The bridge reads the participants' queues. */ bridging: boolean };
  /** Admission control's last sample of this site's load (src/payments/admission.ts). */
  admission?: Load;
}
