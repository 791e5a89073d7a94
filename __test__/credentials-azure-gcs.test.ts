// Credentials provider functions for az:// and gs:// (connect/openTable/createTable { credentials }).
//
// Azure: azurite checks SAS signatures and their expiry, so the provider here signs short-lived
// account SAS tokens with azurite's well-known account key (node crypto) and a workload runs across
// several of them; a recording proxy in front of azurite shows which SAS each request carried, and a
// request with an expired token is checked to be refused (so a cache that kept a token too long
// would fail the test).
//
// GCS: fake-gcs-server does NOT check tokens (any or no Authorization header is accepted), so token
// validity cannot be tested against it. What is tested: a recording proxy in front of it sees the
// rotating bearer tokens the provider handed out, each request carrying one that was current.
import * as crypto from "crypto";
import { inspect } from "util";
import * as lancedb from "../lib";
import { expectNoSecrets, failure, recordingProxy, uniq } from "./helpers/cloud";
import { workload } from "./helpers/writers";
import {
  AzureEndpoint,
  GcsEndpoint,
  azureCreateContainer,
  azureListBlobs,
  gcsCreateBucket,
  gcsListObjects,
  httpRequest,
  useEmulators,
} from "./helpers/emulators";

jest.setTimeout(120_000);

let az: AzureEndpoint;
let gcs: GcsEndpoint;
let stop: () => Promise<void> = async () => {};

beforeAll(async () => {
  const r = await useEmulators(["gcs", "azure"]);
  az = r.endpoints.azure!;
  gcs = r.endpoints.gcs!;
  stop = r.stop;
});
afterAll(() => stop());

function loopback(url: string): string {
  const h = new URL(url).hostname;
  if (h !== "127.0.0.1" && h !== "localhost") throw new Error(`loopback guard: ${url}`);
  return url;
}

/** An account SAS for the blob service valid until `se` (whole seconds), signed with the account key. */
function accountSas(se: Date, permissions = "rwdlac"): string {
  const sv = "2021-08-06";
  const seText = se.toISOString().replace(/\.\d{3}Z$/, "Z");
  const fields = { sv, ss: "b", srt: "sco", sp: permissions, se: seText, spr: "https,http" };
  const stringToSign = [az.account, fields.sp, fields.ss, fields.srt, "", seText, "", fields.spr, sv, "", ""].join("\n");
  const sig = crypto.createHmac("sha256", Buffer.from(az.key, "base64")).update(stringToSign, "utf8").digest("base64");
  return new URLSearchParams({ ...fields, sig }).toString();
}

interface Handed {
  value: string;
  expiresAt: number;
}

/** A provider counting its calls and remembering what it handed out. */
function counted(make: (n: number) => { value: Record<string, unknown>; secret: string; expiresAt: number }) {
  const handed: Handed[] = [];
  let calls = 0;
  const provider = async () => {
    const n = calls++;
    const { value, secret, expiresAt } = make(n);
    handed.push({ value: secret, expiresAt });
    return value as never;
  };
  return { provider, handed, calls: () => calls };
}

describe("Azure", () => {
  const LIFETIME = 4000;
  // The server accepts a token this long past the expiresAt the provider states (as the S3 test
  // deletes a key a little after its expiry): Stowage must have moved on before expiresAt anyway.
  const GRACE = 1000;

  test("a workload outlives several short-lived SAS tokens with no failed request; azurite refuses an expired one", async () => {
    const c = uniq("credsas");
    await azureCreateContainer(az, c);
    const proxy = await recordingProxy(loopback(`http://127.0.0.1:${az.port}`));
    const sas = counted(() => {
      const expiresAt = Date.now() + LIFETIME;
      const token = accountSas(new Date(Math.ceil((expiresAt + GRACE) / 1000) * 1000));
      return { value: { sasToken: token, expiresAt: new Date(expiresAt) }, secret: token, expiresAt };
    });
    try {
      const db = await lancedb.connect(`az://${c}/db`, {
        // clientMaxRetries 2: azurite answers 500 to a batch delete over a SAS (retried, then
        // Stowage deletes blob by blob); this only bounds the time the retries take.
        storageOptions: { accountName: az.account, endpoint: `${proxy.url}/${az.account}`, allowHttp: true, clientMaxRetries: 2 },
        credentials: sas.provider,
      });
      const eff = db.effectiveStorageOptions();
      expect(eff.find((e) => e.key === "credentials")).toMatchObject({ source: "connection", secret: false });
      expect(eff.find((e) => e.key === "azure_storage_account_key")).toBeUndefined();
      // Lazy: nothing asked yet.
      expect(sas.calls()).toBe(0);

      const table = await db.createTable("t", [{ id: 0, v: "x" }]);
      expect(sas.calls()).toBe(1);
      const { errors, acknowledged } = await workload(table, 11_000);
      expect(errors).toEqual([]);
      expect(await table.countRows()).toBe(acknowledged + 1);
      // cleanup of old versions (deletes) and a drop, still through the provider's SAS tokens
      const stats = await table.optimize({ cleanupOlderThan: new Date() });
      expect(stats.prune.oldVersionsRemoved).toBeGreaterThan(0);
      expect(await table.countRows()).toBe(acknowledged + 1);
      await db.dropTable("t");
      expect(await azureListBlobs(az, c)).toEqual([]);

      // Several rotations, and the server saw them: every request carried one of the handed-out
      // tokens (never a SharedKey), and several different ones over the run.
      expect(sas.calls()).toBeGreaterThanOrEqual(4);
      const sigs = sas.handed.map((h) => new URLSearchParams(h.value).get("sig"));
      const seen = proxy.seen.map((r) => new URL(r.url, "http://x").searchParams.get("sig"));
      expect(proxy.seen.filter((r) => r.headers.authorization !== undefined)).toEqual([]);
      expect(seen.filter((s) => !sigs.includes(s))).toEqual([]);
      expect(new Set(seen).size).toBeGreaterThanOrEqual(4);
      // azurite refuses Blob Batch over a SAS: cleanup and drop went blob by blob, with the SAS.
      expect(proxy.seen.filter((r) => r.method === "DELETE").length).toBeGreaterThan(0);
      // Each request carried a token that was current: Stowage stops using one a tenth of its
      // lifetime (400 ms) before expiresAt; a request may take a little while to arrive.
      for (const r of proxy.seen) {
        const h = sas.handed.find((x) => new URLSearchParams(x.value).get("sig") === new URL(r.url, "http://x").searchParams.get("sig"))!;
        expect(r.at).toBeLessThan(h.expiresAt + GRACE);
      }
      expectNoSecrets(JSON.stringify(db.effectiveStorageOptions()) + db.display() + inspect(db), sigs as string[]);
      db.close();

      // azurite really refuses an expired SAS (so the rotation above was needed) and accepts a live one.
      const list = (token: string) => httpRequest(`${az.endpoint}/${c}?restype=container&comp=list&${token}`, { headers: { "x-ms-version": "2021-08-06" } });
      expect((await list(sas.handed[0].value)).status).toBe(403);
      expect((await list(accountSas(new Date(Date.now() + 60_000)))).status).toBe(200);
    } finally {
      await proxy.close();
    }
  });

  test("account-key shape: a provided account key works; a wrong key or a forged SAS is refused by azurite with no secret in the error", async () => {
    const c = uniq("credkey");
    await azureCreateContainer(az, c);
    const opts = { accountName: az.account, endpoint: loopback(az.endpoint), allowHttp: true };
    let calls = 0;
    const db = await lancedb.connect(`az://${c}/db`, {
      storageOptions: opts,
      credentials: async () => {
        calls++;
        return { accountKey: az.key, expiresAt: Date.now() + 3600_000 };
      },
    });
    const t = await db.createTable("k", [{ id: 1 }]);
    await t.add([{ id: 2 }]);
    expect(await (await db.openTable("k")).countRows()).toBe(2);
    await db.dropTable("k");
    expect(calls).toBe(1);
    db.close();

    // A wrong account key (valid base64) is refused by azurite: an authentication error, not a provider failure.
    const wrong = await lancedb.connect(`az://${c}/db`, {
      storageOptions: opts,
      credentials: async () => ({ accountKey: Buffer.from("not the key").toString("base64") }),
    });
    const denied = await failure(() => wrong.createTable("k", [{ id: 1 }]));
    expect(denied.code).not.toBe("CREDENTIAL_PROVIDER_FAILED");
    expect(denied.code).toMatch(/^STORAGE_/);
    wrong.close();

    // A SAS signed with the wrong key: refused by azurite, and the error shows no signature.
    const forged = accountSas(new Date(Date.now() + 3600_000)).replace(/sig=[^&]+/, `sig=${encodeURIComponent(crypto.randomBytes(32).toString("base64"))}`);
    const forgedSig = new URLSearchParams(forged).get("sig")!;
    const badSas = await lancedb.connect(`az://${c}/db`, { storageOptions: opts, credentials: async () => ({ sasToken: forged }) });
    const refused = await failure(() => badSas.createTable("k", [{ id: 1 }]));
    expect(refused.code).toMatch(/^STORAGE_(UNAUTHENTICATED|PERMISSION_DENIED)$/);
    expectNoSecrets(refused.message, [forgedSig, forged]);
    badSas.close();
  });

  test("a table's own provider wins over the connection's; keys and a provider at one tier are refused", async () => {
    const c = uniq("credtier");
    await azureCreateContainer(az, c);
    const opts = { accountName: az.account, endpoint: loopback(az.endpoint), allowHttp: true };
    const conn = counted(() => {
      const token = accountSas(new Date(Date.now() + 3600_000));
      return { value: { sasToken: token }, secret: token, expiresAt: Infinity };
    });
    const own = counted(() => {
      const token = accountSas(new Date(Date.now() + 3600_000), "rwdlac");
      return { value: { sasToken: `?${token}` }, secret: token, expiresAt: Infinity };
    });
    const db = await lancedb.connect(`az://${c}/db`, { storageOptions: opts, credentials: conn.provider });
    const t = await db.createTable("t", [{ id: 1 }], { credentials: own.provider });
    expect(t.effectiveStorageOptions().find((e) => e.key === "credentials")?.source).toBe("table");
    expect(own.calls()).toBe(1);
    expect(conn.calls()).toBe(0);
    expect(await (await db.openTable("t")).countRows()).toBe(1);
    expect(conn.calls()).toBe(1);
    // Keys given for the table win over the connection's provider.
    const keyed = await db.openTable("t", { storageOptions: { accountKey: az.key } });
    expect(keyed.effectiveStorageOptions().find((e) => e.key === "credentials")).toBeUndefined();
    expect(await keyed.countRows()).toBe(1);
    const both = await failure(() => lancedb.connect(`az://${c}/db`, { storageOptions: { ...opts, accountKey: az.key }, credentials: conn.provider }));
    expect(both.code).toBe("INVALID_ARGUMENT");
    expect(both.message).toContain("accountKey");
    expectNoSecrets(both.message, [az.key]);
    // Emulator mode would sign with its own key whatever the provider says: refused, naming the fix.
    const emulator = await failure(() => lancedb.connect(`az://${c}/db`, { storageOptions: { useEmulator: true }, credentials: conn.provider }));
    expect(emulator.code).toBe("INVALID_ARGUMENT");
    expect(emulator.message).toContain("endpoint");
    db.close();
  });
});

describe("GCS (fake-gcs-server does not check tokens: what the server received is checked instead)", () => {
  test("a workload outlives several short-lived bearer tokens; the server received each rotating token", async () => {
    const b = uniq("credgcs");
    await gcsCreateBucket(gcs, b);
    const proxy = await recordingProxy(loopback(gcs.endpoint));
    const LIFETIME = 3000;
    const tok = counted((n) => {
      const token = `ya29.stowage-test-${n}-${crypto.randomBytes(12).toString("hex")}`;
      const expiresAt = Date.now() + LIFETIME;
      return { value: { token, expiresAt }, secret: token, expiresAt };
    });
    try {
      const db = await lancedb.connect(`gs://${b}/db`, {
        storageOptions: { googleBaseUrl: proxy.url, allowHttp: true },
        credentials: tok.provider,
      });
      expect(db.effectiveStorageOptions().find((e) => e.key === "google_base_url")?.value).toBe(proxy.url);
      expect(tok.calls()).toBe(0);
      const table = await db.createTable("t", [{ id: 0, v: "x" }]);
      const { errors, acknowledged } = await workload(table, 9000);
      expect(errors).toEqual([]);
      expect(await table.countRows()).toBe(acknowledged + 1);
      const stats = await table.optimize({ cleanupOlderThan: new Date() });
      expect(stats.prune.oldVersionsRemoved).toBeGreaterThan(0);
      await db.dropTable("t");
      expect(await gcsListObjects(gcs, b)).toEqual([]);

      expect(tok.calls()).toBeGreaterThanOrEqual(4);
      const tokens = tok.handed.map((h) => `Bearer ${h.value}`);
      const auth = proxy.seen.map((r) => String(r.headers.authorization));
      expect(auth.filter((a) => !tokens.includes(a))).toEqual([]);
      expect(new Set(auth).size).toBeGreaterThanOrEqual(4);
      // Each request carried a token that was current (stopped 300 ms before expiresAt; a request
      // may take a little while to arrive).
      for (const r of proxy.seen) {
        const h = tok.handed[tokens.indexOf(String(r.headers.authorization))];
        expect(r.at).toBeLessThan(h.expiresAt + 1000);
      }
      expectNoSecrets(JSON.stringify(db.effectiveStorageOptions()) + db.display() + inspect(db), tok.handed.map((h) => h.value));
      db.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("GCS precedence", () => {
  test("a table's own provider wins over the connection's; a service account for the table wins over the connection's provider; both at one tier are refused", async () => {
    const b = uniq("credtier");
    await gcsCreateBucket(gcs, b);
    const base = { googleBaseUrl: loopback(gcs.endpoint), allowHttp: true };
    const conn = counted((n) => ({ value: { token: `conn-${n}` }, secret: `conn-${n}`, expiresAt: Infinity }));
    const own = counted((n) => ({ value: { token: `own-${n}` }, secret: `own-${n}`, expiresAt: Infinity }));
    const db = await lancedb.connect(`gs://${b}/db`, { storageOptions: base, credentials: conn.provider });
    const t = await db.createTable("t", [{ id: 1 }], { credentials: own.provider });
    expect(t.effectiveStorageOptions().find((e) => e.key === "credentials")?.source).toBe("table");
    expect([own.calls(), conn.calls()]).toEqual([1, 0]);
    expect(await (await db.openTable("t")).countRows()).toBe(1);
    expect(conn.calls()).toBe(1);
    const withSa = await db.openTable("t", { storageOptions: { serviceAccount: gcs.serviceAccountPath } });
    const eff = withSa.effectiveStorageOptions();
    expect(eff.find((e) => e.key === "credentials")).toBeUndefined();
    expect(eff.find((e) => e.key === "google_service_account")?.source).toBe("table");
    expect(await withSa.countRows()).toBe(1);
    const both = await failure(() =>
      lancedb.connect(`gs://${b}/db`, { storageOptions: { ...base, serviceAccount: gcs.serviceAccountPath }, credentials: conn.provider }),
    );
    expect(both.code).toBe("INVALID_ARGUMENT");
    expect(both.message).toContain("serviceAccount");
    db.close();
  });
});

describe("both backends", () => {
  const SECRET = "ProviderSecretThatMustNeverAppear123";

  async function azureDb(provider: lancedb.CredentialsProvider): Promise<lancedb.Connection> {
    return lancedb.connect(`az://${uniq("credbad")}/db`, {
      storageOptions: { accountName: az.account, endpoint: loopback(az.endpoint), allowHttp: true },
      credentials: provider,
    });
  }
  async function gcsDb(provider: lancedb.CredentialsProvider): Promise<lancedb.Connection> {
    return lancedb.connect(`gs://${uniq("credbad")}/db`, { storageOptions: { googleBaseUrl: loopback(gcs.endpoint), allowHttp: true }, credentials: provider });
  }

  test.each([
    ["az", azureDb, async () => { throw new Error("vault unreachable"); }, ["it threw: vault unreachable"]],
    ["gs", gcsDb, async () => { throw new Error("vault unreachable"); }, ["it threw: vault unreachable"]],
    ["az", azureDb, async () => ({ accessKeyId: "AKIDX", secretAccessKey: SECRET }), ["it returned AWS keys (accessKeyId, secretAccessKey)", "{ sasToken: string }", "{ token: string }", "{ accountKey: string }"]],
    ["gs", gcsDb, async () => ({ accessKeyId: "AKIDX", secretAccessKey: SECRET }), ["it returned AWS keys", "a gs:// database needs { token: string"]],
    ["gs", gcsDb, async () => ({ sasToken: `sv=2021-08-06&sig=${SECRET}` }), ["it returned Azure credentials (sasToken)", "token: string"]],
    ["az", azureDb, async () => ({ sasToken: SECRET }), ["sasToken is not a SAS query string"]],
    ["az", azureDb, async () => ({ sasToken: `sv=1&sig=${SECRET}`, token: SECRET }), ["it returned sasToken and token; return only one of them"]],
    ["az", azureDb, async () => ({ accountKey: `${SECRET}!*` }), ["accountKey is not base64"]],
    ["az", azureDb, async () => ({ token: 42 }) as never, ["token is a number", "an az:// database needs"]],
    ["gs", gcsDb, async () => ({ token: "" }), ["token is empty"]],
    ["gs", gcsDb, async () => ({ token: SECRET, expiresAt: "soon" }) as never, ["expiresAt is a string", "a gs:// database needs"]],
    ["gs", gcsDb, async () => ({ token: SECRET, expiresAt: Date.now() - 1000 }), ["expiresAt in the past"]],
    ["az", azureDb, async () => null as never, ["it returned null", "an az:// database needs"]],
    ["gs", gcsDb, async () => "token" as never, ["it returned a string", "a gs:// database needs"]],
  ] as [string, (p: lancedb.CredentialsProvider) => Promise<lancedb.Connection>, lancedb.CredentialsProvider, string[]][])(
    "%s: a provider that throws or returns the wrong shape is CREDENTIAL_PROVIDER_FAILED naming the fields (%#)",
    async (_scheme, open, provider, texts) => {
      const db = await open(provider);
      const err = await failure(() => db.tableNames());
      expect(err.code).toBe("CREDENTIAL_PROVIDER_FAILED");
      for (const t of texts) expect(err.message).toContain(t);
      expectNoSecrets(err.message, [SECRET]);
      db.close();
    },
  );

  test.each([["az"], ["gs"]])("%s: concurrent first requests share one provider call", async (scheme) => {
    let calls = 0;
    let db: lancedb.Connection;
    if (scheme === "az") {
      const c = uniq("credshare");
      await azureCreateContainer(az, c);
      db = await lancedb.connect(`az://${c}/db`, {
        storageOptions: { accountName: az.account, endpoint: loopback(az.endpoint), allowHttp: true },
        credentials: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 100));
          return { sasToken: accountSas(new Date(Date.now() + 3600_000)), expiresAt: Date.now() + 3600_000 };
        },
      });
    } else {
      const b = uniq("credshare");
      await gcsCreateBucket(gcs, b);
      db = await lancedb.connect(`gs://${b}/db`, {
        storageOptions: { googleBaseUrl: loopback(gcs.endpoint), allowHttp: true },
        credentials: async () => {
          calls++;
          await new Promise((r) => setTimeout(r, 100));
          return { token: "shared-token", expiresAt: Date.now() + 3600_000 };
        },
      });
    }
    const names = await Promise.all(Array.from({ length: 8 }, () => db.tableNames()));
    expect(names.every((n) => n.length === 0)).toBe(true);
    expect(calls).toBe(1);
    await db.createTable("t", [{ id: 1 }]);
    expect(await (await db.openTable("t")).countRows()).toBe(1);
    expect(calls).toBe(1);
    db.close();
  });
});
