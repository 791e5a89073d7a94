// SPDX-License-Identifier: Apache-2.0
// The `embedding` namespace, as in @lancedb/lancedb 0.31.0.

import { DataType, Field, Schema } from "apache-arrow";
import { localizeSchema } from "../arrow";
import { EmbeddingFunction } from "./embedding_function";
import { EmbeddingFunctionConfig, getRegistry } from "./registry";

export { EmbeddingFunction, TextEmbeddingFunction } from "./embedding_function";
export type { EmbeddingFunctionConstructor, FieldOptions, FunctionOptions } from "./embedding_function";
export { EmbeddingFunctionRegistry, getRegistry, register } from "./registry";
export type { CreateReturnType, EmbeddingFunctionConfig, EmbeddingFunctionCreate } from "./registry";

function toType(t: unknown): DataType {
  return localizeSchema({ fields: [{ name: "x", type: t, nullable: true }] }).fields[0].type;
}

/**
 * A schema whose fields may be made by an embedding function's
 * `sourceField()` / `vectorField()`; the function's configuration goes into
 * the schema metadata, so tables created with it embed their source column.
 *
 * ```ts
 * const func = getRegistry().get("openai")!.create();
 * const schema = LanceSchema({ text: func.sourceField(), vector: func.vectorField() });
 * ```
 */
export function LanceSchema(fields: Record<string, [object, Map<string, EmbeddingFunction>] | object>): Schema {
  const arrowFields: Field[] = [];
  const functions = new Map<EmbeddingFunction, Partial<EmbeddingFunctionConfig>>();
  for (const [key, value] of Object.entries(fields)) {
    if (Array.isArray(value)) {
      const [dtype, metadata] = value as [object, Map<string, EmbeddingFunction>];
      arrowFields.push(new Field(key, toType(dtype), true));
      const source = metadata.get("source_column_for");
      const vector = metadata.get("vector_column_for");
      const fn = source ?? vector;
      if (fn !== undefined) {
        const current = functions.get(fn) ?? { function: fn };
        functions.set(fn, source !== undefined ? { ...current, sourceColumn: key } : { ...current, vectorColumn: key });
      }
    } else {
      arrowFields.push(new Field(key, toType(value), true));
    }
  }
  const metadata = getRegistry().getTableMetadata([...functions.values()] as EmbeddingFunctionConfig[]);
  return new Schema(arrowFields, metadata);
}
