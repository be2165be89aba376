import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/base/log.js';
import { Ledger } from '../../src/ledger/ledger.js';
import { SIGNAL_CHANNEL } from '../../src/ledger/site-signals.js';
import type { Transition } from '../../src/ledger/transition.js';
import {
  create,
  FINAL_STATES,
  fpid,
  manualClock,
  move,
  newPayment,
  startMigratedDatabase,
  type TestDatabase,
} from '../support/ledger.js';
import { eventually } from '../support/stack.js';

let db: TestDatabase;
let ledger: Ledger;
const clock = manualClock();

beforeAll(async () => {
  db = await startMigratedDatabase();
  ledger = new Ledger(db.pool, clock, silentLogger, { finalStates: FINAL_STATES });
});
afterAll(async () => {
  await ledger?.drain();
  await db?.stop();
});
beforeEach(async () => {
  await db.pool.query('DELETE FROM site_lease');
});

const count = async (sql: string, values: unknown[] = []): Promise<number> =>
  Number((await db.pool.query<{ n: string }>(sql, values)).rows[0]?.n);

describe('commit', () => {
  it('creates a payment with its first journal entry and moves it on', async () => {
    const id = fpid();
    const t0 = clock.now();
    expect(
      await ledger.commit(create(id, t0, { cause: { mti: '9200', stan: '000042', connectionId: 'cc-1' } })),
    ).toEqual({ fpid: id, ok: true });
    expect(
      await ledger.commit(
        move(id, 'received', 'offered', t0 + 10, { patch: { standInAt: t0 + 5_000, deadlineAt: t0 + 15_000 } }),
      ),
    ).toEqual({ fpid: id, ok: true });
    expect(
      await ledger.commit(move(id, 'offered', 'accepted', t0 + 20, { patch: { outcome: '0000', deadlineAt: null } })),
    ).toEqual({ fpid: id, ok: true });

    const payment = await ledger.get(id);
    expect(payment).toMatchObject({
      ...newPayment(),
      fpid: id,
      state: 'accepted',
      outcome: '0000',
      standInAt: t0 + 5_000,
      createdAt: t0,
      updatedAt: t0 + 20,
      version: 3,
      site: 'site-a',
    });
    expect(payment?.deadlineAt).toBeUndefined();
    const journal = await ledger.journal(id);
    expect(journal.map((j) => [j.from, j.to, j.at])).toEqual([
      [null, 'received', t0],
      ['received', 'offered', t0 + 10],
      ['offered', 'accepted', t0 + 20],
    ]);
    expect(journal[0]?.cause).toEqual({ mti: '9200', stan: '000042', connectionId: 'cc-1' });
  });

  it('reports a second create of an FPID as a duplicate with the current state, and journals nothing', async () => {
    const id = fpid();
    await ledger.commit(create(id, clock.now()));
    await ledger.commit(move(id, 'received', 'offered', clock.now()));
    expect(await ledger.commit(create(id, clock.now(), { payment: newPayment({ amountPence: 1 }) }))).toEqual({
      fpid: id,
      ok: false,
      reason: 'duplicate',
      currentState: 'offered',
    });
    expect((await ledger.get(id))?.amountPence).toBe(newPayment().amountPence);
    expect(await ledger.journal(id)).toHaveLength(2);
  });

  it('reports a transition from the wrong state as a conflict and leaves the payment alone', async () => {
    const id = fpid();
    await ledger.commit(create(id, clock.now()));
    expect(await ledger.commit(move(id, 'offered', 'accepted', clock.now()))).toEqual({
      fpid: id,
      ok: false,
      reason: 'conflict',
      currentState: 'received',
    });
    expect(await ledger.commit(move(fpid(), 'offered', 'accepted', clock.now()))).toMatchObject({
      ok: false,
      reason: 'conflict',
    });
    expect((await ledger.get(id))?.state).toBe('received');
    expect(await ledger.journal(id)).toHaveLength(1);
  });

  it('fences a write whose epoch is not the open-site lease epoch, and admits the current one (P3)', async () => {
    const id = fpid();
    await ledger.commit(create(id, clock.now()));
    await db.pool.query(
      "INSERT INTO site_lease (name, holder, epoch, expires_at) VALUES ('open-site', 'site-b', 2, now())",
    );
    const stale = move(id, 'received', 'offered', clock.now(), {
      outbox: [{ topic: 'payments', key: id, payload: { s: 1 } }],
    });
    expect(await ledger.commit(stale)).toEqual({ fpid: id, ok: false, reason: 'fenced', currentState: 'received' });
    expect(await ledger.commit(create(fpid(), clock.now()))).toMatchObject({ ok: false, reason: 'fenced' });
    expect(await count('SELECT count(*) AS n FROM outbox WHERE key = $1', [id])).toBe(0);
    expect(await ledger.commit(move(id, 'received', 'offered', clock.now(), { site: 'site-b', epoch: 2 }))).toEqual({
      fpid: id,
      ok: true,
    });
    expect((await ledger.get(id))?.site).toBe('site-b');
  });

  it('fences only the stale transitions of a batch', async () => {
    await db.pool.query(
      "INSERT INTO site_lease (name, holder, epoch, expires_at) VALUES ('open-site', 'site-b', 3, now())",
    );
    const [stale, current] = [fpid(), fpid()];
    const results = await Promise.all([
      ledger.commit(create(stale, clock.now(), { epoch: 2 })),
      ledger.commit(create(current, clock.now(), { site: 'site-b', epoch: 3 })),
    ]);
    expect(results).toEqual([
      { fpid: stale, ok: false, reason: 'fenced' },
      { fpid: current, ok: true },
    ]);
    expect(await ledger.journal(stale)).toEqual([]);
  });

  it('writes outbox events only for transitions that applied', async () => {
    const id = fpid();
    const event = (n: number) => ({ topic: 'payments.state', key: id, payload: { n } });
    await ledger.commit(create(id, clock.now(), { outbox: [event(1), event(2)] }));
    await ledger.commit(create(id, clock.now(), { outbox: [event(3)] }));
    await ledger.commit(move(id, 'nope', 'x', clock.now(), { outbox: [event(4)] }));
    const { rows } = await db.pool.query('SELECT payload FROM outbox WHERE key = $1 ORDER BY id', [id]);
    expect(rows.map((r) => r.payload)).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('rejects a malformed transition before it can spoil a batch', async () => {
    await expect(ledger.commit(create('short', clock.now()))).rejects.toThrow('FPID must be 42 characters');
    await expect(
      ledger.commit(create(fpid(), clock.now(), { payment: newPayment({ amountPence: 1.5 }) })),
    ).rejects.toThrow('integer pence');
    await expect(ledger.commit({ ...create(fpid(), clock.now()), payment: undefined })).rejects.toThrow(
      'needs its payment details',
    );
  });

  it('makes an outbound instruction idempotent on the participant TRN', async () => {
    const outbound = newPayment({
      direction: 'outbound',
      participantId: 'BANK1',
      trn: 'PTRN00000000000001',
      participantMsgId: 'msg-1',
    });
    const first = fpid();
    expect(await ledger.commit(create(first, clock.now(), { payment: outbound }))).toEqual({ fpid: first, ok: true });
    expect(
      await ledger.commit(create(fpid(), clock.now(), { payment: { ...outbound, participantMsgId: 'msg-2' } })),
    ).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(await ledger.findByParticipantTrn('BANK1', 'PTRN00000000000001')).toMatchObject({
      fpid: first,
      participantMsgId: 'msg-1',
    });
    expect(await ledger.findByParticipantTrn('BANK2', 'PTRN00000000000001')).toBeUndefined();
  });

  it('stores the lifecycle context a transition carries and finds a payment by its offer message id', async () => {
    const id = fpid();
    await ledger.commit(create(id, clock.now(), { patch: { context: { repeats: [] } } }));
    await ledger.commit(
      move(id, 'received', 'offered', clock.now(), {
        patch: { participantMsgId: `offer-${id}`, context: { repeats: [1] } },
      }),
    );
    await ledger.commit(move(id, 'offered', 'decided', clock.now(), { patch: { outcome: '0000' } }));
    expect(await ledger.get(id)).toMatchObject({
      state: 'decided',
      context: { repeats: [1] },
      participantMsgId: `offer-${id}`,
    });
    expect((await ledger.findByParticipantMsgId(`offer-${id}`))?.fpid).toBe(id);
    expect(await ledger.findByParticipantMsgId('no-such-offer')).toBeUndefined();
  });
});

describe('point reads', () => {
  it('answers reads asked in one turn together, each with its own row or none', async () => {
    const ids = [fpid(), fpid(), fpid()];
    const pay = (participantId: string, trn: string) =>
      newPayment({ direction: 'outbound', participantId, trn, participantMsgId: `m-${trn}` });
    await ledger.commit(create(ids[0]!, clock.now(), { payment: pay('BANKA', 'ATRN00000000000001') }));
    await ledger.commit(create(ids[1]!, clock.now(), { payment: pay('BANKB', 'BTRN00000000000001') }));
    const [a, b, missing, again] = await Promise.all([
      ledger.get(ids[0]!),
      ledger.get(ids[1]!),
      ledger.get(ids[2]!),
      ledger.get(ids[0]!),
    ]);
    expect([a?.fpid, b?.fpid, missing, again?.fpid]).toEqual([ids[0], ids[1], undefined, ids[0]]);
    // Each TRN with its own participant only: the other participant's TRN in the same read is no match.
    const found = await Promise.all([
      ledger.findByParticipantTrn('BANKA', 'ATRN00000000000001'),
      ledger.findByParticipantTrn('BANKB', 'BTRN00000000000001'),
      ledger.findByParticipantTrn('BANKA', 'BTRN00000000000001'),
      ledger.findByParticipantTrn('BANKB', 'ATRN00000000000001'),
    ]);
    expect(found.map((p) => p?.fpid)).toEqual([ids[0], ids[1], undefined, undefined]);
  });
});

describe('cross-site signals sent by a batch', () => {
  it("sends a transition's signal and the signals handed to it as the batch commits; with no batch waiting none is taken", async () => {
    const listener = new pg.Client({ connectionString: db.url });
    await listener.connect();
    try {
      const heard: unknown[] = [];
      listener.on('notification', (n) => heard.push(JSON.parse(n.payload ?? 'null')));
      await listener.query(`LISTEN ${SIGNAL_CHANNEL}`);
      const handed = JSON.stringify({ to: 'site-b', kind: 'outcome', fpids: ['F1'] });
      expect(ledger.carrySignals([handed])).toBe(false);
      // The first commit is written at once; the second waits for it, and is handed the signal.
      const [first, second, third] = [fpid(), fpid(), fpid()];
      const writes = [
        ledger.commit(create(first, clock.now())),
        ledger.commit({ ...create(second, clock.now()), signal: { to: '*open*', kind: 'offer' } }),
      ];
      expect(ledger.carrySignals([handed])).toBe(true);
      await Promise.all(writes);
      await ledger.commit({ ...create(third, clock.now()), signal: { to: '*open*', kind: 'offer' } });
      await eventually(
        async () => heard,
        (h) => h.length === 3,
        5_000,
        'the signals',
      );
      expect(heard).toEqual([
        { to: 'site-b', kind: 'outcome', fpids: ['F1'] },
        { to: '*open*', kind: 'offer', fpids: [second] },
        { to: '*open*', kind: 'offer', fpids: [third] },
      ]);
      expect(await count('SELECT count(*) AS n FROM payments WHERE fpid = ANY($1)', [[first, second, third]])).toBe(3);
    } finally {
      await listener.end();
    }
  });
});

describe('group commit', () => {
  it('resolves 500 concurrent commits with their own results, journalling exactly what applied', async () => {
    const ids = Array.from({ length: 250 }, () => fpid());
    await Promise.all(ids.map((id) => ledger.commit(create(id, clock.now()))));
    const batchesBefore = await count(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    // Per FPID: one good move, and one create that must come back as a duplicate, all at once.
    const transitions: Transition[] = ids.flatMap((id, i) => [
      i % 5 === 0 ? move(id, 'wrong', 'offered', clock.now()) : move(id, 'received', 'offered', clock.now()),
      create(id, clock.now()),
    ]);
    const results = await Promise.all(transitions.map((t) => ledger.commit(t)));
    results.forEach((r, k) => {
      const id = ids[Math.floor(k / 2)];
      expect(r.fpid).toBe(id);
      if (k % 2 === 1) expect(r).toMatchObject({ ok: false, reason: 'duplicate' });
      else if (Math.floor(k / 2) % 5 === 0)
        expect(r).toEqual({ fpid: id, ok: false, reason: 'conflict', currentState: 'received' });
      else expect(r).toEqual({ fpid: id, ok: true });
    });
    const applied = results.filter((r) => r.ok).length;
    expect(applied).toBe(200);
    expect(
      await count("SELECT count(*) AS n FROM payment_journal WHERE fpid = ANY($1) AND to_state = 'offered'", [ids]),
    ).toBe(applied);
    // Far fewer transactions than transitions: they were grouped.
    const batchesAfter = await count(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
    );
    expect(batchesAfter - batchesBefore).toBeLessThan(100);
  });

  it('applies two transitions for the same FPID submitted together, in order', async () => {
    const id = fpid();
    const [a, b, c] = await Promise.all([
      ledger.commit(create(id, clock.now())),
      ledger.commit(move(id, 'received', 'offered', clock.now() + 1)),
      ledger.commit(move(id, 'offered', 'accepted', clock.now() + 2)),
    ]);
    expect([a.ok, b.ok, c.ok]).toEqual([true, true, true]);
    expect((await ledger.journal(id)).map((j) => j.to)).toEqual(['received', 'offered', 'accepted']);
  });

  it('leaves the journal equal to the transitions that applied, for any interleaving', async () => {
    const states = ['received', 'offered', 'decided', 'accepted'];
    const step = fc.record({
      payment: fc.nat(4),
      from: fc.constantFrom(null, ...states),
      to: fc.constantFrom(...states),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const ids = Array.from({ length: 5 }, () => fpid());
        const transitions = steps.map((s) =>
          s.from === null
            ? create(ids[s.payment] as string, clock.now(), { to: s.to })
            : move(ids[s.payment] as string, s.from, s.to, clock.now()),
        );
        const results = await Promise.all(transitions.map((t) => ledger.commit(t)));
        // Submission order per FPID is application order, so replaying it in memory predicts every result.
        const model = new Map<string, string>();
        const expected = transitions.map((t) => {
          const current = model.get(t.fpid);
          const ok = t.from === null ? current === undefined : current === t.from;
          if (ok) model.set(t.fpid, t.to);
          return ok;
        });
        expect(results.map((r) => r.ok)).toEqual(expected);
        for (const id of ids) {
          const journal = (await ledger.journal(id)).map((j) => [j.from, j.to]);
          const applied = transitions.filter((t, k) => t.fpid === id && expected[k]).map((t) => [t.from, t.to]);
          expect(journal).toEqual(applied);
          expect((await ledger.get(id))?.state).toBe(model.get(id));
        }
      }),
      { numRuns: 40 },
    );
  });
});

describe('queries', () => {
  it('findOpen returns every payment not in a final state', async () => {
    const open = fpid();
    const done = fpid();
    await ledger.commit(create(open, clock.now()));
    await ledger.commit(create(done, clock.now()));
    await ledger.commit(move(done, 'received', 'rejected', clock.now()));
    const found = (await ledger.findOpen()).map((p) => p.fpid);
    expect(found).toContain(open);
    expect(found).not.toContain(done);
    expect(await count('SELECT count(*) AS n FROM payments WHERE state <> ALL($1)', [FINAL_STATES])).toBe(found.length);
  });

  it('isDuplicate counts an FPID as seen only within the duplicate window', async () => {
    const id = fpid();
    const start = clock.now();
    await ledger.commit(create(id, start));
    expect(await ledger.isDuplicate(id)).toBe(true);
    expect(await ledger.isDuplicate(fpid())).toBe(false);
    clock.set(start + 8 * 86_400_000);
    try {
      expect(await ledger.isDuplicate(id)).toBe(false);
    } finally {
      clock.set(start);
    }
  });
});
