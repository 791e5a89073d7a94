/**
 * Smoke test for the local storage emulators (scripts/emulators/). Starts them itself unless
 * STOWAGE_EMULATORS_FILE points at running ones, and checks each speaks its protocol.
 */
import * as crypto from "crypto";
import * as fs from "fs";
import {
  Endpoints,
  azureCreateContainer,
  azureGetBlob,
  azureListBlobs,
  azurePutBlob,
  gcsCreateBucket,
  gcsExtraShim,
  gcsListObjects,
  gcsObjectUrl,
  httpRequest,
  s3CreateBucket,
  s3HeadObject,
  s3ListObjects,
  s3Request,
  useEmulators,
} from "./helpers/emulators";

jest.setTimeout(240_000); // a cold install of the emulators can take ~2 minutes

let emu: Endpoints;
let stop: () => Promise<void> = async () => {};
const suffix = crypto.randomBytes(4).toString("hex");

beforeAll(async () => {
  const r = await useEmulators(["s3", "s3auth", "gcs", "azure"]);
  emu = r.endpoints;
  stop = r.stop;
});

afterAll(async () => {
  await stop();
});

describe("moto (S3)", () => {
  test("open server: create bucket, put, list, head", async () => {
    const s3 = emu.s3!;
    const bucket = `smoke-${suffix}`;
    await s3CreateBucket(s3, bucket);
    const put = await s3Request(s3, "PUT", bucket, "dir/a b.txt", {
      body: "hello",
      headers: { "x-amz-server-side-encryption": "AES256" },
    });
    expect(put.status).toBe(200);
    // the open server also accepts unsigned requests
    const unsigned = await s3Request(s3, "PUT", bucket, "dir/unsigned", { body: "x", sign: false });
    expect(unsigned.status).toBe(200);
    expect((await s3ListObjects(s3, bucket)).sort()).toEqual(["dir/a b.txt", "dir/unsigned"]);
    const head = await s3HeadObject(s3, bucket, "dir/a b.txt");
    expect(head.status).toBe(200);
    expect(head.headers["x-amz-server-side-encryption"]).toBe("AES256");
    expect(head.headers["content-length"]).toBe("5");
  });

  test("auth server: signature is enforced", async () => {
    const s3 = emu.s3auth!;
    expect(s3.auth).toBe(true);
    const bucket = `smoke-auth-${suffix}`;
    await s3CreateBucket(s3, bucket); // signed with the provisioned IAM key
    // moto 5.2.5 answers a request with no Authorization header at all with 500 (KeyError in
    // moto/iam/access_control.py) instead of AWS's 403: rejected either way.
    const unsigned = await s3Request(s3, "GET", bucket, "", { query: { "list-type": "2" }, sign: false });
    expect([403, 500]).toContain(unsigned.status);
    const badSecret = await s3Request(s3, "GET", bucket, "", {
      query: { "list-type": "2" },
      sign: { accessKeyId: s3.accessKeyId, secretAccessKey: "wrong-secret" },
    });
    expect(badSecret.status).toBe(403);
    const unknownKey = await s3Request(s3, "GET", bucket, "", {
      query: { "list-type": "2" },
      sign: { accessKeyId: "AKIAUNKNOWNKEY000000", secretAccessKey: "x" },
    });
    expect(unknownKey.status).toBe(403);
    expect((await s3Request(s3, "PUT", bucket, "k", { body: "v" })).status).toBe(200);
    expect((await s3Request(s3, "PUT", bucket, "dir/a b+c=d.txt", { body: "v" })).status).toBe(200);
    expect((await s3ListObjects(s3, bucket)).sort()).toEqual(["dir/a b+c=d.txt", "k"]);
  });
});

describe("fake-gcs-server behind the shim (GCS)", () => {
  test("create-only PUT, GET, ranges, list (XML + JSON), multipart, copy, delete", async () => {
    const gcs = emu.gcs!;
    const bucket = `smoke-${suffix}`;
    await gcsCreateBucket(gcs, bucket);
    const url = gcsObjectUrl(gcs, bucket, "dir/obj.txt"); // "/" and "." percent-encoded like object_store
    const create = (body: string) =>
      httpRequest(url, {
        method: "PUT",
        body,
        headers: { "x-goog-if-generation-match": "0", "content-type": "text/plain", authorization: "Bearer " },
      });
    const first = await create("hello gcs");
    expect(first.status).toBe(200);
    expect(first.headers.etag).toBeTruthy();
    const generation = first.headers["x-goog-generation"] as string;
    expect(generation).toMatch(/^\d+$/);
    const second = await create("other");
    expect(second.status).toBe(412);

    const get = await httpRequest(url);
    expect(get.status).toBe(200);
    expect(get.text()).toBe("hello gcs");
    expect(get.headers["last-modified"]).toBeTruthy();
    expect(get.headers["x-goog-generation"]).toBe(generation);
    const range = await httpRequest(url, { headers: { range: "bytes=0-4" } });
    expect(range.status).toBe(206);
    expect(range.text()).toBe("hello");
    expect(range.headers["content-range"]).toBe("bytes 0-4/9");
    const notModified = await httpRequest(url, { headers: { "if-none-match": first.headers.etag as string } });
    expect(notModified.status).toBe(304);

    // compare-and-swap on generation
    const stale = await httpRequest(url, { method: "PUT", body: "v2", headers: { "x-goog-if-generation-match": "1" } });
    expect(stale.status).toBe(412);
    const cas = await httpRequest(url, { method: "PUT", body: "v2", headers: { "x-goog-if-generation-match": generation } });
    expect(cas.status).toBe(200);

    // XML listing as object_store sends it
    const list = await httpRequest(`${gcs.endpoint}/${bucket}?list-type=2&prefix=dir%2F&delimiter=%2F`);
    expect(list.status).toBe(200);
    expect(list.text()).toContain("<Key>dir/obj.txt</Key>");
    expect(await gcsListObjects(gcs, bucket)).toEqual(["dir/obj.txt"]);

    // XML multipart upload, emulated in the shim (min part size 5 MiB except the last)
    const mpUrl = gcsObjectUrl(gcs, bucket, "dir/big.bin");
    const init = await httpRequest(`${mpUrl}?uploads`, { method: "POST", headers: { "content-length": "0" } });
    expect(init.status).toBe(200);
    const uploadId = /<UploadId>([^<]+)<\/UploadId>/.exec(init.text())![1];
    const p1 = Buffer.alloc(5 * 1024 * 1024, 1);
    const r1 = await httpRequest(`${mpUrl}?partNumber=1&uploadId=${uploadId}`, { method: "PUT", body: p1 });
    const r2 = await httpRequest(`${mpUrl}?partNumber=2&uploadId=${uploadId}`, { method: "PUT", body: "tail" });
    const complete = await httpRequest(`${mpUrl}?uploadId=${uploadId}`, {
      method: "POST",
      body: `<CompleteMultipartUpload><Part><ETag>${r1.headers.etag}</ETag><PartNumber>1</PartNumber></Part><Part><ETag>${r2.headers.etag}</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>`,
    });
    expect(complete.status).toBe(200);
    expect(complete.text()).toContain("<ETag>");
    const head = await httpRequest(mpUrl, { method: "HEAD" });
    expect(head.headers["content-length"]).toBe(String(p1.length + 4));

    // copy (create-only), then delete
    const copyUrl = gcsObjectUrl(gcs, bucket, "dir/copy.txt");
    const copySrc = `${bucket}/${encodeURIComponent("dir/obj.txt")}`;
    const copy = () =>
      httpRequest(copyUrl, { method: "PUT", headers: { "x-goog-copy-source": copySrc, "x-goog-if-generation-match": "0", "content-length": "0" } });
    expect((await copy()).status).toBe(200);
    expect((await copy()).status).toBe(412);
    expect((await httpRequest(copyUrl)).text()).toBe("v2");
    expect((await httpRequest(copyUrl, { method: "DELETE" })).status).toBe(204);
    expect((await httpRequest(copyUrl)).status).toBe(404);

    // concurrent create-only PUTs through one shim: exactly one wins (fake-gcs-server decides; the
    // test below shows it does so across shims too)
    const raceUrl = gcsObjectUrl(gcs, bucket, "dir/race");
    const statuses = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        httpRequest(raceUrl, { method: "PUT", body: `writer ${i}`, headers: { "x-goog-if-generation-match": "0" } }).then((r) => r.status),
      ),
    );
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 412)).toHaveLength(7);

    // service account JSON for object_store
    const sa = JSON.parse(fs.readFileSync(gcs.serviceAccountPath, "utf8"));
    expect(sa).toMatchObject({ gcs_base_url: gcs.endpoint, disable_oauth: true });
  });

  // The shim forwards x-goog-if-generation-match and checks nothing itself, so create-only and
  // compare-and-swap hold only if fake-gcs-server enforces them. Shim processes share no state: with
  // a shim that checked and then wrote, writers spread over four of them see several winners.
  test("generation preconditions are decided by fake-gcs-server, not the shim", async () => {
    const gcs = emu.gcs!;
    const bucket = `smoke-pre-${suffix}`;
    await gcsCreateBucket(gcs, bucket);

    // straight to fake-gcs-server's JSON upload, the request the shim turns an XML PUT into
    const direct = (name: string, body: string, generation: string) => {
      const b = "stowage-smoke";
      return httpRequest(`${gcs.upstream.endpoint}/upload/storage/v1/b/${bucket}/o?uploadType=multipart&ifGenerationMatch=${generation}`, {
        method: "POST",
        headers: { "content-type": `multipart/related; boundary=${b}` },
        body: `--${b}\r\nContent-Type: application/json\r\n\r\n${JSON.stringify({ name })}\r\n--${b}\r\nContent-Type: text/plain\r\n\r\n${body}\r\n--${b}--\r\n`,
      });
    };
    expect((await direct("direct", "first", "0")).status).toBe(200);
    expect((await direct("direct", "second", "0")).status).toBe(412);
    expect((await httpRequest(gcsObjectUrl(gcs, bucket, "direct"))).text()).toBe("first");

    const extra = await Promise.all([1, 2, 3].map(() => gcsExtraShim(gcs)));
    try {
      const endpoints = [gcs.endpoint, ...extra.map((e) => e.endpoint)];
      const race = async (name: string, generation: string) => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            httpRequest(`${endpoints[i % endpoints.length]}/${bucket}/${encodeURIComponent(name)}`, {
              method: "PUT",
              body: `writer ${i}`,
              headers: { "x-goog-if-generation-match": generation },
            }).then((r) => ({ i, status: r.status, generation: r.headers["x-goog-generation"] as string })),
          ),
        );
        const winners = results.filter((r) => r.status === 200);
        expect(winners).toHaveLength(1);
        expect(results.filter((r) => r.status === 412)).toHaveLength(7);
        expect((await httpRequest(gcsObjectUrl(gcs, bucket, name))).text()).toBe(`writer ${winners[0].i}`);
        return winners[0].generation;
      };
      for (let round = 0; round < 10; round++) {
        let generation = await race(`create-${round}`, "0");
        // compare-and-swap: everyone names the generation they read; one replaces it
        for (let step = 0; step < 2; step++) generation = await race(`create-${round}`, generation);
      }
    } finally {
      await Promise.all(extra.map((e) => e.stop()));
    }

    // nothing decides a conditional delete (fake-gcs-server ignores it), so the shim refuses it
    const del = await httpRequest(gcsObjectUrl(gcs, bucket, "direct"), { method: "DELETE", headers: { "x-goog-if-generation-match": "0" } });
    expect(del.status).toBe(501);
    expect(del.text()).toContain("NotImplemented");
    expect((await httpRequest(gcsObjectUrl(gcs, bucket, "direct"))).text()).toBe("first");
  });
});

describe("azurite (Azure Blob)", () => {
  test("SharedKey: create container, put, get, list", async () => {
    const az = emu.azure!;
    const container = `smoke-${suffix}`;
    await azureCreateContainer(az, container);
    await azurePutBlob(az, container, "dir/blob.txt", "hello azure", "text/plain");
    const get = await azureGetBlob(az, container, "dir/blob.txt");
    expect(get.status).toBe(200);
    expect(get.text()).toBe("hello azure");
    expect(await azureListBlobs(az, container)).toEqual(["dir/blob.txt"]);
    // a wrong key is rejected
    const bad = await httpRequest(`${az.endpoint}/${container}?restype=container&comp=list`, {
      headers: { "x-ms-version": "2021-08-06", "x-ms-date": new Date().toUTCString(), authorization: `SharedKey ${az.account}:AAAA` },
    });
    expect(bad.status).toBe(403);
  });
});
