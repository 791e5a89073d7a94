import type { NativeTable } from "./native";

type VectorOptions = Parameters<NativeTable["vectorSearch"]>[0];

/**
 * A vector search, answered on this thread when everything it needs is in
 * memory (a warm index and columns: no I/O, no hop to a worker thread and
 * back), else run asynchronously. The same rows either way; always a
 * Promise. `STOWAGE_SYNC_SEARCH=0` turns the synchronous attempt off.
 */
export function vectorSearch(inner: NativeTable, options: VectorOptions): Promise<Buffer> {
  if (process.env.STOWAGE_SYNC_SEARCH !== "0") {
    const now = inner.vectorSearchCached(options);
    if (now) return Promise.resolve(now);
  }
  return inner.vectorSearch(options);
}
