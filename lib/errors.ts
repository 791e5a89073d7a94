// SPDX-License-Identifier: Apache-2.0
import type { ErrorCode } from "../index";

export type { ErrorCode };

/**
 * The error type thrown by stowage. `code` is a stable, machine-readable
 * identifier (for example `"INVALID_ARGUMENT"`); `message` is for humans.
 * The codes are generated from the Rust core's list (`ErrorCode`).
 */
export class StowageError extends Error {
  code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = "StowageError";
    this.code = code;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
