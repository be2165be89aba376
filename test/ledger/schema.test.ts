import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { PAYMENT_ATTRIBUTES } from '../../src/domain/payment.js';
import { migrate } from '../../src/ledger/migrate.js';
import { startTestDatabase, type TestDatabase } from '../support/ledger.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await startTestDatabase();
});
afterAll(async () => {
  await db?.stop();
});

describe('migrations', () => {
  it('apply once and are a no-op the second time', async () => {
    const first = await migrate(db.url, silentLogger);
    expect(first.length).toBeGreaterThanOrEqual(4);
    expect(await migrate(db.url, silentLogger)).toEqual([]);
    const { rows } = await db.pool.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['outbox', 'payment_journal', 'payments', 'site_lease']),
    );
  });

  it('keep the server durable: fsync and synchronous_commit are on', async () => {
    const { rows } = await db.pool.query(
      "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sc",
    );
    expect(rows[0]).toEqual({ fsync: 'on', sc: 'on' });
  });
});

describe('ledger_commit', () => {
  // A later CREATE OR REPLACE of the function drops settings it does not restate: this says so.
  it('runs on generic plans of index lookups only, whatever the batch size', async () => {
    const { rows } = await db.pool.query<{ proconfig: string[] }>(
      "SELECT proconfig FROM pg_proc WHERE proname = 'ledger_commit'",
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.proconfig).toEqual(
      expect.arrayContaining([
        'plan_cache_mode=force_generic_plan',
        'enable_seqscan=off',
        'enable_hashjoin=off',
        'enable_mergejoin=off',
      ]),
    );
  });
});

describe('payment_journal', () => {
  beforeAll(async () => {
    await db.pool.query(
      "INSERT INTO payment_journal (fpid, from_state, to_state, event, at, site, epoch) VALUES ('x', NULL, 'received', 'received', now(), 'site-a', 1)",
    );
  });

  it.each([
    ['UPDATE', "UPDATE payment_journal SET to_state = 'accepted'"],
    ['DELETE', 'DELETE FROM payment_journal'],
    ['TRUNCATE', 'TRUNCATE payment_journal'],
  ])('refuses %s', async (op, sql) => {
    await expect(db.pool.query(sql)).rejects.toThrow(`payment_journal is append-only: ${op} refused`);
  });

  it('refuses UPDATE even from a transaction that claims to be the retention job', async () => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL ledger.retention = 'on'");
      await expect(client.query("UPDATE payment_journal SET to_state = 'accepted'")).rejects.toThrow('append-only');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('payments', () => {
  it('has a column, and ledger_transition a key, for every attribute in the payment table', async () => {
    const names = async (sql: string) => (await db.pool.query<{ name: string }>(sql)).rows.map((r) => r.name);
    const columns = await names(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_name = 'payments'",
    );
    // A key missing from the record type would be dropped without a word by json_populate_recordset.
    const keys = await names(
      "SELECT attribute_name AS name FROM information_schema.attributes WHERE udt_name = 'ledger_transition'",
    );
    const wanted = PAYMENT_ATTRIBUTES.map((a) => a.column);
    expect(columns).toEqual(expect.arrayContaining(wanted));
    expect(keys).toEqual(expect.arrayContaining(wanted));
  });

  it('refuses negative amounts and short FPIDs at the database too', async () => {
    const insert = (fpid: string, amount: number) =>
      db.pool.query(
        `INSERT INTO payments (fpid, direction, state, payment_type, amount_pence, trn, date_sent, institution,
          originator_sort_code, originator_account, beneficiary_sort_code, beneficiary_account, site, created_at, updated_at)
         VALUES ($1, 'inbound', 'received', '01', $2, 't', '20251122', '400000', '1', '1', '2', '2', 's', now(), now())`,
        [fpid, amount],
      );
    await expect(insert('x'.repeat(42), -1)).rejects.toThrow('amount_pence_check');
    await expect(insert('short', 1)).rejects.toThrow('fpid_check');
  });
});
