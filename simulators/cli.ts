import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { Clock } from '../src/base/clock.js';
import { issueLines } from '../src/base/config.js';

/** How an option's text is read: as it is, as a number, as a comma list, or repeated. */
export type OptionRead = 'text' | 'number' | 'list' | 'repeat';

/** Every option of a simulator: the setting it feeds, its flag, and how it is read. */
export type OptionTable = Record<string, { flag: string; read: OptionRead }>;

/**
 * Reads a simulator's command line into its settings: unknown flags, unreadable values and
 * settings the schema refuses all end the process with status 2 and say which flag and why.
 */
export function readCommandLine<S extends z.ZodType>(
  argv: string[],
  options: OptionTable,
  schema: S,
  usage: string,
  name: string,
  defaults: Record<string, unknown> = {},
): z.output<S> {
  const fail = (message: string): never => {
    console.error(`${name}: ${message}\n${usage}`);
    process.exit(2);
  };
  let values: Record<string, string | string[] | boolean | undefined> = {};
  try {
    const spec = Object.fromEntries(
      Object.values(options).map((o) => [
        o.flag,
        { type: 'string' as const, multiple: o.read === 'list' || o.read === 'repeat' },
      ]),
    );
    values = parseArgs({
      args: argv,
      options: { ...spec, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    fail((e as Error).message);
  }
  if (values.help === true) {
    console.error(usage);
    process.exit(0);
  }
  const input: Record<string, unknown> = { ...defaults };
  for (const [key, o] of Object.entries(options)) {
    const v = values[o.flag];
    if (v === undefined || typeof v === 'boolean') continue;
    if (o.read === 'list') input[key] = (v as string[]).flatMap((s) => s.split(',')).filter((s) => s !== '');
    else if (o.read === 'number') input[key] = (v as string).trim() === '' ? Number.NaN : Number(v);
    else input[key] = v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const lines = issueLines(parsed.error.issues, (path) => {
      const key = path[0];
      const flag = typeof key === 'string' && key in options ? options[key]!.flag : path.map(String).join('.');
      const rest = path.slice(1).filter((p) => typeof p === 'string');
      return `--${flag}${rest.length === 0 ? '' : ` (${rest.join('.')})`}`;
    });
    fail(`bad option\n  ${lines.join('\n  ')}`);
  }
  return parsed.data as z.output<S>;
}

/**
 * Runs `stop` once, on SIGINT, SIGTERM or after `durationSec`, whichever comes first; `stop` prints
 * the report and exits.
 */
export function stopOnSignalOrDuration(
  durationSec: number | undefined,
  clock: Clock,
  stop: (why: string) => Promise<void>,
): void {
  let stopping = false;
  const once = (why: string): void => {
    if (stopping) return;
    stopping = true;
    void stop(why);
  };
  process.on('SIGINT', () => once('SIGINT'));
  process.on('SIGTERM', () => once('SIGTERM'));
  if (durationSec !== undefined) clock.after(durationSec * 1000, () => once('duration reached'));
}
