import { trace } from '@opentelemetry/api';
import { z } from 'zod';
import type { Logger } from '../base/log.js';

/**
 * Where traces go (docs/architecture.md, Tracing). Off by default: without `tracing.otlpUrl` and
 * without OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT no SDK is loaded, and
 * the OpenTelemetry API the core calls stays its no-op.
 */
export const tracingConfigSchema = z
  .object({
    /** The collector's OTLP/HTTP traces URL (`http://collector:4318/v1/traces`); absent: the OTEL_ variables, else off. */
    otlpUrl: z.url({ protocol: /^https?$/ }).optional(),
    /** The longest a finished span waits before it is sent, in a batch. */
    exportDelayMs: z.number().int().min(10).max(60_000).default(5000),
  })
  .prefault({});

export type TracingConfig = z.output<typeof tracingConfigSchema>;

/** The process's tracing, while on: stopping sends what is left and turns the API back to its no-op. */
export interface Tracing {
  stop(): Promise<void>;
}

/** Spans held for export at most; past it new ones are dropped (the SDK counts them), never the gateway slowed. */
const SPANS_QUEUED_MAX = 8192;

/** Where spans are sent, if anywhere: the configured URL, else the exporter's own OTEL_ variables. */
function otlpTarget(config: TracingConfig, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (config.otlpUrl !== undefined) return config.otlpUrl;
  return env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT || undefined;
}

/**
 * Registers the OpenTelemetry SDK for this process, exporting over OTLP/HTTP (JSON), when a target
 * is configured; undefined, loading nothing, otherwise. Only one provider per process: a second
 * gateway in the same process (tests) exports through the first's.
 */
export async function startTracing(
  config: TracingConfig,
  site: string,
  log: Logger,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Tracing | undefined> {
  const target = otlpTarget(config, env);
  if (target === undefined) return undefined;
  // Imported here, so that a gateway with tracing off never loads the SDK.
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, semconv] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/semantic-conventions'),
    ]);
  const exporter = new OTLPTraceExporter(config.otlpUrl === undefined ? {} : { url: config.otlpUrl });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [semconv.ATTR_SERVICE_NAME]: 'fps-gateway', 'fps.site': site }),
    spanProcessors: [
      new BatchSpanProcessor(exporter, { scheduledDelayMillis: config.exportDelayMs, maxQueueSize: SPANS_QUEUED_MAX }),
    ],
  });
  if (!trace.setGlobalTracerProvider(provider)) {
    log.warn({ target: redacted(target) }, 'a tracer provider is registered already; traces go through it');
    await provider.shutdown();
    return undefined;
  }
  log.info({ target: redacted(target) }, 'tracing on: spans exported over OTLP/HTTP');
  return {
    stop: async () => {
      await provider.shutdown().catch((e: Error) => log.warn({ err: e.message }, 'flushing the last spans failed'));
      trace.disable();
    },
  };
}

/** The URL without credentials or query, for logs. */
function redacted(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
