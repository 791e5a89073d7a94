// SPDX-License-Identifier: Apache-2.0
// The OpenAI embedding function ("openai"), as in @lancedb/lancedb 0.31.0:
// `import "stowage/embedding/openai"` registers it. The `openai` package is an
// optional peer dependency, loaded when the function is first created. Like
// the `openai` client itself, it honours OPENAI_BASE_URL (any OpenAI-compatible
// server) and OPENAI_API_KEY.

import { Float, Float32 } from "apache-arrow";
import { StowageError } from "../errors";
import { EmbeddingFunction } from "./embedding_function";
import { register } from "./registry";

export type OpenAIOptions = {
  /** An API key; must be given as "$var:name" (see getRegistry().setVar), or set OPENAI_API_KEY. */
  apiKey: string;
  model: "text-embedding-ada-002" | "text-embedding-3-small" | "text-embedding-3-large" | (string & {});
};

const DIMS: Record<string, number> = {
  "text-embedding-ada-002": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-3-small": 1536,
};

interface OpenAIClient {
  embeddings: { create(req: { model: string; input: string | string[] }): Promise<{ data: { embedding: number[] }[] }> };
}

export class OpenAIEmbeddingFunction extends EmbeddingFunction<string, Partial<OpenAIOptions>> {
  #openai: OpenAIClient;
  #modelName: string;

  constructor(optionsRaw: Partial<OpenAIOptions> = { model: "text-embedding-ada-002" }) {
    super();
    const options = this.resolveVariables(optionsRaw);
    const key = options?.apiKey ?? process.env.OPENAI_API_KEY;
    if (!key) {
      throw new StowageError("INVALID_ARGUMENT", "The OpenAI embedding function needs an API key: set OPENAI_API_KEY or pass apiKey: \"$var:name\"");
    }
    this.#modelName = options?.model ?? "text-embedding-ada-002";
    let OpenAI: new (c: { apiKey: string }) => OpenAIClient;
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      OpenAI = require("openai");
    } catch {
      throw new StowageError("NOT_SUPPORTED", "The OpenAI embedding function needs the optional package 'openai': npm install openai@^4.24.1");
    }
    this.#openai = new OpenAI({ apiKey: key });
  }

  protected getSensitiveKeys(): string[] {
    return ["apiKey"];
  }

  ndims(): number {
    const n = DIMS[this.#modelName];
    if (n === undefined) {
      throw new StowageError("INVALID_ARGUMENT", `Unknown OpenAI model '${this.#modelName}': give the vector field's dims`);
    }
    return n;
  }

  embeddingDataType(): Float {
    return new Float32();
  }

  async computeSourceEmbeddings(data: string[]): Promise<number[][]> {
    const response = await this.#openai.embeddings.create({ model: this.#modelName, input: data });
    return response.data.map((d) => d.embedding);
  }

  async computeQueryEmbeddings(data: string): Promise<number[]> {
    if (typeof data !== "string") throw new StowageError("INVALID_ARGUMENT", "An OpenAI query must be a string");
    const response = await this.#openai.embeddings.create({ model: this.#modelName, input: data });
    return response.data[0].embedding;
  }
}

register("openai")(OpenAIEmbeddingFunction);
