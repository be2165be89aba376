import { z } from 'zod';

/**
 * Where payment events go. Without brokers (neither `events.kafka.brokers` nor `KAFKA_BROKERS`) the
 * relay is off: the outbox keeps every event, and a relay started later sends them all, in order.
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
  })
  .prefault({});

export type EventsConfig = z.output<typeof eventsConfigSchema>;

/** The brokers configured, else those `KAFKA_BROKERS` names; undefined: the relay is off. */
export function kafkaBrokers(
  config: EventsConfig,
  env: NodeJS.ProcessEnv = process.env,
): readonly string[] | undefined {
  if (config.kafka.brokers !== undefined) return config.kafka.brokers;
  const listed = (env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
  return listed.length > 0 ? listed : undefined;
}
