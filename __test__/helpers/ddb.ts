/**
 * DynamoDB calls against moto (same port as S3), as signed JSON requests (SigV4, service "dynamodb"),
 * for the s3+ddb tests: create the commit table, read and write its items directly.
 */
import type { S3Endpoint } from "./emulators";
import { s3Request } from "./emulators";

export async function ddbCall(s3: S3Endpoint, op: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await s3Request(s3, "POST", "", "", {
    service: "dynamodb",
    body: JSON.stringify(body),
    headers: { "x-amz-target": `DynamoDB_20120810.${op}`, "content-type": "application/x-amz-json-1.0" },
  });
  if (r.status !== 200) throw new Error(`DynamoDB ${op}: HTTP ${r.status} ${r.body.toString().slice(0, 500)}`);
  return JSON.parse(r.body.toString() || "{}");
}

/** A commit table with the schema stowage requires (hash base_uri S, range version N). */
export async function ddbCreateTable(s3: S3Endpoint, name: string): Promise<void> {
  await ddbCall(s3, "CreateTable", {
    TableName: name,
    KeySchema: [
      { AttributeName: "base_uri", KeyType: "HASH" },
      { AttributeName: "version", KeyType: "RANGE" },
    ],
    AttributeDefinitions: [
      { AttributeName: "base_uri", AttributeType: "S" },
      { AttributeName: "version", AttributeType: "N" },
    ],
    BillingMode: "PAY_PER_REQUEST",
  });
}

export interface CommitItem {
  version: number;
  staged?: string;
  complete?: boolean;
}

function parseItem(it: Record<string, Record<string, unknown>>): CommitItem {
  return {
    version: Number(it.version.N),
    staged: it.staged?.S as string | undefined,
    complete: it.complete?.BOOL as boolean | undefined,
  };
}

/** Every item of one table (base_uri = s3://bucket/<table dir>), ascending by version. */
export async function ddbItems(s3: S3Endpoint, table: string, baseUri: string): Promise<CommitItem[]> {
  const j = await ddbCall(s3, "Query", {
    TableName: table,
    KeyConditionExpression: "base_uri = :b",
    ExpressionAttributeValues: { ":b": { S: baseUri } },
    ConsistentRead: true,
  });
  return ((j.Items ?? []) as Record<string, Record<string, unknown>>[]).map(parseItem);
}

export async function ddbGetItem(s3: S3Endpoint, table: string, baseUri: string, version: number): Promise<CommitItem | null> {
  const j = await ddbCall(s3, "GetItem", {
    TableName: table,
    Key: { base_uri: { S: baseUri }, version: { N: String(version) } },
    ConsistentRead: true,
  });
  return j.Item ? parseItem(j.Item as Record<string, Record<string, unknown>>) : null;
}

export async function ddbPutItem(s3: S3Endpoint, table: string, baseUri: string, item: Required<CommitItem>): Promise<void> {
  await ddbCall(s3, "PutItem", {
    TableName: table,
    Item: {
      base_uri: { S: baseUri },
      version: { N: String(item.version) },
      staged: { S: item.staged },
      complete: { BOOL: item.complete },
    },
    ConditionExpression: "attribute_not_exists(version)",
  });
}

/** The object name of a version's manifest: u64::MAX - v, zero-padded to 20 digits (BigInt: > 2^53). */
export function manifestName(version: number): string {
  return `${(18446744073709551615n - BigInt(version)).toString().padStart(20, "0")}.manifest`;
}
