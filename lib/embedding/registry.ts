// SPDX-License-Identifier: Apache-2.0
// The embedding function registry, as in @lancedb/lancedb 0.31.0. The table's
// schema metadata key "embedding_functions" holds a JSON list of
// { sourceColumn, vectorColumn, name, model } — the same text the reference
// writes, so the same registered names re-create the same functions.

import { StowageError } from "../errors";
import type { EmbeddingFunction, EmbeddingFunctionConstructor } from "./embedding_function";

export type CreateReturnType<T> = T extends { init: () => Promise<void> } ? Promise<T> : T;

export interface EmbeddingFunctionCreate<T extends EmbeddingFunction> {
  create(options?: T["TOptions"]): CreateReturnType<T>;
}

/** Which embedding function makes which vector column from which source column. */
export interface EmbeddingFunctionConfig {
  sourceColumn: string;
  /** Defaults to "vector". */
  vectorColumn?: string;
  function: EmbeddingFunction;
}

/** The schema metadata key the configuration is stored under. */
export const EMBEDDING_FUNCTIONS_KEY = "embedding_functions";

// The registered name of each class (the reference keeps it with reflect-metadata).
const NAMES = new WeakMap<object, string>();

/** Embedding function classes by name. */
export class EmbeddingFunctionRegistry {
  #functions = new Map<string, EmbeddingFunctionConstructor>();
  #variables = new Map<string, string>();

  /** How many functions are registered. */
  length(): number {
    return this.#functions.size;
  }

  /** A class decorator registering the class under `alias` (default: the class name). */
  register<T extends EmbeddingFunctionConstructor = EmbeddingFunctionConstructor>(
    this: EmbeddingFunctionRegistry,
    alias?: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): (ctor: T, context?: unknown) => any {
    return (ctor: T): T => {
      const name = alias ?? ctor.name;
      if (this.#functions.has(name)) {
        throw new StowageError("INVALID_ARGUMENT", `Embedding function with alias "${name}" already exists`);
      }
      this.#functions.set(name, ctor);
      NAMES.set(ctor, name);
      return ctor;
    };
  }

  /** A factory for the function registered as `name`, or undefined. */
  get<T extends EmbeddingFunction<unknown>>(name: string): EmbeddingFunctionCreate<T> | undefined {
    const factory = this.#functions.get(name);
    if (!factory) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let create: any;
    if (factory.prototype.init) {
      create = async (options?: T["TOptions"]) => {
        const instance = new factory(options);
        await instance.init?.();
        return instance;
      };
    } else {
      create = (options?: T["TOptions"]) => new factory(options);
    }
    return { create };
  }

  /** Forgets every registered function. */
  reset(this: EmbeddingFunctionRegistry): void {
    this.#functions.clear();
  }

  /** The functions a schema's metadata names, created from their stored options. */
  async parseFunctions(this: EmbeddingFunctionRegistry, metadata: Map<string, string>): Promise<Map<string, EmbeddingFunctionConfig>> {
    const text = metadata.get(EMBEDDING_FUNCTIONS_KEY);
    if (text === undefined) return new Map();
    let stored: { name: string; sourceColumn: string; vectorColumn?: string; model?: unknown }[];
    try {
      stored = JSON.parse(text);
    } catch (e) {
      throw new StowageError("INVALID_ARGUMENT", `the table's "${EMBEDDING_FUNCTIONS_KEY}" schema metadata is not JSON: ${(e as Error).message}`);
    }
    const items = await Promise.all(
      stored.map(async (f): Promise<[string, EmbeddingFunctionConfig]> => {
        const fn = this.get(f.name);
        if (!fn) {
          throw new StowageError(
            "INVALID_ARGUMENT",
            `Embedding function "${f.name}" (for column '${f.sourceColumn}') is not registered; ` +
              `import or register it (e.g. import "stowage/embedding/openai" for "openai") before using this table`,
          );
        }
        const func = await fn.create(f.model as never);
        return [f.name, { sourceColumn: f.sourceColumn, vectorColumn: f.vectorColumn, function: func as EmbeddingFunction }];
      }),
    );
    return new Map(items);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  functionToMetadata(conf: EmbeddingFunctionConfig): Record<string, any> {
    // Same keys in the same order as the reference, so the stored JSON is identical.
    return {
      sourceColumn: conf.sourceColumn,
      vectorColumn: conf.vectorColumn ?? "vector",
      name: NAMES.get(conf.function.constructor) ?? conf.function.constructor.name,
      model: conf.function.toJSON(),
    };
  }

  getTableMetadata(functions: EmbeddingFunctionConfig[]): Map<string, string> {
    return new Map([[EMBEDDING_FUNCTIONS_KEY, JSON.stringify(functions.map((c) => this.functionToMetadata(c)))]]);
  }

  /** Sets a variable that `$var:name` options resolve to (API keys and other secrets). */
  setVar(name: string, value: string): void {
    if (name.includes(":")) throw new StowageError("INVALID_ARGUMENT", "Variable names cannot contain colons");
    this.#variables.set(name, value);
  }

  getVar(name: string): string | undefined {
    return this.#variables.get(name);
  }
}

const REGISTRY = new EmbeddingFunctionRegistry();

/** Registers an embedding function class: `@register("name") class MyFn extends TextEmbeddingFunction {...}`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function register(name?: string): (ctor: EmbeddingFunctionConstructor<EmbeddingFunction<any>>, context?: unknown) => any {
  return REGISTRY.register(name);
}

/** The global registry. */
export function getRegistry(): EmbeddingFunctionRegistry {
  return REGISTRY;
}
