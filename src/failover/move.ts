import { parseArgs } from 'node:util';
import { silentLogger } from '../base/log.js';
import { OPEN_SITE_LEASE } from '../ledger/ledger.js';
import { createPool } from '../ledger/pool.js';
import { Lease } from './lease.js';
import { parseLeaseTiming } from './lease-timing.js';

const USAGE = 'usage: npm run failover:move -- --by NAME [--database-url URL] [--wait-ms MS]';

/** Who may be named as asking: an operator's name or id, printable, no longer than an audit wants. */
const OPERATOR = /^[\w.@:+-]{1,64}$/;

/** How often a waiting move reads the lease. */
const POLL_MS = 100;

interface MoveArgs {
  by: string;
  databaseUrl: string;
  waitMs: number | undefined;
}

export interface MoveIo {
  env: NodeJS.ProcessEnv;
  /** One JSON line: what happened. */
  out(line: string): void;
  /** What went wrong, for a person. */
  err(line: string): void;
}

class UsageError extends Error {}

function parse(argv: string[], env: NodeJS.ProcessEnv): MoveArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { by: { type: 'string' }, 'database-url': { type: 'string' }, 'wait-ms': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const by = values.by;
  if (by === undefined) throw new UsageError('--by NAME is required: the operator asking, for the audit');
  if (!OPERATOR.test(by))
    throw new UsageError(`--by must be 1 to 64 letters, digits or . _ @ : + - (got ${JSON.stringify(by)})`);
  const databaseUrl = values['database-url'] ?? env.DATABASE_URL;
  if (databaseUrl === undefined || databaseUrl === '')
    throw new UsageError('no database: give --database-url URL or set DATABASE_URL (the ledger both sites use)');
  const wait = values['wait-ms'];
  let waitMs: number | undefined;
  if (wait !== undefined) {
    waitMs = Number(wait);
    if (!/^\d+$/.test(wait) || waitMs < 1 || waitMs > 600_000)
      throw new UsageError(
        `--wait-ms must be a whole number of milliseconds from 1 to 600000 (got ${JSON.stringify(wait)})`,
      );
  }
  return { by, databaseUrl, waitMs };
}

/**
 * `npm run failover:move`: asks the open site to hand the open role to the other site, on behalf
 * of `--by` (`Lease.requestMove`; the console calls the same). Prints one JSON line: the holder and
 * epoch asked to step down, and with `--wait-ms` the holder that took over. Exit 0 when asked (and,
 * waiting, moved), 1 when no site holds the lease or the wait ran out, 2 on bad arguments.
 */
export async function runMove(argv: string[], io: MoveIo): Promise<number> {
  let args: MoveArgs;
  try {
    args = parse(argv, io.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`failover:move: ${e.message}\n${USAGE}`);
    return 2;
  }
  const pool = createPool(
    { url: args.databaseUrl, max: 1, applicationName: `failover:move by ${args.by}` },
    silentLogger,
  );
  const lease = new Lease(pool, OPEN_SITE_LEASE, args.by, parseLeaseTiming({}));
  try {
    const asked = await lease.requestMove(args.by);
    if (asked === undefined) {
      io.out(JSON.stringify({ role: OPEN_SITE_LEASE, requested: false, reason: 'no site holds the lease' }));
      return 1;
    }
    const result = {
      role: asked.role,
      requested: true,
      by: asked.by,
      at: new Date(asked.atMs).toISOString(),
      from: { holder: asked.holder, epoch: asked.epoch },
    };
    if (args.waitMs === undefined) {
      io.out(JSON.stringify(result));
      return 0;
    }
    const end = Date.now() + args.waitMs;
    for (;;) {
      const now = await lease.current();
      if (now !== undefined && now.live && now.epoch > asked.epoch) {
        io.out(JSON.stringify({ ...result, to: { holder: now.holder, epoch: now.epoch } }));
        return 0;
      }
      if (Date.now() >= end) {
        io.out(JSON.stringify({ ...result, to: null, waitedMs: args.waitMs }));
        io.err(`failover:move: no site took the lease over within ${args.waitMs} ms`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  } catch (e) {
    io.err(`failover:move: ${(e as Error).message}`);
    return 1;
  } finally {
    await pool.end();
  }
}
