/**
 * A ledger whose server is away says so as a TransientFault, for commits and reads alike, so
 * that callers wait it out; an error of the statement itself stays an ordinary error.
 */
import { describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { createPool } from '../../src/ledger/pool.js';
import { silentLogger } from '../../src/base/log.js';
import { create, FINAL_STATES, fpid, freePort, manualClock, startTestDatabase } from '../support/ledger.js';

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
