import { describe, expect, it } from 'vitest';
import { TransientFault } from '../../src/base/faults.js';
import { GroupCommitter, takeBatch } from '../../src/ledger/group-commit.js';
import { owedNow } from '../../src/ledger/ledger.js';
import type { Transition } from '../../src/ledger/transition.js';

const key = (s: string): string => s.split(':')[0] ?? s;

describe('takeBatch', () => {
  it('takes in order up to the cap', () => {
    expect(takeBatch(['a:1', 'b:1', 'c:1'], 2, key, new Set())).toEqual({ batch: ['a:1', 'b:1'], rest: ['c:1'] });
  });

  it('defers a second transition for the same FPID, and everything after it for that FPID', () => {
    const { batch, rest } = takeBatch(['a:1', 'b:1', 'a:2', 'c:1', 'a:3'], 10, key, new Set());
    expect(batch).toEqual(['a:1', 'b:1', 'c:1']);
    expect(rest).toEqual(['a:2', 'a:3']);
  });

  it('leaves FPIDs with a write in flight queued', () => {
    expect(takeBatch(['a:1', 'b:1'], 10, key, new Set(['a']))).toEqual({ batch: ['b:1'], rest: ['a:1'] });
  });

  it('does not let a later item overtake one held back by the cap', () => {
    const { batch, rest } = takeBatch(['a:1', 'b:1', 'a:2'], 1, key, new Set());
    expect(batch).toEqual(['a:1']);
    expect(rest).toEqual(['b:1', 'a:2']);
  });
});

describe('GroupCommitter', () => {
  it('groups what arrives while a write is in flight and keeps per-key order', async () => {
    const writes: string[][] = [];
    const committer = new GroupCommitter<string, string>(
      async (batch) => {
        writes.push([...batch]);
        await new Promise((r) => setTimeout(r, 5));
        return batch.map((s) => `done ${s}`);
      },
      key,
      { maxBatch: 100, maxInFlight: 1 },
    );
    const results = await Promise.all(['a:1', 'b:1', 'a:2', 'c:1', 'a:3'].map((s) => committer.submit(s)));
    expect(results).toEqual(['done a:1', 'done b:1', 'done a:2', 'done c:1', 'done a:3']);
    expect(writes).toEqual([['a:1'], ['b:1', 'a:2', 'c:1'], ['a:3']]);
  });

  it('rejects every item of a failed write and carries on with the next', async () => {
    let calls = 0;
    const committer = new GroupCommitter<string, string>(
      async (batch) => {
        calls += 1;
        if (calls === 1) throw new Error('disk on fire');
        return [...batch];
      },
      key,
      { maxBatch: 100, maxInFlight: 1 },
    );
    const first = committer.submit('a:1');
    const second = committer.submit('b:1');
    await expect(first).rejects.toThrow('disk on fire');
    await expect(second).resolves.toBe('b:1');
    await committer.drained();
  });
});

describe('GroupCommitter at its bound', () => {
  it('refuses an item with a TransientFault while the queue is full, and takes items again once a write frees it', async () => {
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const committer = new GroupCommitter<string, string>(
      async (batch) => {
        await gate;
        return [...batch];
      },
      key,
      { maxBatch: 1, maxInFlight: 1, maxQueued: 2 },
    );
    const inWrite = committer.submit('a:1');
    const queued = [committer.submit('b:1'), committer.submit('c:1')];
    expect(committer.queued).toBe(2);
    await expect(committer.submit('d:1')).rejects.toBeInstanceOf(TransientFault);
    expect(committer.queued).toBe(2);
    release();
    await expect(inWrite).resolves.toBe('a:1');
    // Writes have taken queued items since: there is room again.
    expect(committer.queued).toBeLessThan(2);
    await expect(Promise.all([...queued, committer.submit('d:1')])).resolves.toEqual(['b:1', 'c:1', 'd:1']);
  });
});

describe('GroupCommitter under load', () => {
  /** A committer whose writes wait for the test; urgent items are those marked '!'. */
  function gated(maxQueued = 100) {
    const writes: string[][] = [];
    let release: () => void = () => undefined;
    let now = 1_000;
    const committer = new GroupCommitter<string, string>(
      async (batch) => {
        writes.push([...batch]);
        await new Promise<void>((r) => (release = r));
        return [...batch];
      },
      key,
      { maxBatch: 2, maxInFlight: 1, maxQueued },
      (s) => s.endsWith('!'),
      () => now,
    );
    return { committer, writes, release: () => release(), tick: (ms: number) => (now += ms) };
  }

  it('writes urgent items (steps of work taken on) before others waiting longer, each lane in order', async () => {
    const g = gated();
    const all = ['a:1', 'b:1', 'c:1', 'd:1!', 'e:1', 'f:1!', 'g:1!'].map((s) => g.committer.submit(s));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      g.release();
    }
    await Promise.all(all);
    expect(g.writes).toEqual([['a:1'], ['d:1!', 'f:1!'], ['g:1!', 'b:1'], ['c:1', 'e:1']]);
  });

  it('keeps an urgent item behind an ordinary one of its key still waiting: order per key holds', async () => {
    const g = gated();
    const all = ['a:1', 'b:1', 'c:1', 'c:2!', 'd:1!'].map((s) => g.committer.submit(s));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      g.release();
    }
    await Promise.all(all);
    expect(g.writes).toEqual([['a:1'], ['d:1!', 'b:1'], ['c:1'], ['c:2!']]);
  });

  it('refuses an urgent item only when urgent items alone fill the queue', async () => {
    const g = gated(2);
    const inWrite = g.committer.submit('a:1');
    const queued = [g.committer.submit('b:1'), g.committer.submit('c:1')];
    await expect(g.committer.submit('d:1')).rejects.toBeInstanceOf(TransientFault);
    const urgent = [g.committer.submit('e:1!'), g.committer.submit('f:1!')];
    await expect(g.committer.submit('g:1!')).rejects.toBeInstanceOf(TransientFault);
    for (let i = 0; i < 3; i++) {
      g.release();
      await new Promise((r) => setImmediate(r));
    }
    await expect(Promise.all([inWrite, ...queued, ...urgent])).resolves.toHaveLength(5);
  });

  it('says how long the oldest item not yet written has waited, in a write or queued', async () => {
    const g = gated();
    expect(g.committer.oldestWaitMs).toBe(0);
    const a = g.committer.submit('a:1');
    g.tick(40);
    const b = g.committer.submit('b:1');
    g.tick(60);
    // a:1 is in the write, b:1 queued: a:1 is the oldest.
    expect(g.committer.oldestWaitMs).toBe(100);
    g.release();
    await a;
    expect(g.committer.oldestWaitMs).toBe(60);
    await new Promise((r) => setImmediate(r));
    g.release();
    await b;
    expect(g.committer.oldestWaitMs).toBe(0);
  });
});

describe("the ledger's urgent lane", () => {
  const t = (from: string | null, cause?: Transition['cause']): Transition => ({
    fpid: 'F',
    from,
    to: 'stood-in',
    event: 'received',
    at: 0,
    site: 'site-a',
    epoch: 1,
    ...(cause === undefined ? {} : { cause }),
  });

  it("puts a payment's later steps and the record of one shed on arrival ahead of new payments' records", () => {
    expect(owedNow(t('offered'))).toBe(true);
    expect(owedNow(t(null, { mti: '9200', shed: 'ledger' }))).toBe(true);
    expect(owedNow(t(null, { mti: '9200' }))).toBe(false);
    expect(owedNow(t(null))).toBe(false);
  });
});

describe('GroupCommitter lingering', () => {
  const LINGER_MS = 40;
  /** Lazy items end in `~`: records nobody waits on. Each write is kept with when it began. */
  const lingering = () => {
    const writes: Array<{ batch: string[]; at: number }> = [];
    const started = performance.now();
    const committer = new GroupCommitter<string, string>(
      async (batch) => {
        writes.push({ batch: [...batch], at: performance.now() - started });
        return [...batch];
      },
      key,
      { maxBatch: 100, maxInFlight: 1, lingerMs: LINGER_MS },
      () => false,
      () => 0,
      (s) => s.endsWith('~'),
    );
    return { committer, writes };
  };

  it('keeps lazy items back for company: the next ordinary item takes them in its write', async () => {
    const { committer, writes } = lingering();
    const lazy = committer.submit('a:2~');
    expect(committer.writeDue).toBe(false);
    await new Promise((r) => setTimeout(r, 5));
    expect(writes).toEqual([]);
    const ordinary = committer.submit('b:1');
    await expect(Promise.all([lazy, ordinary])).resolves.toEqual(['a:2~', 'b:1']);
    expect(writes.map((w) => w.batch)).toEqual([['a:2~', 'b:1']]);
    expect(writes[0]!.at).toBeLessThan(LINGER_MS);
  });

  it('writes lazy items alone once they have waited lingerMs, and nothing is left waiting', async () => {
    const { committer, writes } = lingering();
    const lazy = [committer.submit('a:2~'), committer.submit('b:3~')];
    await expect(Promise.all(lazy)).resolves.toEqual(['a:2~', 'b:3~']);
    expect(writes.map((w) => w.batch)).toEqual([['a:2~', 'b:3~']]);
    expect(writes[0]!.at).toBeGreaterThanOrEqual(LINGER_MS - 1);
    await committer.drained();
    // A lazy item after that lingers afresh.
    const later = committer.submit('c:2~');
    await new Promise((r) => setTimeout(r, 5));
    expect(writes).toHaveLength(1);
    await later;
    expect(writes).toHaveLength(2);
  });
});
