import { z } from 'zod';

/**
 * Where payment events go. Without brokers (neither `events.kafka.brokers` nor `KAFKA_BROKERS`) the
 * relay is off: the outbox keeps the events, up to `outbox`'s bound, and a relay started later sends
 * them, in order.
 */
export const eventsConfigSchema = z
  .object({
    kafka: z
      .object({
        /** `host:port` bootstrap addresses; absent: `KAFKA_BROKERS` (comma-separated), else the relay is off. */
        brokers: z
          .array(z.string().regex(/^[^\s,:]+:\d{1,5}$/, 'host:port'))
          .min(1)
          .optional(),
        /** Put before each direction's topic (`payments.inbound`, `payments.outbound`). Default none. */
        topicPrefix: z
          .string()
          .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, . _ -')
          .max(200)
          .default(''),
        /** The producer's client id, seen in the broker's logs and quotas. Default `fps-gateway`. */
        clientId: z.string().min(1).default('fps-gateway'),
      })
      .prefault({}),
    /**
     * The bound on payment events the outbox keeps unsent (the relay off, or the broker away for
     * long): each site drops the oldest beyond it every minute, counts them
     * (`gateway_outbox_events_dropped_total`) and warns. No payment waits on it: the events are
     * the consumers' copy, and participant notices are never dropped.
     */
    outbox: z
      .object({
        /** Unsent events kept at most, the newest. Default 5,000,000 (about 3 GB: some 600 bytes a row with its indexes). */
        maxUnsentEvents: z.number().int().min(1).max(1_000_000_000).default(5_000_000),
        /** Unsent events older than this go, however few. Default 168 (7 days, the default duplicate window). */
        maxUnsentAgeHours: z
          .number()
          .int()
          .min(1)
          .max(90 * 24)
          .default(168),
      })
      .prefault({}),
  })
  .prefault({});

export type EventsConfig = z.output<typeof eventsConfigSchema>;

/** The brokers configured, else those `KAFKA_BROKERS` names; undefined: the relay is off. */
export function kafkaBrokers(
  config: Pick<EventsConfig, 'kafka'>,
  env: NodeJS.ProcessEnv = process.env,
): readonly string[] | undefined {
  if (config.kafka.brokers !== undefined) return config.kafka.brokers;
  const listed = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  return listed.length > 0 ? listed : undefined;
}
