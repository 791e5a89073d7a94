// SPDX-License-Identifier: Apache-2.0
// `stowage doctor <uri> [--option key=value ...] [--json]`
import { formatDoctorReport, startDoctor } from "../doctor";
import { StowageError } from "../errors";
import { parseOrUsage } from "./args";

export const usage = "stowage doctor <uri> [--option key=value ...] [--json]   live permission and capability checks";

export async function run(argv: string[]): Promise<number> {
  const a = parseOrUsage(argv, usage);
  if (typeof a === "number") return a;
  let started;
  try {
    started = startDoctor(a.uri, { storageOptions: a.options });
  } catch (e) {
    return fail(e);
  }
  // SIGINT/SIGTERM: stop the checks, let the cleanup run, print what ran.
  let interrupted = false;
  const onSignal = (): void => {
    interrupted = true;
    started.interrupt();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const report = await started.report;
    process.stdout.write(a.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatDoctorReport(report)}\n`);
    return interrupted ? 130 : report.ok ? 0 : 1;
  } catch (e) {
    return fail(e);
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

function fail(e: unknown): number {
  const err = e as StowageError;
  process.stderr.write(`✘ ${err.code ? `${err.code}: ` : ""}${err.message ?? String(e)}\n`);
  return 1;
}
