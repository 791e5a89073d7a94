// SPDX-License-Identifier: Apache-2.0
// Embedding functions, as in @lancedb/lancedb 0.31.0 (`embedding` namespace).

import { DataType, Field, FixedSizeList, Float, Float32, Utf8 } from "apache-arrow";
import type { IntoVector } from "../arrow";
import { StowageError } from "../errors";
import { getRegistry } from "./registry";

/** Options of an embedding function (its model configuration). */
export interface FunctionOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [key: string]: any;
}

export interface EmbeddingFunctionConstructor<T extends EmbeddingFunction = EmbeddingFunction> {
  new (modelOptions?: T["TOptions"]): T;
}

export interface FieldOptions<T extends DataType = DataType> {
  datatype: T;
  dims?: number;
}

/** The vector type of `dim` elements of `inner`, items nullable (as tables store them). */
export function newVectorType(dim: number, inner: Float): FixedSizeList {
  return new FixedSizeList(dim, new Field("item", inner, true));
}

function isDataType(x: unknown): x is DataType {
  return typeof x === "object" && x !== null && "typeId" in x && !("datatype" in x);
}

/**
 * A function that turns source values (text, images...) into vectors.
 * Subclass it (or TextEmbeddingFunction), register the class with
 * `register("name")`, and create instances through the registry so the
 * table's schema can record how to re-create it.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export abstract class EmbeddingFunction<T = any, M extends FunctionOptions = FunctionOptions> {
  /** The type of the options; only for type inference. */
  readonly TOptions!: M;
  #config: Partial<M> = {};

  /** The options this function was created with, as stored in the table's schema metadata. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  toJSON(): Record<string, any> {
    return JSON.parse(JSON.stringify(this.#config));
  }

  /** Keys whose values must be given as `$var:name` (secrets never land in the schema metadata). */
  protected getSensitiveKeys(): string[] {
    return [];
  }

  /**
   * Records `config` (for toJSON) and returns it with `$var:name[:default]`
   * values replaced by the registry's variables.
   */
  protected resolveVariables(config: Partial<M>): Partial<M> {
    this.#config = config;
    const registry = getRegistry();
    const resolved: Partial<M> = { ...config };
    for (const [key, value] of Object.entries(resolved)) {
      if (this.getSensitiveKeys().includes(key) && !(typeof value === "string" && value.startsWith("$var:"))) {
        throw new StowageError(
          "INVALID_ARGUMENT",
          `The key "${key}" is sensitive and cannot be set directly; set it with getRegistry().setVar(name, value) and pass "$var:name"`,
        );
      }
      if (typeof value === "string" && value.startsWith("$var:")) {
        const [name, defaultValue] = value.slice(5).split(":", 2);
        const v = registry.getVar(name);
        if (!v) {
          if (defaultValue) (resolved as FunctionOptions)[key] = defaultValue;
          else throw new StowageError("INVALID_ARGUMENT", `Variable "${name}" not found (set it with getRegistry().setVar)`);
        } else {
          (resolved as FunctionOptions)[key] = v;
        }
      }
    }
    return resolved;
  }

  /** Optional asynchronous set-up, run by the registry's `create()`. */
  init?(): Promise<void>;

  /** The source column's type and the metadata that marks it, for LanceSchema. */
  sourceField(optionsOrDatatype: Partial<FieldOptions> | DataType): [DataType, Map<string, EmbeddingFunction>] {
    const datatype = isDataType(optionsOrDatatype) ? optionsOrDatatype : optionsOrDatatype?.datatype;
    if (!datatype) throw new StowageError("INVALID_ARGUMENT", "sourceField needs a datatype");
    return [datatype, new Map([["source_column_for", this as EmbeddingFunction]])];
  }

  /** The vector column's type (a fixed size list of ndims()) and the metadata that marks it, for LanceSchema. */
  vectorField(optionsOrDatatype?: Partial<FieldOptions> | DataType): [DataType, Map<string, EmbeddingFunction>] {
    let dtype: DataType | undefined;
    let dims = this.ndims();
    if (optionsOrDatatype === undefined) {
      dtype = new Float32();
    } else if (isDataType(optionsOrDatatype)) {
      dtype = optionsOrDatatype;
    } else {
      dims = dims ?? optionsOrDatatype.dims;
      dtype = optionsOrDatatype.datatype;
    }
    let vectorType: DataType;
    if (dtype !== undefined && DataType.isFixedSizeList(dtype)) {
      vectorType = dtype;
    } else if (dtype === undefined || DataType.isFloat(dtype)) {
      if (dims === undefined) {
        throw new StowageError("INVALID_ARGUMENT", "vectorField needs the number of dimensions: ndims() or { dims }");
      }
      vectorType = newVectorType(dims, (dtype as Float | undefined) ?? new Float32());
    } else {
      throw new StowageError("INVALID_ARGUMENT", `vectorField needs a FixedSizeList or Float datatype, got ${dtype}`);
    }
    return [vectorType, new Map([["vector_column_for", this as EmbeddingFunction]])];
  }

  /** The number of dimensions of the embeddings, when known before the first call. */
  ndims(): number | undefined {
    return undefined;
  }

  /** The element type of the embeddings. */
  abstract embeddingDataType(): Float;

  /** Embeds a batch of source values. */
  abstract computeSourceEmbeddings(data: T[]): Promise<number[][] | Float32Array[] | Float64Array[]>;

  /** Embeds one query value. */
  async computeQueryEmbeddings(data: T): Promise<Awaited<IntoVector>> {
    return this.computeSourceEmbeddings([data]).then((e) => e[0]);
  }
}

/** An embedding function of text: implement generateEmbeddings(texts). */
export abstract class TextEmbeddingFunction<M extends FunctionOptions = FunctionOptions> extends EmbeddingFunction<string, M> {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  abstract generateEmbeddings(texts: string[], ...args: any[]): Promise<number[][] | Float32Array[] | Float64Array[]>;

  async computeQueryEmbeddings(data: string): Promise<Awaited<IntoVector>> {
    return this.generateEmbeddings([data]).then((d) => d[0]);
  }

  embeddingDataType(): Float {
    return new Float32();
  }

  override sourceField(): [DataType, Map<string, EmbeddingFunction>] {
    return super.sourceField(new Utf8());
  }

  computeSourceEmbeddings(data: string[]): Promise<number[][] | Float32Array[] | Float64Array[]> {
    return this.generateEmbeddings(data);
  }
}
