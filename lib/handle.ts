import { inspect } from "node:util";
import { callSync, EffectiveOption } from "./native";

/** What the native connection and table classes both offer. */
interface NativeHandle {
  isOpen(): boolean;
  close(): void;
  display(): string;
  effectiveStorageOptions(): EffectiveOption[];
}

/** What a Connection and a Table share: an explicit lifetime and a redacted description. */
export abstract class Handle<N extends NativeHandle> {
  /** @internal */
  constructor(protected readonly inner: N) {}

  isOpen(): boolean {
    return this.inner.isOpen();
  }

  /** Closes this handle. Committed data is unaffected; further calls fail with code CLOSED. */
  close(): void {
    this.inner.close();
  }

  display(): string {
    return this.inner.display();
  }

  [inspect.custom](): string {
    return this.display();
  }

  toString(): string {
    return this.display();
  }

  /** Every resolved storage option, with its source; secrets are masked. */
  effectiveStorageOptions(): EffectiveOption[] {
    return callSync(() => this.inner.effectiveStorageOptions());
  }
}
