// SPDX-License-Identifier: Apache-2.0
// The Hugging Face transformers.js embedding function ("huggingface"), as in
// @lancedb/lancedb 0.31.0: `import "stowage/embedding/transformers"` registers
// it. `@huggingface/transformers` is an optional peer dependency, loaded by
// init() (the registry's create() runs it).

import { Float, Float32 } from "apache-arrow";
import { StowageError } from "../errors";
import { EmbeddingFunction } from "./embedding_function";
import { loadOptional } from "./optional";
import { register } from "./registry";

export type XenovaTransformerOptions = {
  /** A model name on the Hugging Face hub; default "Xenova/all-MiniLM-L6-v2". */
  model: string;
  /** Embedding dimensions, when the model's config does not say (hidden_size). */
  ndims: number | undefined;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  tokenizerOptions: Record<string, any> | undefined;
};

/* eslint-disable @typescript-eslint/no-explicit-any */
export class TransformersEmbeddingFunction extends EmbeddingFunction<string, Partial<XenovaTransformerOptions>> {
  #model: any;
  #tokenizer: any;
  #modelName: string;
  #initialized = false;
  #tokenizerOptions: Record<string, any>;
  #ndims: number | undefined;

  constructor(optionsRaw: Partial<XenovaTransformerOptions> = { model: "Xenova/all-MiniLM-L6-v2" }) {
    super();
    const options = this.resolveVariables(optionsRaw);
    this.#modelName = options?.model ?? "Xenova/all-MiniLM-L6-v2";
    this.#tokenizerOptions = { padding: true, ...options.tokenizerOptions };
    this.#ndims = options.ndims;
  }

  async init(): Promise<void> {
    const transformers = await loadOptional("@huggingface/transformers", "^3", "The transformers embedding function");
    try {
      this.#model = await transformers.AutoModel.from_pretrained(this.#modelName, { dtype: "fp32" });
      this.#tokenizer = await transformers.AutoTokenizer.from_pretrained(this.#modelName);
    } catch (e) {
      throw new StowageError("INVALID_ARGUMENT", `could not load model '${this.#modelName}' (a wasm-compatible model is needed): ${(e as Error).message}`);
    }
    this.#initialized = true;
  }

  ndims(): number {
    if (this.#ndims) return this.#ndims;
    const n = this.#model?.config?.hidden_size;
    if (!n) throw new StowageError("INVALID_ARGUMENT", "hidden_size not found in the model config: give { ndims }");
    return n;
  }

  embeddingDataType(): Float {
    return new Float32();
  }

  async computeSourceEmbeddings(data: string[]): Promise<number[][]> {
    if (!this.#initialized) {
      throw new StowageError("INVALID_ARGUMENT", "the transformers embedding function is not initialized: create it with getRegistry().get(\"huggingface\").create() or call init()");
    }
    const inputs = await this.#tokenizer(data, this.#tokenizerOptions);
    let tokens = await this.#model.forward(inputs);
    tokens = tokens[Object.keys(tokens)[0]];
    const [nItems, nTokens] = tokens.dims;
    // Mean pooling over tokens, as the reference does.
    const summed = tokens.sum(1);
    for (let i = 0; i < summed.data.length; ++i) summed.data[i] /= nTokens;
    const stride = this.ndims();
    const out: number[][] = [];
    for (let i = 0; i < nItems; i++) out.push(Array.from(summed.data.slice(i * stride, (i + 1) * stride) as ArrayLike<number>));
    return out;
  }

  async computeQueryEmbeddings(data: string): Promise<number[]> {
    return (await this.computeSourceEmbeddings([data]))[0];
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */

register("huggingface")(TransformersEmbeddingFunction);
