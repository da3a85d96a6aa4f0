/**
 * asl-validator for the ASL tests of statemachines/: one typed loader instead of one per file, and
 * what every machine's Lambda tasks retry.
 */
import { createRequire } from 'node:module';

// asl-validator ships no types: this is the part of its API the tests use.
type AslValidator = (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
  errorsText: (sep?: string) => string;
};
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

/** asl-validator's verdict on `definition`; it adds QueryLanguage to every state it sees: it gets a copy. */
export function validateAsl(definition: unknown): ReturnType<AslValidator> {
  return aslValidator(structuredClone(definition));
}

/** What Step Functions retries on every Lambda task here: Lambda's own transient errors. */
export const LAMBDA_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.Unknown',
];
