/**
 * How a store runs a check-then-write atomically without the service seeing SQL: the store
 * opens its transaction, hands the facts it reads to the service's `decide` (synchronous,
 * pure domain logic that throws NotepadError in the contract's order), and writes what
 * `decide` returns, all in that one transaction. A `decide` that throws writes nothing.
 *
 * A backend may read the facts lazily (SQLite: a prepared statement per fact, run when the
 * property is first read, so a create that fails early reads no more than it needs) or
 * before calling `decide` (an asynchronous driver); either way `decide` sees plain values.
 */

/** What `decide` hands back: the answer for the caller, and the rows to write (none: answer only). */
export interface Decision<Answer, Write> {
  answer: Answer;
  write?: Write | undefined;
}

export type Decide<Facts, Answer, Write> = (facts: Facts) => Decision<Answer, Write>;

/** How a write of a named resource in a folder ended: done, or the name is taken there (names are unique within a folder). */
export type NamedWrite<T> = { ok: true; value: T } | { ok: false; nameTaken: true };
