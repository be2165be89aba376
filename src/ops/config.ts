import { z } from 'zod';

/**
 * The site's HTTP server. Defaults: loopback only, and 9464 (the port Prometheus exporters
 * conventionally take). A port of 0 takes a free one (tests, two sites on one host).
 */
export const httpConfigSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(9464),
  })
  .prefault({});

export type HttpConfig = z.output<typeof httpConfigSchema>;
