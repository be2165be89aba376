/**
 * A ledger whose server is away says so as a TransientFault, for commits and reads alike, so
 * that callers wait it out; an error of the statement itself stays an ordinary error.
 */
import { describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { createPool } from '../../src/ledger/pool.js';
import { silentLogger } from '../../src/base/log.js';
import {
  create,
  FINAL_STATES,
  fpid,
  freePort,
  manualClock,
  startMigratedDatabase,
  startTestDatabase,
} from '../support/ledger.js';

describe('ledger errors', () => {
  it('rejects commits and reads with a TransientFault while no server answers', async () => {
    const pool = createPool({ url: `postgres://nobody@127.0.0.1:${await freePort()}/none`, max: 2 }, silentLogger);
    const clock = manualClock();
    const ledger = new Ledger(pool, clock, silentLogger, { finalStates: FINAL_STATES });
    try {
      await expect(ledger.commit(create(fpid(), clock.now()))).rejects.toBeInstanceOf(TransientFault);
      await expect(ledger.get(fpid())).rejects.toBeInstanceOf(TransientFault);
      await expect(ledger.findByParticipantTrn('040004', 'LEDGERDOWN00000001')).rejects.toBeInstanceOf(TransientFault);
    } finally {
      await pool.end();
    }
  });

  it('rejects a commit whose connection the server ends, as a restart does (57P01), with a TransientFault, and commits it afterwards', async () => {
    const db = await startMigratedDatabase();
    const url = new URL(db.url);
    url.searchParams.set('application_name', 'ledger-restarted');
    const pool = createPool({ url: url.toString(), max: 2 }, silentLogger);
    const clock = manualClock();
    const ledger = new Ledger(pool, clock, silentLogger, { finalStates: FINAL_STATES });
    const lock = await db.pool.connect();
    try {
      // The commit waits on a lock while the server ends its connection, as a fast shutdown does.
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE payments IN ACCESS EXCLUSIVE MODE');
      const id = fpid();
      // Its failure is caught at once: it can come while the test awaits the termination below.
      const failure = ledger.commit(create(id, clock.now())).then(
        () => new Error('the commit succeeded'),
        (err: unknown) => err,
      );
      const waiting =
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'ledger-restarted' AND wait_event_type = 'Lock'";
      let pids: number[] = [];
      for (const end = Date.now() + 5000; pids.length !== 1; await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > end) throw new Error('timed out waiting for the commit to wait on the lock');
        pids = (await db.pool.query<{ pid: number }>(waiting)).rows.map((r) => r.pid);
      }
      await db.pool.query('SELECT pg_terminate_backend($1)', [pids[0]]);
      const err = await failure;
      expect(err).toBeInstanceOf(TransientFault);
      expect((err as Error).message).toMatch(/code 57P01/);
      await lock.query('ROLLBACK');
      // Nothing of it took effect: the same transition commits as a first create.
      expect(await ledger.commit(create(id, clock.now()))).toEqual({ fpid: id, ok: true });
    } finally {
      lock.release();
      await pool.end();
      await db.stop();
    }
  });

  it('keeps an error of the statement itself (a missing table) an ordinary error', async () => {
    const db = await startTestDatabase();
    const clock = manualClock();
    // No migrations: the commit function and the tables do not exist.
    const ledger = new Ledger(db.pool, clock, silentLogger, { finalStates: FINAL_STATES });
    try {
      const commit = ledger.commit(create(fpid(), clock.now()));
      await expect(commit).rejects.toThrow(/code 42/);
      await expect(commit).rejects.not.toBeInstanceOf(TransientFault);
      await expect(ledger.get(fpid())).rejects.not.toBeInstanceOf(TransientFault);
    } finally {
      await db.stop();
    }
  });
});
