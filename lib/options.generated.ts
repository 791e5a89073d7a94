// Generated from the registry in src/storage/registry.rs by scripts/gen-options.js; do not edit.

/** Storage options Stowage knows; any spelling (camelCase, snake_case, UPPER_CASE) is accepted at run time. */
export interface KnownStorageOptions {
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  allowHttp?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  allow_http?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  awsAllowHttp?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  aws_allow_http?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  azureAllowHttp?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  azure_allow_http?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  googleAllowHttp?: string | boolean;
  /** Allow non-TLS, i.e. non-HTTPS connections. Default: false. Env: ALLOW_HTTP, AWS_ALLOW_HTTP, AZURE_ALLOW_HTTP, GOOGLE_ALLOW_HTTP. */
  google_allow_http?: string | boolean;
  /** Skip certificate validation on HTTPS connections. Default: false. Env: ALLOW_INVALID_CERTIFICATES, AWS_ALLOW_INVALID_CERTIFICATES. */
  allowInvalidCertificates?: string | boolean;
  /** Skip certificate validation on HTTPS connections. Default: false. Env: ALLOW_INVALID_CERTIFICATES, AWS_ALLOW_INVALID_CERTIFICATES. */
  allow_invalid_certificates?: string | boolean;
  /** Timeout for only the connect phase of a request. Default: 5s. Env: CONNECT_TIMEOUT. */
  connectTimeout?: string;
  /** Timeout for only the connect phase of a request. Default: 5s. Env: CONNECT_TIMEOUT. */
  connect_timeout?: string;
  /** Timeout for the entire request, from connection until the response body has finished. Default: 30s. Env: TIMEOUT. */
  timeout?: string;
  /** User agent string to use in requests. Env: USER_AGENT. */
  userAgent?: string;
  /** User agent string to use in requests. Env: USER_AGENT. */
  user_agent?: string;
  /** URL of a proxy server to use for requests. Env: PROXY_URL. */
  proxyUrl?: string;
  /** URL of a proxy server to use for requests. Env: PROXY_URL. */
  proxy_url?: string;
  /** PEM-formatted CA certificate for proxy connections. Env: PROXY_CA_CERTIFICATE. */
  proxyCaCertificate?: string;
  /** PEM-formatted CA certificate for proxy connections. Env: PROXY_CA_CERTIFICATE. */
  proxy_ca_certificate?: string;
  /** Comma-separated hosts and IP masks that bypass the proxy. Env: PROXY_EXCLUDES. */
  proxyExcludes?: string;
  /** Comma-separated hosts and IP masks that bypass the proxy. Env: PROXY_EXCLUDES. */
  proxy_excludes?: string;
  /** Only use HTTP/1 (the default; faster for bulk transfer). Set false to allow HTTP/2. Default: true. Env: HTTP1_ONLY. */
  http1Only?: string | boolean;
  /** Only use HTTP/1 (the default; faster for bulk transfer). Set false to allow HTTP/2. Default: true. Env: HTTP1_ONLY. */
  http1_only?: string | boolean;
  /** Only use HTTP/2. Default: false. Env: HTTP2_ONLY. */
  http2Only?: string | boolean;
  /** Only use HTTP/2. Default: false. Env: HTTP2_ONLY. */
  http2_only?: string | boolean;
  /** How long an idle pooled connection is kept. Env: POOL_IDLE_TIMEOUT. */
  poolIdleTimeout?: string;
  /** How long an idle pooled connection is kept. Env: POOL_IDLE_TIMEOUT. */
  pool_idle_timeout?: string;
  /** Maximum idle pooled connections per host. Env: POOL_MAX_IDLE_PER_HOST. */
  poolMaxIdlePerHost?: string | number;
  /** Maximum idle pooled connections per host. Env: POOL_MAX_IDLE_PER_HOST. */
  pool_max_idle_per_host?: string | number;
  /** How many times a failed request (5xx, timeout, reset) is retried. Default: 10. Env: CLIENT_MAX_RETRIES. */
  clientMaxRetries?: string | number;
  /** How many times a failed request (5xx, timeout, reset) is retried. Default: 10. Env: CLIENT_MAX_RETRIES. */
  client_max_retries?: string | number;
  /** How many times a failed request (5xx, timeout, reset) is retried. Default: 10. Env: CLIENT_MAX_RETRIES. */
  maxRetries?: string | number;
  /** How many times a failed request (5xx, timeout, reset) is retried. Default: 10. Env: CLIENT_MAX_RETRIES. */
  max_retries?: string | number;
  /** Total time budget for retrying one request (a bare number means seconds). Default: 180s. Env: CLIENT_RETRY_TIMEOUT. */
  clientRetryTimeout?: string | number;
  /** Total time budget for retrying one request (a bare number means seconds). Default: 180s. Env: CLIENT_RETRY_TIMEOUT. */
  client_retry_timeout?: string | number;
  /** Total time budget for retrying one request (a bare number means seconds). Default: 180s. Env: CLIENT_RETRY_TIMEOUT. */
  retryTimeout?: string | number;
  /** Total time budget for retrying one request (a bare number means seconds). Default: 180s. Env: CLIENT_RETRY_TIMEOUT. */
  retry_timeout?: string | number;
  /** Part size of multipart uploads of data files (5 MiB to 5 GiB, as S3 requires). Default: 8MiB. Env: STOWAGE_UPLOAD_PART_SIZE. */
  uploadPartSize?: string | number;
  /** Part size of multipart uploads of data files (5 MiB to 5 GiB, as S3 requires). Default: 8MiB. Env: STOWAGE_UPLOAD_PART_SIZE. */
  upload_part_size?: string | number;
  /** Part size of multipart uploads of data files (5 MiB to 5 GiB, as S3 requires). Default: 8MiB. Env: STOWAGE_UPLOAD_PART_SIZE. */
  multipartPartSize?: string | number;
  /** Part size of multipart uploads of data files (5 MiB to 5 GiB, as S3 requires). Default: 8MiB. Env: STOWAGE_UPLOAD_PART_SIZE. */
  multipart_part_size?: string | number;
  /** How many parts of one multipart upload are in flight at once. Default: 8. Env: STOWAGE_UPLOAD_CONCURRENCY. */
  uploadConcurrency?: string | number;
  /** How many parts of one multipart upload are in flight at once. Default: 8. Env: STOWAGE_UPLOAD_CONCURRENCY. */
  upload_concurrency?: string | number;
  /** How many parts of one multipart upload are in flight at once. Default: 8. Env: STOWAGE_UPLOAD_CONCURRENCY. */
  multipartConcurrency?: string | number;
  /** How many parts of one multipart upload are in flight at once. Default: 8. Env: STOWAGE_UPLOAD_CONCURRENCY. */
  multipart_concurrency?: string | number;
  /** Memory for decoded columns of data files, shared by the tables of every connection with the same size; 0 disables it. STOWAGE_CACHE_MB is read in MiB. Default: 512MiB. Env: STOWAGE_CACHE_SIZE, STOWAGE_CACHE_MB. */
  columnCacheSize?: string | number;
  /** Memory for decoded columns of data files, shared by the tables of every connection with the same size; 0 disables it. STOWAGE_CACHE_MB is read in MiB. Default: 512MiB. Env: STOWAGE_CACHE_SIZE, STOWAGE_CACHE_MB. */
  column_cache_size?: string | number;
  /** Memory for decoded columns of data files, shared by the tables of every connection with the same size; 0 disables it. STOWAGE_CACHE_MB is read in MiB. Default: 512MiB. Env: STOWAGE_CACHE_SIZE, STOWAGE_CACHE_MB. */
  cacheSize?: string | number;
  /** Memory for decoded columns of data files, shared by the tables of every connection with the same size; 0 disables it. STOWAGE_CACHE_MB is read in MiB. Default: 512MiB. Env: STOWAGE_CACHE_SIZE, STOWAGE_CACHE_MB. */
  cache_size?: string | number;
  /** The AWS access key ID to use. Env: AWS_ACCESS_KEY_ID. */
  awsAccessKeyId?: string;
  /** The AWS access key ID to use. Env: AWS_ACCESS_KEY_ID. */
  aws_access_key_id?: string;
  /** The AWS access key ID to use. Env: AWS_ACCESS_KEY_ID. */
  accessKeyId?: string;
  /** The AWS access key ID to use. Env: AWS_ACCESS_KEY_ID. */
  access_key_id?: string;
  /** The AWS secret access key to use. Env: AWS_SECRET_ACCESS_KEY. */
  awsSecretAccessKey?: string;
  /** The AWS secret access key to use. Env: AWS_SECRET_ACCESS_KEY. */
  aws_secret_access_key?: string;
  /** The AWS secret access key to use. Env: AWS_SECRET_ACCESS_KEY. */
  secretAccessKey?: string;
  /** The AWS secret access key to use. Env: AWS_SECRET_ACCESS_KEY. */
  secret_access_key?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  awsSessionToken?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  aws_session_token?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  sessionToken?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  session_token?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  awsToken?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  aws_token?: string;
  /** The AWS session token to use. Env: AWS_SESSION_TOKEN, AWS_TOKEN. */
  token?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  awsRegion?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  aws_region?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  region?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  awsDefaultRegion?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  aws_default_region?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  defaultRegion?: string;
  /** The AWS region the bucket is in (also signs DynamoDB requests). Unset, the region of the AWS profile in use, else us-east-1. Default: us-east-1. Env: AWS_REGION, AWS_DEFAULT_REGION. */
  default_region?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  awsEndpoint?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  aws_endpoint?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  endpoint?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  awsEndpointUrl?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  aws_endpoint_url?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  endpointUrl?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  endpoint_url?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  awsEndpointUrlS3?: string;
  /** The endpoint to use for S3-compatible stores. Env: AWS_ENDPOINT, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3. */
  aws_endpoint_url_s3?: string;
  /** Put the bucket name in the host name (virtual hosted-style requests). Default: false. Env: AWS_VIRTUAL_HOSTED_STYLE_REQUEST. */
  awsVirtualHostedStyleRequest?: string | boolean;
  /** Put the bucket name in the host name (virtual hosted-style requests). Default: false. Env: AWS_VIRTUAL_HOSTED_STYLE_REQUEST. */
  aws_virtual_hosted_style_request?: string | boolean;
  /** Put the bucket name in the host name (virtual hosted-style requests). Default: false. Env: AWS_VIRTUAL_HOSTED_STYLE_REQUEST. */
  virtualHostedStyleRequest?: string | boolean;
  /** Put the bucket name in the host name (virtual hosted-style requests). Default: false. Env: AWS_VIRTUAL_HOSTED_STYLE_REQUEST. */
  virtual_hosted_style_request?: string | boolean;
  /** Use S3 Express One Zone endpoints (the bucket name includes its --x-s3 suffix). Default: false. Env: AWS_S3_EXPRESS. */
  awsS3Express?: string | boolean;
  /** Use S3 Express One Zone endpoints (the bucket name includes its --x-s3 suffix). Default: false. Env: AWS_S3_EXPRESS. */
  aws_s3_express?: string | boolean;
  /** Use S3 Express One Zone endpoints (the bucket name includes its --x-s3 suffix). Default: false. Env: AWS_S3_EXPRESS. */
  s3Express?: string | boolean;
  /** Use S3 Express One Zone endpoints (the bucket name includes its --x-s3 suffix). Default: false. Env: AWS_S3_EXPRESS. */
  s3_express?: string | boolean;
  /** Server-side encryption algorithm for every object written. Env: AWS_SERVER_SIDE_ENCRYPTION. */
  awsServerSideEncryption?: string;
  /** Server-side encryption algorithm for every object written. Env: AWS_SERVER_SIDE_ENCRYPTION. */
  aws_server_side_encryption?: string;
  /** Server-side encryption algorithm for every object written. Env: AWS_SERVER_SIDE_ENCRYPTION. */
  serverSideEncryption?: string;
  /** Server-side encryption algorithm for every object written. Env: AWS_SERVER_SIDE_ENCRYPTION. */
  server_side_encryption?: string;
  /** KMS key ID for server-side encryption; needs aws_server_side_encryption aws:kms or aws:kms:dsse. Env: AWS_SSE_KMS_KEY_ID. */
  awsSseKmsKeyId?: string;
  /** KMS key ID for server-side encryption; needs aws_server_side_encryption aws:kms or aws:kms:dsse. Env: AWS_SSE_KMS_KEY_ID. */
  aws_sse_kms_key_id?: string;
  /** KMS key ID for server-side encryption; needs aws_server_side_encryption aws:kms or aws:kms:dsse. Env: AWS_SSE_KMS_KEY_ID. */
  sseKmsKeyId?: string;
  /** KMS key ID for server-side encryption; needs aws_server_side_encryption aws:kms or aws:kms:dsse. Env: AWS_SSE_KMS_KEY_ID. */
  sse_kms_key_id?: string;
  /** Use S3 bucket keys for server-side encryption. Env: AWS_SSE_BUCKET_KEY_ENABLED. */
  awsSseBucketKeyEnabled?: string | boolean;
  /** Use S3 bucket keys for server-side encryption. Env: AWS_SSE_BUCKET_KEY_ENABLED. */
  aws_sse_bucket_key_enabled?: string | boolean;
  /** Use S3 bucket keys for server-side encryption. Env: AWS_SSE_BUCKET_KEY_ENABLED. */
  sseBucketKeyEnabled?: string | boolean;
  /** Use S3 bucket keys for server-side encryption. Env: AWS_SSE_BUCKET_KEY_ENABLED. */
  sse_bucket_key_enabled?: string | boolean;
  /** Base64 customer-provided key for SSE-C. Env: AWS_SSE_CUSTOMER_KEY_BASE64. */
  awsSseCustomerKeyBase64?: string;
  /** Base64 customer-provided key for SSE-C. Env: AWS_SSE_CUSTOMER_KEY_BASE64. */
  aws_sse_customer_key_base64?: string;
  /** Base64 customer-provided key for SSE-C. Env: AWS_SSE_CUSTOMER_KEY_BASE64. */
  sseCustomerKeyBase64?: string;
  /** Base64 customer-provided key for SSE-C. Env: AWS_SSE_CUSTOMER_KEY_BASE64. */
  sse_customer_key_base64?: string;
  /** How commits are made atomic on S3: `etag` (If-None-Match, the default) or `disabled` (unsafe with concurrent writers; use s3+ddb instead). Default: etag. Env: AWS_CONDITIONAL_PUT. */
  awsConditionalPut?: string;
  /** How commits are made atomic on S3: `etag` (If-None-Match, the default) or `disabled` (unsafe with concurrent writers; use s3+ddb instead). Default: etag. Env: AWS_CONDITIONAL_PUT. */
  aws_conditional_put?: string;
  /** How commits are made atomic on S3: `etag` (If-None-Match, the default) or `disabled` (unsafe with concurrent writers; use s3+ddb instead). Default: etag. Env: AWS_CONDITIONAL_PUT. */
  conditionalPut?: string;
  /** How commits are made atomic on S3: `etag` (If-None-Match, the default) or `disabled` (unsafe with concurrent writers; use s3+ddb instead). Default: etag. Env: AWS_CONDITIONAL_PUT. */
  conditional_put?: string;
  /** Named profile for the AWS credential chain (~/.aws/config, SSO). Env: AWS_PROFILE. */
  awsProfile?: string;
  /** Named profile for the AWS credential chain (~/.aws/config, SSO). Env: AWS_PROFILE. */
  aws_profile?: string;
  /** Named profile for the AWS credential chain (~/.aws/config, SSO). Env: AWS_PROFILE. */
  profile?: string;
  /** Skip payload hashing when signing PUT requests. Env: AWS_UNSIGNED_PAYLOAD. */
  awsUnsignedPayload?: string | boolean;
  /** Skip payload hashing when signing PUT requests. Env: AWS_UNSIGNED_PAYLOAD. */
  aws_unsigned_payload?: string | boolean;
  /** Skip payload hashing when signing PUT requests. Env: AWS_UNSIGNED_PAYLOAD. */
  unsignedPayload?: string | boolean;
  /** Skip payload hashing when signing PUT requests. Env: AWS_UNSIGNED_PAYLOAD. */
  unsigned_payload?: string | boolean;
  /** Checksum algorithm sent with uploads. Env: AWS_CHECKSUM_ALGORITHM. */
  awsChecksumAlgorithm?: string;
  /** Checksum algorithm sent with uploads. Env: AWS_CHECKSUM_ALGORITHM. */
  aws_checksum_algorithm?: string;
  /** Checksum algorithm sent with uploads. Env: AWS_CHECKSUM_ALGORITHM. */
  checksumAlgorithm?: string;
  /** Checksum algorithm sent with uploads. Env: AWS_CHECKSUM_ALGORITHM. */
  checksum_algorithm?: string;
  /** Fall back to IMDSv1 for instance credentials. Env: AWS_IMDSV1_FALLBACK. */
  awsImdsv1Fallback?: string | boolean;
  /** Fall back to IMDSv1 for instance credentials. Env: AWS_IMDSV1_FALLBACK. */
  aws_imdsv1_fallback?: string | boolean;
  /** Fall back to IMDSv1 for instance credentials. Env: AWS_IMDSV1_FALLBACK. */
  imdsv1Fallback?: string | boolean;
  /** Fall back to IMDSv1 for instance credentials. Env: AWS_IMDSV1_FALLBACK. */
  imdsv1_fallback?: string | boolean;
  /** Instance metadata endpoint. Env: AWS_METADATA_ENDPOINT. */
  awsMetadataEndpoint?: string;
  /** Instance metadata endpoint. Env: AWS_METADATA_ENDPOINT. */
  aws_metadata_endpoint?: string;
  /** Instance metadata endpoint. Env: AWS_METADATA_ENDPOINT. */
  metadataEndpoint?: string;
  /** Instance metadata endpoint. Env: AWS_METADATA_ENDPOINT. */
  metadata_endpoint?: string;
  /** Send unsigned requests (public buckets). Env: AWS_SKIP_SIGNATURE. */
  awsSkipSignature?: string | boolean;
  /** Send unsigned requests (public buckets). Env: AWS_SKIP_SIGNATURE. */
  aws_skip_signature?: string | boolean;
  /** Send unsigned requests (public buckets). Env: AWS_SKIP_SIGNATURE. */
  skipSignature?: string | boolean;
  /** Send unsigned requests (public buckets). Env: AWS_SKIP_SIGNATURE. */
  skip_signature?: string | boolean;
  /** Do not send object tags. Env: AWS_DISABLE_TAGGING. */
  awsDisableTagging?: string | boolean;
  /** Do not send object tags. Env: AWS_DISABLE_TAGGING. */
  aws_disable_tagging?: string | boolean;
  /** Do not send object tags. Env: AWS_DISABLE_TAGGING. */
  disableTagging?: string | boolean;
  /** Do not send object tags. Env: AWS_DISABLE_TAGGING. */
  disable_tagging?: string | boolean;
  /** Accept requester-pays charges. Env: AWS_REQUEST_PAYER. */
  awsRequestPayer?: string | boolean;
  /** Accept requester-pays charges. Env: AWS_REQUEST_PAYER. */
  aws_request_payer?: string | boolean;
  /** Accept requester-pays charges. Env: AWS_REQUEST_PAYER. */
  requestPayer?: string | boolean;
  /** Accept requester-pays charges. Env: AWS_REQUEST_PAYER. */
  request_payer?: string | boolean;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  dynamodbEndpoint?: string;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  dynamodb_endpoint?: string;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  awsDynamodbEndpoint?: string;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  aws_dynamodb_endpoint?: string;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  ddbEndpoint?: string;
  /** DynamoDB endpoint for the s3+ddb commit store (defaults to the S3 endpoint when one is set). Env: DYNAMODB_ENDPOINT, AWS_ENDPOINT_URL_DYNAMODB. */
  ddb_endpoint?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  googleServiceAccount?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  google_service_account?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  serviceAccount?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  service_account?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  googleServiceAccountPath?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  google_service_account_path?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  serviceAccountPath?: string;
  /** Path to the service account JSON file. Env: GOOGLE_SERVICE_ACCOUNT, GOOGLE_SERVICE_ACCOUNT_PATH. */
  service_account_path?: string;
  /** The serialized service account key (JSON). Env: GOOGLE_SERVICE_ACCOUNT_KEY. */
  googleServiceAccountKey?: string;
  /** The serialized service account key (JSON). Env: GOOGLE_SERVICE_ACCOUNT_KEY. */
  google_service_account_key?: string;
  /** The serialized service account key (JSON). Env: GOOGLE_SERVICE_ACCOUNT_KEY. */
  serviceAccountKey?: string;
  /** The serialized service account key (JSON). Env: GOOGLE_SERVICE_ACCOUNT_KEY. */
  service_account_key?: string;
  /** Path to the application credentials. Env: GOOGLE_APPLICATION_CREDENTIALS. */
  googleApplicationCredentials?: string;
  /** Path to the application credentials. Env: GOOGLE_APPLICATION_CREDENTIALS. */
  google_application_credentials?: string;
  /** Path to the application credentials. Env: GOOGLE_APPLICATION_CREDENTIALS. */
  applicationCredentials?: string;
  /** Path to the application credentials. Env: GOOGLE_APPLICATION_CREDENTIALS. */
  application_credentials?: string;
  /** A static OAuth bearer token. Env: GOOGLE_BEARER_TOKEN. */
  googleBearerToken?: string;
  /** A static OAuth bearer token. Env: GOOGLE_BEARER_TOKEN. */
  google_bearer_token?: string;
  /** A static OAuth bearer token. Env: GOOGLE_BEARER_TOKEN. */
  bearerToken?: string;
  /** A static OAuth bearer token. Env: GOOGLE_BEARER_TOKEN. */
  bearer_token?: string;
  /** Override the GCS endpoint (e.g. a local emulator); a service account's gcs_base_url also sets it. Env: GOOGLE_BASE_URL. */
  googleBaseUrl?: string;
  /** Override the GCS endpoint (e.g. a local emulator); a service account's gcs_base_url also sets it. Env: GOOGLE_BASE_URL. */
  google_base_url?: string;
  /** Override the GCS endpoint (e.g. a local emulator); a service account's gcs_base_url also sets it. Env: GOOGLE_BASE_URL. */
  baseUrl?: string;
  /** Override the GCS endpoint (e.g. a local emulator); a service account's gcs_base_url also sets it. Env: GOOGLE_BASE_URL. */
  base_url?: string;
  /** Send unauthenticated requests (public buckets). Env: GOOGLE_SKIP_SIGNATURE. */
  googleSkipSignature?: string | boolean;
  /** Send unauthenticated requests (public buckets). Env: GOOGLE_SKIP_SIGNATURE. */
  google_skip_signature?: string | boolean;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  azureStorageAccountName?: string;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  azure_storage_account_name?: string;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  storageAccountName?: string;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  storage_account_name?: string;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  accountName?: string;
  /** The name of the Azure storage account. Env: AZURE_STORAGE_ACCOUNT_NAME. */
  account_name?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azureStorageAccountKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azure_storage_account_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  storageAccountKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  storage_account_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  accountKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  account_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  accessKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  access_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azureStorageAccessKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azure_storage_access_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azureStorageMasterKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  azure_storage_master_key?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  masterKey?: string;
  /** The storage account's shared key. Env: AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_ACCESS_KEY. */
  master_key?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  azureClientId?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  azure_client_id?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  clientId?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  client_id?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  azureStorageClientId?: string;
  /** Service principal client id. Env: AZURE_CLIENT_ID, AZURE_STORAGE_CLIENT_ID. */
  azure_storage_client_id?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  azureClientSecret?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  azure_client_secret?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  clientSecret?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  client_secret?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  azureStorageClientSecret?: string;
  /** Service principal client secret. Env: AZURE_CLIENT_SECRET, AZURE_STORAGE_CLIENT_SECRET. */
  azure_storage_client_secret?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azureTenantId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azure_tenant_id?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  tenantId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  tenant_id?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azureStorageTenantId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azure_storage_tenant_id?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azureAuthorityId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azure_authority_id?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azureStorageAuthorityId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  azure_storage_authority_id?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  authorityId?: string;
  /** Tenant id used in OAuth flows. Env: AZURE_TENANT_ID, AZURE_STORAGE_TENANT_ID. */
  authority_id?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  azureStorageSasKey?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  azure_storage_sas_key?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  storageSasKey?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  storage_sas_key?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  azureStorageSasToken?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  azure_storage_sas_token?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  sasKey?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  sas_key?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  sasToken?: string;
  /** Shared access signature, percent-encoded as the portal gives it. Env: AZURE_STORAGE_SAS_KEY, AZURE_STORAGE_SAS_TOKEN. */
  sas_token?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  azureStorageToken?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  azure_storage_token?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  storageToken?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  storage_token?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  azureStorageBearerToken?: string;
  /** Bearer token. Env: AZURE_STORAGE_TOKEN. */
  azure_storage_bearer_token?: string;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  azureStorageUseEmulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  azure_storage_use_emulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  storageUseEmulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  storage_use_emulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  useEmulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  use_emulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  azureUseEmulator?: string | boolean;
  /** Use the Azurite storage emulator (devstoreaccount1 on 127.0.0.1:10000 unless an endpoint is given). Env: AZURE_STORAGE_USE_EMULATOR. */
  azure_use_emulator?: string | boolean;
  /** Override the endpoint used to communicate with blob storage. Env: AZURE_STORAGE_ENDPOINT, AZURE_ENDPOINT. */
  azureEndpoint?: string;
  /** Override the endpoint used to communicate with blob storage. Env: AZURE_STORAGE_ENDPOINT, AZURE_ENDPOINT. */
  azure_endpoint?: string;
  /** Override the endpoint used to communicate with blob storage. Env: AZURE_STORAGE_ENDPOINT, AZURE_ENDPOINT. */
  azureStorageEndpoint?: string;
  /** Override the endpoint used to communicate with blob storage. Env: AZURE_STORAGE_ENDPOINT, AZURE_ENDPOINT. */
  azure_storage_endpoint?: string;
  /** Use account.dfs.fabric.microsoft.com endpoints. Env: AZURE_USE_FABRIC_ENDPOINT. */
  azureUseFabricEndpoint?: string | boolean;
  /** Use account.dfs.fabric.microsoft.com endpoints. Env: AZURE_USE_FABRIC_ENDPOINT. */
  azure_use_fabric_endpoint?: string | boolean;
  /** Use account.dfs.fabric.microsoft.com endpoints. Env: AZURE_USE_FABRIC_ENDPOINT. */
  useFabricEndpoint?: string | boolean;
  /** Use account.dfs.fabric.microsoft.com endpoints. Env: AZURE_USE_FABRIC_ENDPOINT. */
  use_fabric_endpoint?: string | boolean;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  azureMsiEndpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  azure_msi_endpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  msiEndpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  msi_endpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  azureIdentityEndpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  azure_identity_endpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  identityEndpoint?: string;
  /** Endpoint to request an IMDS managed identity token. Env: AZURE_MSI_ENDPOINT, IDENTITY_ENDPOINT. */
  identity_endpoint?: string;
  /** Object id for managed identity authentication. Env: AZURE_OBJECT_ID. */
  azureObjectId?: string;
  /** Object id for managed identity authentication. Env: AZURE_OBJECT_ID. */
  azure_object_id?: string;
  /** Object id for managed identity authentication. Env: AZURE_OBJECT_ID. */
  objectId?: string;
  /** Object id for managed identity authentication. Env: AZURE_OBJECT_ID. */
  object_id?: string;
  /** MSI resource id for managed identity authentication. Env: AZURE_MSI_RESOURCE_ID. */
  azureMsiResourceId?: string;
  /** MSI resource id for managed identity authentication. Env: AZURE_MSI_RESOURCE_ID. */
  azure_msi_resource_id?: string;
  /** MSI resource id for managed identity authentication. Env: AZURE_MSI_RESOURCE_ID. */
  msiResourceId?: string;
  /** MSI resource id for managed identity authentication. Env: AZURE_MSI_RESOURCE_ID. */
  msi_resource_id?: string;
  /** File with a token for Azure AD workload identity federation. Env: AZURE_FEDERATED_TOKEN_FILE. */
  azureFederatedTokenFile?: string;
  /** File with a token for Azure AD workload identity federation. Env: AZURE_FEDERATED_TOKEN_FILE. */
  azure_federated_token_file?: string;
  /** File with a token for Azure AD workload identity federation. Env: AZURE_FEDERATED_TOKEN_FILE. */
  federatedTokenFile?: string;
  /** File with a token for Azure AD workload identity federation. Env: AZURE_FEDERATED_TOKEN_FILE. */
  federated_token_file?: string;
  /** Use the Azure CLI to acquire an access token. Env: AZURE_USE_AZURE_CLI. */
  azureUseAzureCli?: string | boolean;
  /** Use the Azure CLI to acquire an access token. Env: AZURE_USE_AZURE_CLI. */
  azure_use_azure_cli?: string | boolean;
  /** Use the Azure CLI to acquire an access token. Env: AZURE_USE_AZURE_CLI. */
  useAzureCli?: string | boolean;
  /** Use the Azure CLI to acquire an access token. Env: AZURE_USE_AZURE_CLI. */
  use_azure_cli?: string | boolean;
  /** Do not tag objects (for stores that do not support it). Env: AZURE_DISABLE_TAGGING. */
  azureDisableTagging?: string | boolean;
  /** Do not tag objects (for stores that do not support it). Env: AZURE_DISABLE_TAGGING. */
  azure_disable_tagging?: string | boolean;
  /** Send unsigned requests (public containers). Env: AZURE_SKIP_SIGNATURE. */
  azureSkipSignature?: string | boolean;
  /** Send unsigned requests (public containers). Env: AZURE_SKIP_SIGNATURE. */
  azure_skip_signature?: string | boolean;
}
