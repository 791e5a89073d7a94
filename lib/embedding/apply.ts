// SPDX-License-Identifier: Apache-2.0
// Running a table's embedding functions over data being written, and over a
// search("text") query. One place, so createTable, add and mergeInsert embed
// the same way.

import { Field, Schema, Table as ArrowTable } from "apache-arrow";
import { Data, isArrowTable, localizeTable, toArrowTable, VectorColumnOptions, withSchemaMetadata } from "../arrow";
import { StowageError } from "../errors";
import { EMBEDDING_FUNCTIONS_KEY, EmbeddingFunctionConfig, getRegistry } from "./registry";

/** The embedding functions a schema's metadata names (none: an empty list). */
/**
 * The vector columns the schema's embedding functions fill, read from the
 * metadata alone (no function is looked up or created).
 */
function embeddedColumns(schema: Schema): string[] {
  const text = schema.metadata.get(EMBEDDING_FUNCTIONS_KEY);
  if (text === undefined) return [];
  try {
    const stored = JSON.parse(text) as { vectorColumn?: string }[];
    return Array.isArray(stored) ? stored.map((f) => f.vectorColumn ?? "vector") : [];
  } catch {
    return [];
  }
}

/**
 * Whether `data` leaves a vector column of the schema's embedding functions
 * to compute. Data that holds every such column already (an import, a copy
 * of another table) is written as given, as @lancedb/lancedb leaves a
 * vector it is given, so the function need not even be registered.
 */
export function needsEmbedding(data: Data, schema: Schema): boolean {
  const columns = embeddedColumns(schema);
  if (columns.length === 0) return false;
  if (isArrowTable(data)) {
    const table = localizeTable(data);
    if (table.numRows === 0) return false;
    return columns.some((c) => {
      const col = table.getChild(c);
      return col === null || col.nullCount === col.length;
    });
  }
  if (Array.isArray(data)) {
    const records = data as Record<string, unknown>[];
    return records.length > 0 && columns.some((c) => isAllNull(records, c));
  }
  return true;
}

export async function functionsOf(schema: Schema): Promise<EmbeddingFunctionConfig[]> {
  if (!schema.metadata.has(EMBEDDING_FUNCTIONS_KEY)) return [];
  return [...(await getRegistry().parseFunctions(schema.metadata)).values()];
}

/** Rows of an Arrow table as plain records (vectors and lists as arrays). */
function tableToRecords(table: ArrowTable): Record<string, unknown>[] {
  const plain = (v: unknown): unknown => {
    if (v === null || typeof v !== "object") return v;
    if (ArrayBuffer.isView(v)) return Array.from(v as Float32Array);
    const o = v as { toArray?: () => unknown; toJSON?: () => unknown };
    if (typeof o.toJSON === "function" && !Array.isArray(v) && !(v instanceof Date)) {
      const j = o.toJSON();
      if (Array.isArray(j)) return j.map(plain);
      if (j && typeof j === "object") return Object.fromEntries(Object.entries(j).map(([k, x]) => [k, plain(x)]));
      return j;
    }
    return v;
  };
  return table.toArray().map((row) => plain(row) as Record<string, unknown>);
}

function isAllNull(records: Record<string, unknown>[], column: string): boolean {
  return records.every((r) => r[column] === null || r[column] === undefined);
}

/**
 * `records` with each function's vector column computed from its source
 * column. As in @lancedb/lancedb, a vector column that already holds a value
 * in some row is left as given.
 */
export async function embedRecords(
  records: Record<string, unknown>[],
  configs: EmbeddingFunctionConfig[],
): Promise<Record<string, unknown>[]> {
  let out = records;
  for (const conf of configs) {
    const dest = conf.vectorColumn ?? "vector";
    if (out.length === 0 || !isAllNull(out, dest)) continue;
    if (out.every((r) => !(conf.sourceColumn in r))) {
      throw new StowageError(
        "INVALID_ARGUMENT",
        `Cannot apply the embedding function because the source column '${conf.sourceColumn}' is not in the data`,
      );
    }
    const values = out.map((r) => r[conf.sourceColumn]);
    const vectors = await conf.function.computeSourceEmbeddings(values as never[]);
    if (!vectors || vectors.length !== values.length) {
      throw new StowageError(
        "INVALID_ARGUMENT",
        `The embedding function for '${conf.sourceColumn}' returned ${vectors?.length ?? 0} embeddings for ${values.length} values`,
      );
    }
    out = out.map((r, i) => ({ ...r, [dest]: Array.from(vectors[i] as ArrayLike<number>) }));
  }
  return out;
}

/**
 * Data for a table whose schema (or the `embeddingFunction` create option)
 * names embedding functions: the vectors computed, as records (or the Arrow
 * table unchanged when there is nothing to compute).
 */
export async function embedData(data: Data, configs: EmbeddingFunctionConfig[]): Promise<Data> {
  if (configs.length === 0) return data;
  if (isArrowTable(data)) {
    const table = localizeTable(data);
    const todo = configs.filter((c) => {
      const col = table.getChild(c.vectorColumn ?? "vector");
      return col === null || col.nullCount === col.length;
    });
    if (todo.length === 0 || table.numRows === 0) return table;
    return embedRecords(tableToRecords(table), todo);
  }
  return embedRecords(data as Record<string, unknown>[], configs);
}

/**
 * createTable(name, records, { embeddingFunction }) without a schema: the
 * vector column gets the function's element type, and the configuration
 * goes into the schema metadata.
 */
export async function tableWithFunction(data: Data, conf: EmbeddingFunctionConfig, schema?: Schema): Promise<ArrowTable> {
  const embedded = await embedData(data, [conf]);
  const dest = conf.vectorColumn ?? "vector";
  const vectorColumns: Record<string, VectorColumnOptions> = {
    vector: new VectorColumnOptions(),
    [dest]: new VectorColumnOptions({ type: conf.function.embeddingDataType() }),
  };
  let table: ArrowTable;
  if (schema !== undefined) {
    if (!schema.fields.some((f: Field) => f.name === dest)) {
      throw new StowageError(
        "INVALID_ARGUMENT",
        `With an embedding function and a schema, the schema must include the vector column '${dest}'`,
      );
    }
    table = toArrowTable(embedded, schema);
  } else {
    table = toArrowTable(embedded, undefined, { vectorColumns });
  }
  return withSchemaMetadata(table, getRegistry().getTableMetadata([conf]));
}
