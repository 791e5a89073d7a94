/**
 * moto IAM calls (signed with the s3auth endpoint's allow-all key): users with one inline policy and
 * access keys, for the credential-provider and doctor suites.
 */
import type { S3Endpoint } from "./emulators";
import { s3Request } from "./emulators";

export async function iamCall(s3: S3Endpoint, params: Record<string, string>): Promise<string> {
  const body = new URLSearchParams({ Version: "2010-05-08", ...params }).toString();
  const r = await s3Request(s3, "POST", "", "", {
    service: "iam",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
  });
  if (r.status !== 200) throw new Error(`IAM ${params.Action}: HTTP ${r.status} ${r.text().slice(0, 400)}`);
  return r.text();
}

export interface AccessKey {
  accessKeyId: string;
  secretAccessKey: string;
}

export async function createUser(s3: S3Endpoint, userName: string, policy: unknown): Promise<void> {
  await iamCall(s3, { Action: "CreateUser", UserName: userName });
  await iamCall(s3, { Action: "PutUserPolicy", UserName: userName, PolicyName: "p", PolicyDocument: JSON.stringify(policy) });
}

export async function createAccessKey(s3: S3Endpoint, userName: string): Promise<AccessKey> {
  const xml = await iamCall(s3, { Action: "CreateAccessKey", UserName: userName });
  return {
    accessKeyId: /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(xml)![1],
    secretAccessKey: /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(xml)![1],
  };
}

export async function deleteAccessKey(s3: S3Endpoint, userName: string, accessKeyId: string): Promise<void> {
  await iamCall(s3, { Action: "DeleteAccessKey", UserName: userName, AccessKeyId: accessKeyId });
}

export const ALLOW_ALL = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] };
