import { assert } from '../base/assert.js';

const EMPTY = -1;
const INITIAL_SLOTS = 16;

/**
 * Values by field 11 (a whole number from 0 to 999999), in open addressing over arrays that are
 * replaced only to grow, at most half full.
 *
 * Not a Map, because of the young generation: a Map whose entries come and go, one pair per
 * message, replaces its backing table every few dozen deletions, and once the map is old the new
 * table is made in the old generation too. Each table left behind there still points at the
 * entries it held, so through every young collection until the next full one those entries, and
 * all that their waiters reach, are copied as if live: with 100 requests in flight that was most
 * of what each young collection copied, and its pause.
 */
export class StanTable<V> {
  private keys = new Int32Array(INITIAL_SLOTS).fill(EMPTY);
  private values: (V | undefined)[] = new Array<V | undefined>(INITIAL_SLOTS).fill(undefined);
  /** When each entry was added, so that `entries` keeps a Map's order. */
  private added = new Float64Array(INITIAL_SLOTS);
  private adds = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  get(stan: number): V | undefined {
    const i = this.slotOf(stan);
    return i < 0 ? undefined : this.values[i];
  }

  has(stan: number): boolean {
    return this.slotOf(stan) >= 0;
  }

  /** Adds a field 11 not in the table. */
  add(stan: number, value: V): void {
    assert(Number.isInteger(stan) && stan >= 0 && stan <= 0x7fffffff, `field 11 ${stan} is not a whole number`);
    assert(!this.has(stan), `field 11 ${stan} is in the table already`);
    if (2 * (this.count + 1) > this.keys.length) this.grow();
    this.place(stan, value, this.adds++);
    this.count++;
  }

  /** Removes a field 11 and returns its value; undefined when it was not there. */
  delete(stan: number): V | undefined {
    let i = this.slotOf(stan);
    if (i < 0) return undefined;
    const value = this.values[i];
    const mask = this.keys.length - 1;
    // Backward shift: an entry after the gap moves into it unless its home slot lies in (gap, entry].
    for (let j = (i + 1) & mask; this.keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = this.keys[j]! & mask;
      const stays = i < j ? i < home && home <= j : i < home || home <= j;
      if (stays) continue;
      this.keys[i] = this.keys[j]!;
      this.values[i] = this.values[j];
      this.added[i] = this.added[j]!;
      i = j;
    }
    this.keys[i] = EMPTY;
    this.values[i] = undefined;
    this.count--;
    return value;
  }

  /** Every field 11 and value in the order they were added, as a copy: the table may change meanwhile. */
  entries(): Array<[number, V]> {
    const slots: number[] = [];
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== EMPTY) slots.push(i);
    slots.sort((a, b) => this.added[a]! - this.added[b]!);
    return slots.map((i) => [this.keys[i]!, this.values[i]!]);
  }

  clear(): void {
    this.keys.fill(EMPTY);
    this.values.fill(undefined);
    this.count = 0;
  }

  private slotOf(stan: number): number {
    const mask = this.keys.length - 1;
    for (let i = stan & mask; this.keys[i] !== EMPTY; i = (i + 1) & mask) if (this.keys[i] === stan) return i;
    return -1;
  }

  private place(stan: number, value: V, added: number): void {
    const mask = this.keys.length - 1;
    let i = stan & mask;
    while (this.keys[i] !== EMPTY) i = (i + 1) & mask;
    this.keys[i] = stan;
    this.values[i] = value;
    this.added[i] = added;
  }

  private grow(): void {
    const { keys, values, added } = this;
    this.keys = new Int32Array(2 * keys.length).fill(EMPTY);
    this.values = new Array<V | undefined>(2 * keys.length).fill(undefined);
    this.added = new Float64Array(2 * keys.length);
    for (let i = 0; i < keys.length; i++) if (keys[i] !== EMPTY) this.place(keys[i]!, values[i]!, added[i]!);
    // The old array may be in the old generation: emptied, it keeps nothing young alive.
    values.fill(undefined);
  }
}
