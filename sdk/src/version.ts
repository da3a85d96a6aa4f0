/** The SDK's version, from its package.json, for the User-Agent and `synthforge --version`. */
import packageJson from '../package.json' with { type: 'json' };

export const SDK_VERSION: string = packageJson.version;
