// Schema evolution, tags and statistics: the Table methods of issue 13,
// kept here so lib/table.ts only delegates (see docs/evolution.md).
import {
  Binary, Bool, DataType, Date_, DateUnit, Field, Float16, Float32, Float64, Int16, Int32, Int64, Int8,
  LargeBinary, LargeUtf8, Schema, Uint16, Uint32, Uint64, Uint8, Utf8,
} from "apache-arrow";
import { schemaToIpc } from "./arrow";
import { StowageError } from "./errors";
import { call, NativeTable } from "./native";

export interface AddColumnsSql {
  /** The new column's name. */
  name: string;
  /** A SQL expression over existing columns, e.g. `"x * 2"` or `"cast(NULL as string)"`. */
  valueSql: string;
}

export interface ColumnAlteration {
  /** Dot-separated path: `"a"`, or `"a.b"` for field `b` of struct column `a`. */
  path: string;
  rename?: string;
  /** A type of the same family (integers, floats, strings, binaries, float vectors). */
  dataType?: string | DataType;
  /** A nullable column can become non-nullable only when it holds no nulls. */
  nullable?: boolean;
}

export interface FieldMetadataUpdate {
  path: string;
  /** Merged into the field's metadata (`null` deletes a key), or replaces it when `replace`. */
  metadata: Record<string, string | null>;
  replace?: boolean;
}

export interface AddColumnsResult { version: number }
export interface AlterColumnsResult { version: number }
export interface DropColumnsResult { version: number }
export interface UpdateFieldMetadataResult { version: number }

export interface FragmentSummaryStats { min: number; max: number; mean: number; p25: number; p50: number; p75: number; p99: number }
export interface FragmentStatistics { numFragments: number; numSmallFragments: number; lengths: FragmentSummaryStats }
export interface TableStatistics { totalBytes: number; numRows: number; numIndices: number; fragmentStats: FragmentStatistics }
/** What a tag points at (a class, as in @lancedb/lancedb). */
export class TagContents {
  constructor(
    public version: number,
    public manifestSize: number,
  ) {}
}

const isField = (x: unknown): x is Field =>
  typeof x === "object" && x !== null && typeof (x as Field).name === "string" && (x as Field).type !== undefined && !("valueSql" in x);
const isSchema = (x: unknown): x is Schema =>
  typeof x === "object" && x !== null && Array.isArray((x as Schema).fields) && !Array.isArray(x);

// The type names a string `dataType` may use (as the reference's, Lance's names).
const TYPES: Record<string, () => DataType> = {
  int8: () => new Int8(), int16: () => new Int16(), int32: () => new Int32(), int64: () => new Int64(),
  uint8: () => new Uint8(), uint16: () => new Uint16(), uint32: () => new Uint32(), uint64: () => new Uint64(),
  float16: () => new Float16(), halffloat: () => new Float16(), float: () => new Float32(), float32: () => new Float32(),
  double: () => new Float64(), float64: () => new Float64(), string: () => new Utf8(), utf8: () => new Utf8(),
  large_string: () => new LargeUtf8(), large_utf8: () => new LargeUtf8(), binary: () => new Binary(),
  large_binary: () => new LargeBinary(), bool: () => new Bool(), boolean: () => new Bool(), date32: () => new Date_(DateUnit.DAY),
};

function typeIpc(path: string, t: string | DataType): Buffer {
  let dt: DataType;
  if (typeof t === "string") {
    const make = TYPES[t.toLowerCase()];
    if (!make) {
      throw new StowageError("INVALID_ARGUMENT", `alterColumns: unknown dataType '${t}' for '${path}'; use one of ${Object.keys(TYPES).join(", ")} or an Arrow DataType`);
    }
    dt = make();
  } else {
    dt = t;
  }
  return schemaToIpc(new Schema([new Field("t", dt, true)]));
}

export async function addColumns(inner: NativeTable, cols: AddColumnsSql[] | Field | Field[] | Schema): Promise<AddColumnsResult> {
  let schema: Schema | undefined;
  if (isField(cols)) schema = new Schema([cols]);
  else if (Array.isArray(cols) && cols.length > 0 && isField(cols[0])) schema = new Schema(cols as Field[]);
  else if (isSchema(cols)) schema = cols;
  if (schema) {
    const ipc = schemaToIpc(schema);
    return { version: await call(() => inner.addColumnsWithSchema(ipc)) };
  }
  if (!Array.isArray(cols) || cols.some((c) => typeof c?.name !== "string" || typeof (c as AddColumnsSql).valueSql !== "string")) {
    throw new StowageError("INVALID_ARGUMENT", "addColumns() takes [{ name, valueSql }], an Arrow Field, Field[] or Schema");
  }
  const sql = (cols as AddColumnsSql[]).map((c) => ({ name: c.name, valueSql: c.valueSql }));
  return { version: await call(() => inner.addColumnsSql(sql)) };
}

export async function alterColumns(inner: NativeTable, alts: ColumnAlteration[]): Promise<AlterColumnsResult> {
  if (!Array.isArray(alts)) throw new StowageError("INVALID_ARGUMENT", "alterColumns() takes an array of { path, rename?, nullable?, dataType? }");
  const native = alts.map((a) => {
    if (typeof a?.path !== "string") throw new StowageError("INVALID_ARGUMENT", "alterColumns: every alteration needs a string `path`");
    return {
      path: a.path,
      rename: a.rename ?? undefined,
      nullable: a.nullable ?? undefined,
      dataType: a.dataType === undefined || a.dataType === null ? undefined : typeIpc(a.path, a.dataType),
    };
  });
  return { version: await call(() => inner.alterColumns(native)) };
}

export async function dropColumns(inner: NativeTable, names: string[]): Promise<DropColumnsResult> {
  if (!Array.isArray(names) || names.some((n) => typeof n !== "string")) {
    throw new StowageError("INVALID_ARGUMENT", "dropColumns() takes an array of column names (dot paths for nested fields)");
  }
  return { version: await call(() => inner.dropColumns(names)) };
}

export async function updateFieldMetadata(inner: NativeTable, updates: FieldMetadataUpdate[]): Promise<UpdateFieldMetadataResult> {
  if (!Array.isArray(updates)) throw new StowageError("INVALID_ARGUMENT", "updateFieldMetadata() takes an array of { path, metadata, replace? }");
  const native = updates.map((u) => {
    const entries = Object.entries(u?.metadata ?? {});
    return { path: u.path, keys: entries.map(([k]) => k), values: entries.map(([, v]) => (v === null || v === undefined ? null : String(v))), replace: u.replace };
  });
  return { version: await call(() => inner.updateFieldMetadata(native as never)) };
}

export async function stats(inner: NativeTable): Promise<TableStatistics> {
  const s = await call(() => inner.stats());
  return {
    totalBytes: s.totalBytes,
    numRows: s.numRows,
    numIndices: s.numIndices,
    fragmentStats: {
      numFragments: s.numFragments,
      numSmallFragments: s.numSmallFragments,
      lengths: { min: s.min, max: s.max, mean: s.mean, p25: s.p25, p50: s.p50, p75: s.p75, p99: s.p99 },
    },
  };
}

/** A table's tags (`table.tags()`), as in @lancedb/lancedb. */
export class Tags {
  constructor(private readonly inner: NativeTable) {}

  async list(): Promise<Record<string, TagContents>> {
    const out: Record<string, TagContents> = {};
    for (const t of await call(() => this.inner.listTags())) out[t.name] = new TagContents(t.version, t.manifestSize);
    return out;
  }

  async getVersion(tag: string): Promise<number> {
    return call(() => this.inner.tagVersion(tag));
  }

  async create(tag: string, version: number): Promise<void> {
    await call(() => this.inner.createTag(tag, version));
  }

  async update(tag: string, version: number): Promise<void> {
    await call(() => this.inner.updateTag(tag, version));
  }

  async delete(tag: string): Promise<void> {
    await call(() => this.inner.deleteTag(tag));
  }
}
