/**
 * The account and region the local platform plays AWS in: every ARN it makes names them. The
 * emulators ignore regions, but the SDK needs one and the AWS CLI must sign with the same.
 */
export const LOCAL_REGION = 'us-east-1';
export const LOCAL_ACCOUNT_ID = '000000000000';
