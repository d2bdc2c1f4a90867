/**
 * Reads by key that arrive together share one statement: what the token lookup of every
 * request needs on PostgreSQL.
 *
 * On SQLite a lookup is an in-process call; here it is a round trip, which costs the API
 * process the pg protocol and a Promise chain and PostgreSQL a backend wake-up, a parse of
 * the message and an executor start, for an index probe that is a small part of it. Under
 * load most requests come in bursts, so lookups queued while one batch is in flight are
 * read by the next, with one statement over all their keys (`= any($1)`), and each caller
 * gets its own row.
 *
 * What a caller sees is never older than its own call: its key is read by a statement that
 * starts after the call was made (a revocation committed before a request arrives is seen
 * by it, as with a lookup of its own). A failed statement would fail every caller of its
 * batch where alone it failed one, so it is run once more (a read: running it again changes
 * nothing) before the batch's callers are rejected.
 */

/** Keys read by one statement at most: a bound on its array parameter. */
export const MAX_KEYS = 512;

interface Waiting<Row> {
  key: string;
  resolve(row: Row | undefined): void;
  reject(error: unknown): void;
}

/** `readMany` answers the rows found for some keys (by key; a key it does not answer has no row). */
export function createReadBatcher<Row>(readMany: (keys: string[]) => Promise<Map<string, Row>>): (key: string) => Promise<Row | undefined> {
  let queue: Array<Waiting<Row>> = [];
  let inFlight = false;

  function flush(): void {
    if (inFlight || queue.length === 0) return;
    // In the order asked, up to MAX_KEYS distinct keys (a repeat of one of them rides along).
    const keys = new Set<string>();
    let taken = 0;
    while (taken < queue.length && (keys.size < MAX_KEYS || keys.has(queue[taken]!.key))) keys.add(queue[taken++]!.key);
    const batch = queue.slice(0, taken);
    queue = queue.slice(taken);
    inFlight = true;
    const asked = [...keys];
    readMany(asked)
      .catch(() => readMany(asked))
      .then(
        (rows) => {
          for (const waiting of batch) waiting.resolve(rows.get(waiting.key));
        },
        (error: unknown) => {
          for (const waiting of batch) waiting.reject(error);
        },
      )
      .finally(() => {
        inFlight = false;
        flush();
      });
  }

  return (key) =>
    new Promise<Row | undefined>((resolve, reject) => {
      queue.push({ key, resolve, reject });
      // The first lookup of a burst waits one turn of the event loop for the rest of it.
      if (!inFlight && queue.length === 1) setImmediate(flush);
    });
}
