#!/usr/bin/env node
/*
 * gcs-shim.js: a loopback HTTP front for fake-gcs-server so that the GCS client of the Rust
 * `object_store` 0.14 crate works against it. Node builtins only.
 *
 *   node scripts/emulators/gcs-shim.js --upstream http://127.0.0.1:UP --port P [--host 127.0.0.1]
 *   (or require('./gcs-shim').createShim({ upstream }) and .listen() it yourself)
 *
 * WHAT object_store 0.14.2 SENDS (src/gcp/client.rs) -> WHAT THIS SHIM DOES
 * ---------------------------------------------------------------------------------------------
 *  PUT  /{b}/{o}                      XML simple upload. fake-gcs answers "400 invalid uploadType",
 *                                     so the shim re-sends it as a JSON-API multipart/related upload
 *                                     (POST /upload/storage/v1/b/{b}/o?uploadType=multipart), carrying
 *                                     Content-Type, Cache-Control, Content-Disposition, Content-Encoding,
 *                                     Content-Language, x-goog-meta-* and x-goog-storage-class.
 *                                     Replies 200 with ETag + x-goog-generation (+ metageneration, hash).
 *  x-goog-if-generation-match: 0      (PutMode::Create) and
 *  x-goog-if-generation-match: N      (PutMode::Update) are FORWARDED as ?ifGenerationMatch=N on that
 *                                     JSON upload. fake-gcs-server decides: its backend compares the live
 *                                     generation and publishes the object under one mutex, and answers 412,
 *                                     which the shim returns as an XML PreconditionFailed. The shim holds no
 *                                     lock and checks nothing itself, so writers going through different
 *                                     shims, or straight to fake-gcs, still see exactly one winner.
 *                                     uploadType=multipart is the only upload fake-gcs-server v1.54.0
 *                                     enforces the precondition on (media and resumable ignore it); see
 *                                     README.md for the references.
 *  PUT  /{b}/{o} + x-goog-copy-source copy. CopyMode::Overwrite: JSON copyTo. CopyMode::Create
 *                                     (if-generation-match: 0): fake-gcs's copyTo and rewriteTo ignore
 *                                     ifGenerationMatch, so the shim reads the source (body pinned to the
 *                                     generation its metadata named) and writes it with the conditional JSON
 *                                     upload above: fake-gcs still decides the destination's precondition.
 *                                     404 if the source is missing.
 *  POST /{b}/{o}?uploads              XML multipart upload: EMULATED IN SHIM MEMORY (fake-gcs has no XML
 *  PUT  /{b}/{o}?partNumber&uploadId  multipart API). Parts are buffered in the shim; complete validates
 *  POST /{b}/{o}?uploadId             part numbers/order/ETags, enforces the 5 MiB minimum for every part but
 *  DELETE /{b}/{o}?uploadId           the last (env STOWAGE_GCS_SHIM_MIN_PART_SIZE overrides, 0 disables),
 *                                     concatenates and uploads the object in one JSON upload (a precondition
 *                                     on complete is forwarded as for PUT). Abort drops the
 *                                     buffers. Uploads are lost if the shim restarts; no ListParts/ListUploads.
 *  GET/HEAD /{b}/{o}                  forwarded to the JSON download endpoint (...?alt=media), which supports
 *                                     Range (incl. suffix/open ranges), ?generation=, and returns ETag,
 *                                     Last-Modified, Content-Length, x-goog-generation.
 *                                     fake-gcs ignores conditional headers on reads, so If-Match,
 *                                     If-None-Match, If-Modified-Since, If-Unmodified-Since and
 *                                     x-goog-if-generation-match on GET/HEAD are EMULATED from object metadata
 *                                     (304 / 412), then the body is fetched pinned to the generation checked
 *                                     (two requests; a concurrent overwrite yields 404, never a wrong body).
 *  DELETE /{b}/{o}                    JSON delete: 204, or 404 if missing (fake-gcs's XML DELETE says 200
 *                                     even for missing objects). With x-goog-if-generation-match: 501, since
 *                                     fake-gcs ignores preconditions on delete and object_store 0.14 never
 *                                     sends one (the shim does not pretend to enforce what nothing decides).
 *  GET /{b}?list-type=2&prefix&delimiter&continuation-token&start-after&max-keys
 *                                     XML ListObjectsV2 (this is what object_store 0.14 lists with, not the
 *                                     JSON API). fake-gcs's XML listing has no pagination, so the shim lists
 *                                     via JSON API and renders the XML itself: Contents then CommonPrefixes,
 *                                     ETag quoted as in GET, max-keys (default and cap 1000) counting keys and
 *                                     prefixes, NextContinuationToken (opaque), start-after (exclusive).
 *  everything else                    (JSON API /storage/v1/..., /upload/..., /download/..., bucket
 *                                     creation, ...) is passed through unchanged to fake-gcs-server.
 *  Authorization                      object_store with disable_oauth sends "Bearer " (empty); the shim
 *                                     drops Authorization. NO AUTHENTICATION IS CHECKED.
 *
 * NOT EMULATED / DIFFERENCES FROM REAL GCS: authentication and IAM; signed URLs (signBlob goes to
 * iamcredentials.googleapis.com, which is never contacted here); object versioning; XML error bodies
 * only for shim-generated errors (passthrough errors keep fake-gcs's bodies); ETags are fake-gcs's
 * quoted base64 MD5 (real GCS XML uses hex MD5, and a different form for multipart objects);
 * x-goog-if-metageneration-match; encoding-type=url in listings; XML bucket operations.
 * Health check: GET /_shim/health -> 200.
 */
'use strict';

const http = require('http');
const crypto = require('crypto');

const MIN_PART_SIZE = process.env.STOWAGE_GCS_SHIM_MIN_PART_SIZE != null
  ? Number(process.env.STOWAGE_GCS_SHIM_MIN_PART_SIZE) : 5 * 1024 * 1024;

function xmlEscape(s) {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' }[c]));
}
function xmlUnescape(s) {
  return s.replace(/&(lt|gt|amp|apos|quot);/g, (_, e) => ({ lt: '<', gt: '>', amp: '&', apos: "'", quot: '"' }[e]));
}
function stripEtag(e) { return String(e || '').trim().replace(/^W\//, '').replace(/^"|"$/g, ''); }

function createShim({ upstream, log = () => {} }) {
  const up = new URL(upstream);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const uploads = new Map(); // uploadId -> { bucket, object, headers, parts: Map<n, {buf, etag}> }

  function upReq(method, path, { headers = {}, body } = {}) {
    return new Promise((resolve, reject) => {
      const h = { ...headers };
      if (body != null) h['content-length'] = Buffer.byteLength(body);
      const req = http.request({ host: up.hostname, port: up.port, method, path, headers: h, agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  const enc = encodeURIComponent;
  async function getMeta(bucket, object) {
    const r = await upReq('GET', `/storage/v1/b/${enc(bucket)}/o/${enc(object)}`);
    if (r.status === 404) return null;
    if (r.status !== 200) throw new Error(`metadata lookup ${bucket}/${object}: ${r.status} ${r.body}`);
    return JSON.parse(r.body.toString('utf8'));
  }
  async function bucketExists(bucket) {
    const r = await upReq('GET', `/storage/v1/b/${enc(bucket)}`);
    return r.status === 200;
  }

  function sendXmlError(res, status, code, message, extra = {}) {
    const body = `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }
  function sendXml(res, status, xml, extra = {}) {
    const body = `<?xml version="1.0" encoding="UTF-8"?>${xml}`;
    res.writeHead(status, { 'content-type': 'application/xml; charset=UTF-8', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  }
  function putResultHeaders(obj) {
    return {
      etag: `"${obj.etag}"`,
      'x-goog-generation': String(obj.generation),
      'x-goog-metageneration': String(obj.metageneration || '1'),
      'x-goog-hash': `crc32c=${obj.crc32c},md5=${obj.md5Hash}`,
      'x-goog-stored-content-length': String(obj.size),
    };
  }

  // For reads only (writes forward the precondition to fake-gcs-server). Returns an error tuple
  // [status, code, msg] or null. `meta` is current object metadata or null.
  function checkGenerationMatch(headers, meta) {
    const v = headers['x-goog-if-generation-match'];
    if (v == null) return null;
    if (String(v).trim() === '0') {
      return meta ? [412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold. (object exists, x-goog-if-generation-match: 0)'] : null;
    }
    if (!meta || String(meta.generation) !== String(v).trim()) {
      return [412, 'PreconditionFailed', `At least one of the pre-conditions you specified did not hold. (x-goog-if-generation-match: ${v}, current: ${meta ? meta.generation : 'none'})`];
    }
    return null;
  }

  const RESOURCE_HEADERS = { 'cache-control': 'cacheControl', 'content-disposition': 'contentDisposition', 'content-encoding': 'contentEncoding', 'content-language': 'contentLanguage', 'x-goog-storage-class': 'storageClass' };
  // The JSON object resource an XML request's headers describe.
  function resourceFromHeaders(object, headers) {
    const resource = { name: object, contentType: headers['content-type'] || 'application/octet-stream' };
    for (const [h, f] of Object.entries(RESOURCE_HEADERS)) if (headers[h] != null) resource[f] = headers[h];
    const md = {};
    for (const [h, v] of Object.entries(headers)) if (h.startsWith('x-goog-meta-')) md[h.slice('x-goog-meta-'.length)] = v;
    if (Object.keys(md).length) resource.metadata = md;
    return resource;
  }
  // The resource a copy writes: the source's, as GCS's copy keeps the source metadata by default.
  function resourceFromMeta(object, meta) {
    const resource = { name: object, contentType: meta.contentType || 'application/octet-stream' };
    for (const f of Object.values(RESOURCE_HEADERS)) if (meta[f] != null) resource[f] = meta[f];
    if (meta.metadata) resource.metadata = meta.metadata;
    return resource;
  }

  // `generationMatch` (the x-goog-if-generation-match value, or undefined) goes to fake-gcs-server as
  // ifGenerationMatch: its multipart upload handler hands it to the backend, which checks it and stores
  // the object under one lock, so the server (not this shim) picks the one winner among racing writers.
  async function uploadObject(bucket, object, data, resource, generationMatch) {
    const q = new URLSearchParams({ uploadType: 'multipart' });
    if (generationMatch != null) q.set('ifGenerationMatch', String(generationMatch).trim());
    const boundary = `stowage_shim_${crypto.randomBytes(12).toString('hex')}`;
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n--${boundary}\r\nContent-Type: ${resource.contentType}\r\n\r\n`),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return upReq('POST', `/upload/storage/v1/b/${enc(bucket)}/o?${q}`, {
      headers: { 'content-type': `multipart/related; boundary=${boundary}` }, body,
    });
  }

  // Answers a failed upload in XML; returns the stored object's JSON resource when it succeeded.
  function uploadResult(res, r, bucket) {
    if (r.status === 200) return JSON.parse(r.body.toString('utf8'));
    if (r.status === 412) {
      sendXmlError(res, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold. (x-goog-if-generation-match, decided by fake-gcs-server)');
    } else if (r.status === 404) {
      sendXmlError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    } else {
      res.writeHead(r.status, { 'content-type': r.headers['content-type'] || 'text/plain' });
      res.end(r.body);
    }
    return null;
  }

  // The source of a conditional copy: its metadata and the body of that same generation. A source
  // replaced between the two requests is read again (bounded), as GCS copies whichever is live.
  async function readObject(bucket, object) {
    for (let attempt = 0; attempt < 3; attempt++) {
      const meta = await getMeta(bucket, object);
      if (!meta) return null;
      const r = await upReq('GET', `/storage/v1/b/${enc(bucket)}/o/${enc(object)}?alt=media&generation=${enc(String(meta.generation))}`);
      if (r.status === 200) return { meta, data: r.body };
      if (r.status !== 404) throw new Error(`read ${bucket}/${object}: ${r.status} ${r.body}`);
    }
    throw new Error(`read ${bucket}/${object}: replaced during every one of 3 attempts`);
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
  }

  function passthrough(req, res, pathOverride) {
    const headers = { ...req.headers };
    delete headers.authorization;
    headers.host = up.host;
    const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path: pathOverride || req.url, headers, agent }, (pres) => {
      res.writeHead(pres.statusCode, pres.headers);
      pres.pipe(res);
    });
    preq.on('error', (e) => { if (!res.headersSent) sendXmlError(res, 502, 'BadGateway', `fake-gcs-server: ${e.message}`); else res.destroy(); });
    req.pipe(preq);
  }

  // ---- handlers -------------------------------------------------------------------------------
  async function handlePut(req, res, bucket, object) {
    const data = await readBody(req);
    const r = await uploadObject(bucket, object, data, resourceFromHeaders(object, req.headers), req.headers['x-goog-if-generation-match']);
    const obj = uploadResult(res, r, bucket);
    if (!obj) return;
    res.writeHead(200, { ...putResultHeaders(obj), 'content-length': 0 });
    res.end();
  }

  async function handleCopy(req, res, bucket, object) {
    await readBody(req);
    let src = decodeURIComponent(String(req.headers['x-goog-copy-source']).replace(/^\//, ''));
    const slash = src.indexOf('/');
    if (slash <= 0) return sendXmlError(res, 400, 'InvalidArgument', `bad x-goog-copy-source: ${req.headers['x-goog-copy-source']}`);
    const srcBucket = src.slice(0, slash);
    const srcObject = src.slice(slash + 1);
    const noSource = () => sendXmlError(res, 404, 'NoSuchKey', `The specified key does not exist: ${srcBucket}/${srcObject}`);
    const generationMatch = req.headers['x-goog-if-generation-match'];
    let obj;
    if (generationMatch == null) {
      const r = await upReq('POST', `/storage/v1/b/${enc(srcBucket)}/o/${enc(srcObject)}/copyTo/b/${enc(bucket)}/o/${enc(object)}`, { headers: { 'content-type': 'application/json' }, body: '{}' });
      if (r.status === 404) return noSource();
      if (r.status !== 200) { res.writeHead(r.status); return res.end(r.body); }
      obj = JSON.parse(r.body.toString('utf8'));
    } else {
      // fake-gcs-server v1.54.0's copyTo ignores ifGenerationMatch; its upload does not.
      const source = await readObject(srcBucket, srcObject);
      if (!source) return noSource();
      obj = uploadResult(res, await uploadObject(bucket, object, source.data, resourceFromMeta(object, source.meta), generationMatch), bucket);
      if (!obj) return;
    }
    sendXml(res, 200, `<CopyObjectResult><LastModified>${new Date(obj.updated).toISOString()}</LastModified><ETag>"${xmlEscape(obj.etag)}"</ETag></CopyObjectResult>`, putResultHeaders(obj));
  }

  async function handleGet(req, res, bucket, object, query) {
    const h = req.headers;
    const conditional = ['if-match', 'if-none-match', 'if-modified-since', 'if-unmodified-since', 'x-goog-if-generation-match'].some((k) => h[k] != null);
    const gen = query.get('generation');
    const path = `/storage/v1/b/${enc(bucket)}/o/${enc(object)}?alt=media${gen ? `&generation=${enc(gen)}` : ''}`;
    if (!conditional) return passthrough(req, res, path);
    await readBody(req);
    const meta = await getMeta(bucket, object);
    if (!meta || (gen && String(meta.generation) !== gen)) return sendXmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const etag = stripEtag(meta.etag);
    const lastMod = Math.floor(new Date(meta.updated).getTime() / 1000);
    const match = (list) => String(list).split(',').map((s) => s.trim()).some((t) => t === '*' || stripEtag(t) === etag);
    const notModified = { etag: `"${meta.etag}"`, 'last-modified': new Date(meta.updated).toUTCString(), 'x-goog-generation': String(meta.generation) };
    const gerr = checkGenerationMatch(h, meta);
    if (gerr) return sendXmlError(res, ...gerr);
    if (h['if-match'] != null && !match(h['if-match'])) return sendXmlError(res, 412, 'PreconditionFailed', 'If-Match did not match');
    if (h['if-unmodified-since'] != null && h['if-match'] == null) {
      const t = Date.parse(h['if-unmodified-since']);
      if (!Number.isNaN(t) && lastMod > Math.floor(t / 1000)) return sendXmlError(res, 412, 'PreconditionFailed', 'modified since If-Unmodified-Since');
    }
    if (h['if-none-match'] != null) {
      if (match(h['if-none-match'])) { res.writeHead(304, notModified); return res.end(); }
    } else if (h['if-modified-since'] != null) {
      const t = Date.parse(h['if-modified-since']);
      if (!Number.isNaN(t) && lastMod <= Math.floor(t / 1000)) { res.writeHead(304, notModified); return res.end(); }
    }
    // Pin the generation we validated so a concurrent overwrite yields 404 instead of a wrong body.
    const pinned = `/storage/v1/b/${enc(bucket)}/o/${enc(object)}?alt=media&generation=${enc(String(meta.generation))}`;
    const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path: pinned, headers: { range: h.range, host: up.host }, agent }, (pres) => {
      res.writeHead(pres.statusCode, pres.headers);
      pres.pipe(res);
    });
    preq.on('error', (e) => sendXmlError(res, 502, 'BadGateway', e.message));
    preq.end();
  }

  async function handleDelete(req, res, bucket, object) {
    await readBody(req);
    if (req.headers['x-goog-if-generation-match'] != null) {
      // fake-gcs-server v1.54.0 deletes whatever the precondition says, and a check here would be a
      // check-then-act race; object_store 0.14 sends no conditional delete, so refuse it plainly.
      return sendXmlError(res, 501, 'NotImplemented', 'conditional DELETE (x-goog-if-generation-match) is not supported: fake-gcs-server v1.54.0 ignores it');
    }
    const r = await upReq('DELETE', `/storage/v1/b/${enc(bucket)}/o/${enc(object)}`);
    if (r.status === 404) return sendXmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    if (r.status >= 300) { res.writeHead(r.status); return res.end(r.body); }
    res.writeHead(204); res.end();
  }

  async function handleInitiate(req, res, bucket, object) {
    await readBody(req);
    if (!(await bucketExists(bucket))) return sendXmlError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
    const uploadId = `shim-${crypto.randomBytes(16).toString('hex')}`;
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (k.startsWith('x-goog-meta-') || ['content-type', 'cache-control', 'content-disposition', 'content-encoding', 'content-language', 'x-goog-storage-class'].includes(k)) headers[k] = v;
    }
    uploads.set(uploadId, { bucket, object, headers, parts: new Map() });
    sendXml(res, 200, `<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(object)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`);
  }

  function getUpload(res, id, bucket, object) {
    const u = uploads.get(id);
    if (!u || u.bucket !== bucket || u.object !== object) {
      sendXmlError(res, 404, 'NoSuchUpload', 'The requested upload was not found.');
      return null;
    }
    return u;
  }

  async function handlePart(req, res, bucket, object, query) {
    const data = await readBody(req);
    const u = getUpload(res, query.get('uploadId'), bucket, object);
    if (!u) return;
    const n = Number(query.get('partNumber'));
    if (!Number.isInteger(n) || n < 1 || n > 10000) return sendXmlError(res, 400, 'InvalidArgument', `invalid partNumber ${query.get('partNumber')}`);
    const etag = crypto.createHash('md5').update(data).digest('hex');
    u.parts.set(n, { buf: data, etag });
    res.writeHead(200, { etag: `"${etag}"`, 'content-length': 0 });
    res.end();
  }

  async function handleComplete(req, res, bucket, object, query) {
    const id = query.get('uploadId');
    const body = (await readBody(req)).toString('utf8');
    const u = getUpload(res, id, bucket, object);
    if (!u) return;
    const parts = [];
    for (const m of body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)) {
      const pn = /<PartNumber>\s*(\d+)\s*<\/PartNumber>/.exec(m[1]);
      const et = /<ETag>([\s\S]*?)<\/ETag>/.exec(m[1]);
      if (!pn || !et) return sendXmlError(res, 400, 'MalformedXML', 'Part without PartNumber or ETag');
      parts.push({ n: Number(pn[1]), etag: stripEtag(xmlUnescape(et[1])) });
    }
    if (!parts.length) return sendXmlError(res, 400, 'MalformedXML', 'no parts in CompleteMultipartUpload');
    const bufs = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (i > 0 && p.n <= parts[i - 1].n) return sendXmlError(res, 400, 'InvalidPartOrder', 'parts must be in ascending order');
      const have = u.parts.get(p.n);
      if (!have || have.etag !== p.etag) return sendXmlError(res, 400, 'InvalidPart', `part ${p.n} not found or ETag mismatch`);
      if (i < parts.length - 1 && have.buf.length < MIN_PART_SIZE) {
        return sendXmlError(res, 400, 'EntityTooSmall', `part ${p.n} is ${have.buf.length} bytes; parts other than the last must be >= ${MIN_PART_SIZE}`);
      }
      bufs.push(have.buf);
    }
    const r = await uploadObject(bucket, object, Buffer.concat(bufs), resourceFromHeaders(object, u.headers), req.headers['x-goog-if-generation-match']);
    const obj = uploadResult(res, r, bucket);
    if (!obj) return;
    uploads.delete(id);
    sendXml(res, 200, `<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Location>/${xmlEscape(bucket)}/${xmlEscape(object)}</Location><Bucket>${xmlEscape(bucket)}</Bucket><Key>${xmlEscape(object)}</Key><ETag>"${xmlEscape(obj.etag)}"</ETag></CompleteMultipartUploadResult>`, putResultHeaders(obj));
  }

  async function handleAbort(req, res, bucket, object, query) {
    await readBody(req);
    const id = query.get('uploadId');
    if (!getUpload(res, id, bucket, object)) return;
    uploads.delete(id);
    res.writeHead(204); res.end();
  }

  async function handleList(req, res, bucket, query) {
    await readBody(req);
    const prefix = query.get('prefix') || '';
    const delimiter = query.get('delimiter') || '';
    const maxKeys = Math.max(0, Math.min(1000, query.get('max-keys') != null ? Number(query.get('max-keys')) : 1000));
    const startAfter = query.get('start-after') || '';
    let marker = null; // { k, p }
    if (query.get('continuation-token')) {
      try { marker = JSON.parse(Buffer.from(query.get('continuation-token'), 'base64url').toString('utf8')); } catch {
        return sendXmlError(res, 400, 'InvalidArgument', 'invalid continuation-token');
      }
    }
    // full listing via the JSON API
    const names = [];
    let pageToken = '';
    for (;;) {
      const q = new URLSearchParams({ maxResults: '1000', fields: 'items(name,size,updated,etag,generation,metageneration),nextPageToken' });
      if (prefix) q.set('prefix', prefix);
      if (pageToken) q.set('pageToken', pageToken);
      const r = await upReq('GET', `/storage/v1/b/${enc(bucket)}/o?${q}`);
      if (r.status === 404) return sendXmlError(res, 404, 'NoSuchBucket', `The specified bucket does not exist: ${bucket}`);
      if (r.status !== 200) { res.writeHead(r.status); return res.end(r.body); }
      const j = JSON.parse(r.body.toString('utf8'));
      for (const it of j.items || []) names.push(it);
      if (!j.nextPageToken) break;
      pageToken = j.nextPageToken;
    }
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const contents = [];
    const prefixes = [];
    const seen = new Set();
    let truncated = false;
    let last = null;
    for (const it of names) {
      if (!it.name.startsWith(prefix)) continue;
      if (startAfter && it.name <= startAfter) continue;
      if (marker && (it.name <= marker.k || (marker.p && it.name.startsWith(marker.k)))) continue;
      let entry;
      if (delimiter) {
        const idx = it.name.indexOf(delimiter, prefix.length);
        if (idx >= 0) {
          const p = it.name.slice(0, idx + delimiter.length);
          if (seen.has(p)) continue;
          entry = { k: p, p: true };
        }
      }
      if (!entry) entry = { k: it.name, p: false, it };
      if (contents.length + prefixes.length >= maxKeys) { truncated = true; break; }
      if (entry.p) { seen.add(entry.k); prefixes.push(entry.k); } else contents.push(it);
      last = entry;
    }
    let xml = `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix>`;
    if (delimiter) xml += `<Delimiter>${xmlEscape(delimiter)}</Delimiter>`;
    if (startAfter) xml += `<StartAfter>${xmlEscape(startAfter)}</StartAfter>`;
    if (query.get('continuation-token')) xml += `<ContinuationToken>${xmlEscape(query.get('continuation-token'))}</ContinuationToken>`;
    xml += `<KeyCount>${contents.length + prefixes.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>`;
    if (truncated && last) xml += `<NextContinuationToken>${Buffer.from(JSON.stringify({ k: last.k, p: last.p })).toString('base64url')}</NextContinuationToken>`;
    for (const it of contents) {
      xml += `<Contents><Key>${xmlEscape(it.name)}</Key><Generation>${it.generation}</Generation><MetaGeneration>${it.metageneration || 1}</MetaGeneration><LastModified>${new Date(it.updated).toISOString()}</LastModified><ETag>"${xmlEscape(it.etag)}"</ETag><Size>${it.size}</Size></Contents>`;
    }
    for (const p of prefixes) xml += `<CommonPrefixes><Prefix>${xmlEscape(p)}</Prefix></CommonPrefixes>`;
    xml += '</ListBucketResult>';
    sendXml(res, 200, xml);
  }

  async function route(req, res) {
    const qi = req.url.indexOf('?');
    const rawPath = qi >= 0 ? req.url.slice(0, qi) : req.url;
    const query = new URLSearchParams(qi >= 0 ? req.url.slice(qi + 1) : '');
    if (rawPath === '/_shim/health') { res.writeHead(200, { 'content-type': 'text/plain' }); return res.end('ok'); }
    if (/^\/(storage|upload|download|_internal|batch)\//.test(rawPath) || rawPath === '/') return passthrough(req, res);

    const rest = rawPath.slice(1);
    const slash = rest.indexOf('/');
    const bucket = decodeURIComponent(slash >= 0 ? rest.slice(0, slash) : rest);
    const object = slash >= 0 ? decodeURIComponent(rest.slice(slash + 1)) : '';
    const m = req.method;

    if (!object) {
      if (m === 'GET') return handleList(req, res, bucket, query);
      return passthrough(req, res);
    }
    if (m === 'PUT' && query.has('uploadId')) return handlePart(req, res, bucket, object, query);
    if (m === 'PUT' && req.headers['x-goog-copy-source'] != null) return handleCopy(req, res, bucket, object);
    if (m === 'PUT') return handlePut(req, res, bucket, object);
    if (m === 'POST' && query.has('uploads')) return handleInitiate(req, res, bucket, object);
    if (m === 'POST' && query.has('uploadId')) return handleComplete(req, res, bucket, object, query);
    if (m === 'DELETE' && query.has('uploadId')) return handleAbort(req, res, bucket, object, query);
    if (m === 'DELETE') return handleDelete(req, res, bucket, object);
    if (m === 'GET' || m === 'HEAD') return handleGet(req, res, bucket, object, query);
    return passthrough(req, res);
  }

  const server = http.createServer((req, res) => {
    const t0 = Date.now();
    res.on('finish', () => log(`${req.method} ${req.url} -> ${res.statusCode} (${Date.now() - t0} ms)`));
    route(req, res).catch((e) => {
      log(`ERROR ${req.method} ${req.url}: ${e.stack || e}`);
      if (!res.headersSent) sendXmlError(res, 500, 'InternalError', `gcs-shim: ${e.message}`);
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 30000;
  return server;
}

module.exports = { createShim };

if (require.main === module) {
  const args = process.argv.slice(2);
  const opt = (name, def) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : def; };
  const upstream = opt('upstream');
  if (!upstream) { process.stderr.write('usage: gcs-shim.js --upstream http://127.0.0.1:PORT --port P [--host 127.0.0.1] [--quiet]\n'); process.exit(2); }
  const host = opt('host', '127.0.0.1');
  const port = Number(opt('port', '0'));
  const quiet = args.includes('--quiet');
  const server = createShim({ upstream, log: quiet ? () => {} : (m) => process.stderr.write(`[gcs-shim] ${m}\n`) });
  server.listen(port, host, () => process.stderr.write(`[gcs-shim] listening on http://${host}:${server.address().port} -> ${upstream}\n`));
  for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); process.exit(0); });
}
