import { z } from 'zod';

/** Which MQ transport links the gateway to its participants, as it appears in configuration. */
export const mqConfigSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('amqp'), url: z.string().regex(/^amqps?:\/\//, 'an amqp:// or amqps:// URL') }).strict(),
  z
    .object({
      kind: z.literal('ibmmq'),
      queueManager: z.string().min(1).max(48),
      channel: z.string().min(1).max(20),
      /** host(port), comma-separated for a multi-instance queue manager */
      connName: z.string().min(1),
      user: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
    })
    .strict(),
  z.object({ kind: z.literal('in-process') }).strict(),
]);

export type MqConfig = z.infer<typeof mqConfigSchema>;
