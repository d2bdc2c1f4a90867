/**
 * The read batcher of the PostgreSQL stores (server/stores/pg/read-batch.ts), with a
 * `readMany` the test answers by hand: who shares a statement, what a caller made during a
 * read waits for, a failed read, and the bound on keys per statement.
 */
import { describe, expect, it } from 'vitest';
import { createReadBatcher, MAX_KEYS } from '../server/stores/pg/read-batch.js';

/** A readMany whose calls wait until the test answers them. */
function manualReads() {
  const calls: Array<{ keys: string[]; answer(rows: Record<string, string>): void; fail(error: Error): void }> = [];
  const readMany = (keys: string[]) =>
    new Promise<Map<string, string>>((resolve, reject) => {
      calls.push({ keys, answer: (rows) => resolve(new Map(Object.entries(rows))), fail: reject });
    });
  return { calls, read: createReadBatcher<string>(readMany) };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('createReadBatcher', () => {
  it('reads the keys asked in one turn in one statement, each once, and answers each caller its own row', async () => {
    const { calls, read } = manualReads();
    const answers = Promise.all([read('a'), read('b'), read('a'), read('missing')]);
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['a', 'b', 'missing']]);
    calls[0]!.answer({ a: 'row a', b: 'row b' });
    expect(await answers).toEqual(['row a', 'row b', 'row a', undefined]);
  });

  it('a lookup made while a read is in flight waits for the next read, which starts after it', async () => {
    const { calls, read } = manualReads();
    const first = read('t');
    await turn();
    const second = read('t');
    await turn();
    expect(calls).toHaveLength(1);
    calls[0]!.answer({ t: 'before the revocation' });
    expect(await first).toBe('before the revocation');
    await turn();
    expect(calls).toHaveLength(2);
    calls[1]!.answer({ t: 'revoked' });
    expect(await second).toBe('revoked');
  });

  it('a failed read is run once more; failing again, it rejects its callers, and the next lookups are read anew', async () => {
    const { calls, read } = manualReads();
    const flaky = read('x');
    await turn();
    calls[0]!.fail(new Error('connection reset'));
    await turn();
    expect(calls.map((c) => c.keys)).toEqual([['x'], ['x']]);
    calls[1]!.answer({ x: 'row x' });
    expect(await flaky).toBe('row x');

    const doomed = Promise.allSettled([read('y'), read('z')]);
    await turn();
    calls[2]!.fail(new Error('down'));
    await turn();
    calls[3]!.fail(new Error('still down'));
    expect((await doomed).map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value))).toEqual(['still down', 'still down']);

    const after = read('y');
    await turn();
    calls[4]!.answer({ y: 'row y' });
    expect(await after).toBe('row y');
  });

  it(`reads at most ${MAX_KEYS} distinct keys per statement, in the order asked; the rest are read by the next`, async () => {
    const { calls, read } = manualReads();
    const keys = Array.from({ length: MAX_KEYS + 10 }, (_, i) => `k${i}`);
    const answers = Promise.all([...keys.map((key) => read(key)), read('k0')]);
    await turn();
    expect(calls).toHaveLength(1);
    expect(calls[0]!.keys).toHaveLength(MAX_KEYS);
    calls[0]!.answer(Object.fromEntries(calls[0]!.keys.map((key) => [key, `row ${key}`])));
    await turn();
    expect(calls[1]!.keys).toEqual([...keys.slice(MAX_KEYS), 'k0']);
    calls[1]!.answer(Object.fromEntries(calls[1]!.keys.map((key) => [key, `row ${key}`])));
    const rows = await answers;
    expect(rows.slice(0, keys.length)).toEqual(keys.map((key) => `row ${key}`));
    expect(rows.at(-1)).toBe('row k0');
  });
});
