/**
 * Facts read on first use: each is a synchronous prepared statement run when `decide`
 * first reads that property (then kept), so a create that fails its first check reads no
 * more than the code before the seam did. Only for use inside the transaction that calls
 * `decide` (stores/decide.ts).
 */
export type Readers<T> = { [K in keyof T]-?: () => T[K] };

export function lazyFacts<T extends object>(readers: Readers<T>): T {
  const facts = {} as T;
  for (const key of Object.keys(readers) as Array<keyof T & string>) {
    Object.defineProperty(facts, key, {
      configurable: true,
      enumerable: true,
      get() {
        const value = readers[key]();
        Object.defineProperty(facts, key, { value, enumerable: true });
        return value;
      },
    });
  }
  return facts;
}
