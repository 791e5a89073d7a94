// SPDX-License-Identifier: Apache-2.0

/**
 * The error type thrown by stowage. `code` is a stable, machine-readable
 * identifier (for example `"INVALID_ARGUMENT"`); `message` is for humans.
 */
export class StowageError extends Error {
  code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "StowageError";
    this.code = code;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
