// SPDX-License-Identifier: Apache-2.0
// Result and option types of @lancedb/lancedb's main entry that Stowage
// shares as they are.

export interface CompactionStats {
  fragmentsRemoved: number;
  fragmentsAdded: number;
  filesRemoved: number;
  filesAdded: number;
}

export interface RemovalStats {
  bytesRemoved: number;
  oldVersionsRemoved: number;
}

export interface FragmentSummaryStats {
  min: number;
  max: number;
  mean: number;
  p25: number;
  p50: number;
  p75: number;
  p99: number;
}

export interface FragmentStatistics {
  numFragments: number;
  numSmallFragments: number;
  lengths: FragmentSummaryStats;
}

export interface TableStatistics {
  totalBytes: number;
  numRows: number;
  numIndices: number;
  fragmentStats: FragmentStatistics;
}

export interface ShuffleOptions {
  seed?: number;
  clumpSize?: number;
}

export interface SplitCalculatedOptions {
  calculation: string;
  splitNames?: Array<string>;
}

export interface SplitHashOptions {
  columns: Array<string>;
  splitWeights: Array<number>;
  discardWeight?: number;
  splitNames?: Array<string>;
}

export interface SplitRandomOptions {
  ratios?: Array<number>;
  counts?: Array<number>;
  fixed?: number;
  seed?: number;
  splitNames?: Array<string>;
}

export interface SplitSequentialOptions {
  ratios?: Array<number>;
  counts?: Array<number>;
  fixed?: number;
  splitNames?: Array<string>;
}
