/** `s3://bucket/key` URIs, as the local SageMaker hosts receive them in requests. */

export interface S3Location {
  bucket: string;
  key: string;
}

export function tryParseS3Uri(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
  return match ? { bucket: match[1] ?? '', key: match[2] ?? '' } : undefined;
}

export function parseS3Uri(uri: string): S3Location {
  const location = tryParseS3Uri(uri);
  if (!location) throw new Error(`not an S3 URI: ${uri}`);
  return location;
}
