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
