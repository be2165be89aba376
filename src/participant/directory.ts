import { z } from 'zod';
import { participantQueues } from './mq/index.js';

export const participantSchema = z.object({
  /** The participant's FPS institution id, 6 digits (field 98 of what it sends). */
  id: z.string().regex(/^\d{6}$/, 'participant id must be 6 digits'),
  name: z.string().min(1),
  /** Sort codes it owns: inbound payments to them go to it; its outbound must come from them. */
  sortCodes: z.array(z.string().regex(/^\d{6}$/, 'sort code must be 6 digits')).min(1),
  /** Its own cap on one payment, under the scheme's limit. */
  maxAmountPence: z.number().int().positive().optional(),
  /** MQ handlers in flight on its TO.GATEWAY queue. */
  prefetch: z.number().int().min(1).max(10_000).default(64),
});

export type ParticipantConfig = z.infer<typeof participantSchema>;

/** The participants this gateway serves, by id and by sort code (participant-mq.md section 1). */
export class ParticipantDirectory {
  private readonly byId = new Map<string, ParticipantConfig>();
  private readonly bySortCode = new Map<string, ParticipantConfig>();

  constructor(participants: readonly ParticipantConfig[]) {
    for (const p of participants) {
      if (this.byId.has(p.id)) throw new Error(`participant ${p.id} is configured twice`);
      this.byId.set(p.id, p);
      for (const sc of p.sortCodes) {
        const owner = this.bySortCode.get(sc);
        if (owner !== undefined) throw new Error(`sort code ${sc} is owned by both ${owner.id} and ${p.id}`);
        this.bySortCode.set(sc, p);
      }
    }
  }

  get all(): ParticipantConfig[] {
    return [...this.byId.values()];
  }

  get(id: string): ParticipantConfig | undefined {
    return this.byId.get(id);
  }

  /** The participant owning a sort code: where an inbound payment goes, or who may send from it. */
  owner(sortCode: string): ParticipantConfig | undefined {
    return this.bySortCode.get(sortCode);
  }

  queues(id: string) {
    return participantQueues(id);
  }
}
