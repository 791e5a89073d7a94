// The filters of the query compatibility suite (query.test.ts), shared with
// the suites that run every one of them another way (scalar-index.test.ts:
// with and without indexes). Columns: id, name, category, price, flag,
// meta {rank, label}, note.
export const QUERY_SUITE_FILTERS = [
  "id > 250",
  "id >= 10 AND id < 20",
  "category = 'veg' OR price < 5",
  "NOT flag",
  "flag = true AND id % 2 = 0",
  "id IN (1, 2, 3, 299, 1000)",
  "id NOT IN (1, 2, 3)",
  "price BETWEEN 10 AND 20.5",
  "note IS NULL",
  "note IS NOT NULL AND id < 30",
  "name LIKE 'item-1%'",
  "name NOT LIKE '%3'",
  "meta.rank = 3",
  "meta.label = 'L2' AND meta.rank > 5",
  "price * 2 + 1 > 150",
  "`category` = 'grain'",
  "id - 1 = 41",
  "-id < -298",
];

/** The LCG both suites seed with 42, so their rows (and query.test.ts's query vectors) stay as they were. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * The query suite's 300 rows (the columns QUERY_SUITE_FILTERS name, plus a `dim`-d vector; `extra`
 * columns go before the vector) and the generator, which goes on where the rows left off.
 */
export function querySuiteRows(dim: number, extra: Record<string, unknown> = {}): { rows: Record<string, unknown>[]; rand: () => number } {
  const rand = lcg(42);
  const rows = Array.from({ length: 300 }, (_, i) => ({
    id: i,
    name: `item-${i % 37}`,
    category: ["fruit", "veg", "grain"][i % 3],
    price: Math.round(rand() * 10000) / 100,
    flag: i % 4 === 0,
    meta: { rank: i % 10, label: `L${i % 5}` },
    note: i % 7 === 3 ? null : `note ${i}`,
    ...extra,
    vector: Array.from({ length: dim }, () => rand() * 2 - 1),
  }));
  return { rows, rand };
}
