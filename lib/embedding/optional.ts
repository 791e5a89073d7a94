// SPDX-License-Identifier: Apache-2.0
import { StowageError } from "../errors";

/**
 * Loads an optional peer dependency when a provider is first used; a
 * missing package is a clear error naming what to install.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function loadOptional(pkg: string, range: string, what: string): Promise<any> {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(pkg);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ERR_REQUIRE_ESM") {
      // An ESM-only build: a real dynamic import (not compiled to require).
      return new Function("s", "return import(s)")(pkg);
    }
    if (code === "MODULE_NOT_FOUND") {
      throw new StowageError("NOT_SUPPORTED", `${what} needs the optional package '${pkg}': npm install ${pkg}@${range}`);
    }
    throw e;
  }
}
