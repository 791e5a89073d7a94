// Index configurations, as `Index` of @lancedb/lancedb 0.31.0: the same
// static factories and option names. The options are checked in Rust
// (src/bindings/index.rs); see docs/indexes.md for the defaults.
import type { JsIndexConfig, JsIndexKind } from "../index";

export interface IvfPqOptions {
  /** IVF partitions; default sqrt(rows). */
  numPartitions?: number;
  /** PQ sub-vectors; default dim/8 (the reference: dim/16). */
  numSubVectors?: number;
  /** Bits per PQ code: 4 or 8 (default 8). */
  numBits?: number;
  distanceType?: "l2" | "cosine" | "dot";
  /** k-means iterations (default 50). */
  maxIterations?: number;
  /** Training vectors sampled per partition (default 256). */
  sampleRate?: number;
}

export interface IvfRqOptions {
  numPartitions?: number;
  numBits?: number;
  distanceType?: "l2" | "cosine" | "dot";
  maxIterations?: number;
  sampleRate?: number;
}

export interface HnswPqOptions {
  distanceType?: "l2" | "cosine" | "dot";
  numPartitions?: number;
  numSubVectors?: number;
  maxIterations?: number;
  sampleRate?: number;
  /** Graph neighbours per node (default 20). */
  m?: number;
  /** Candidates kept while building (default 150; the reference's is 300: docs/indexes.md). */
  efConstruction?: number;
}

export interface HnswSqOptions {
  distanceType?: "l2" | "cosine" | "dot";
  numPartitions?: number;
  maxIterations?: number;
  sampleRate?: number;
  m?: number;
  efConstruction?: number;
}

export interface IvfFlatOptions {
  numPartitions?: number;
  distanceType?: "l2" | "cosine" | "dot" | "hamming";
  maxIterations?: number;
  sampleRate?: number;
}

export interface FtsOptions {
  withPosition?: boolean;
  baseTokenizer?: "simple" | "whitespace" | "raw" | "ngram";
  language?: string;
  maxTokenLength?: number;
  lowercase?: boolean;
  stem?: boolean;
  removeStopWords?: boolean;
  asciiFolding?: boolean;
  ngramMinLength?: number;
  ngramMaxLength?: number;
  prefixOnly?: boolean;
}

/** What `Table.createIndex` builds. */
export class Index {
  private readonly inner: JsIndexConfig;

  private constructor(kind: JsIndexKind, options?: object) {
    // Only the reference's option names cross over; Rust checks the values.
    this.inner = { ...(options ?? {}), kind } as JsIndexConfig;
  }

  /** @internal The configuration handed to the addon. */
  static config(index: Index): JsIndexConfig {
    return index.inner;
  }

  /** IVF with product quantisation: compact, searched with refinement by default. */
  static ivfPq(options?: Partial<IvfPqOptions>): Index {
    return new Index("ivf_pq", options);
  }

  /** RaBitQ: not available (createIndex fails with NOT_SUPPORTED naming the types that are). */
  static ivfRq(options?: Partial<IvfRqOptions>): Index {
    return new Index("ivf_rq", options);
  }

  /** IVF over the vectors themselves: exact distances within probed partitions. */
  static ivfFlat(options?: Partial<IvfFlatOptions>): Index {
    return new Index("ivf_flat", options);
  }

  static btree(): Index {
    return new Index("btree");
  }

  static bitmap(): Index {
    return new Index("bitmap");
  }

  static labelList(): Index {
    return new Index("label_list");
  }

  static fm(): Index {
    return new Index("fm");
  }

  static fts(options?: Partial<FtsOptions>): Index {
    return new Index("fts", options);
  }

  /** An HNSW graph over PQ codes. */
  static hnswPq(options?: Partial<HnswPqOptions>): Index {
    return new Index("hnsw_pq", options);
  }

  /** An HNSW graph over 8-bit scalar-quantised vectors. */
  static hnswSq(options?: Partial<HnswSqOptions>): Index {
    return new Index("hnsw_sq", options);
  }
}

/** Progress of an index build (Stowage only). */
export interface IndexProgress {
  /** "sample", "train", "encode", "graph" (HNSW), "write", then "done" once committed. */
  phase: string;
  rowsDone: number;
  rowsTotal: number;
}

export interface IndexOptions {
  /** The index to build; default `Index.ivfPq()` on a vector column. */
  config?: Index;
  /** Replace an index of the same name (default true, as in the reference). */
  replace?: boolean;
  /** Accepted for compatibility: builds here finish before createIndex returns. */
  waitTimeoutSeconds?: number;
  /** Default `<column>_idx`. */
  name?: string;
  /** `false` (an untrained index) is not supported. */
  train?: boolean;
  /** Called as the build advances (Stowage only). */
  progress?: (p: IndexProgress) => void;
}

/** One index of `listIndices()`, as the reference's `IndexConfig`. */
export interface IndexConfig {
  name: string;
  /** `IvfPq`, `IvfFlat`, `IvfHnswSq`, `IvfHnswPq`, `BTree`, `Bitmap`, `LabelList`, `FTS`. */
  indexType: string;
  columns: string[];
  indexUuid?: string;
  createdAt?: Date;
  numIndexedRows?: number;
  numUnindexedRows?: number;
  sizeBytes?: number;
  numSegments?: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  indexDetails?: any;
}

/** `indexStats(name)`, as the reference's `IndexStatistics`. */
export interface IndexStatistics {
  numIndexedRows: number;
  numUnindexedRows: number;
  /** `IVF_PQ`, `IVF_FLAT`, `IVF_HNSW_SQ`, `IVF_HNSW_PQ`, `BTREE`, … */
  indexType: string;
  distanceType?: string;
  numIndices?: number;
  /** IVF indexes: the k-means loss of the partitions' training (docs/indexes.md). */
  loss?: number;
}
