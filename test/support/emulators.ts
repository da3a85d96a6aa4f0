import { afterAll, beforeAll } from 'vitest';
import { type AwsClients, awsClientsFor } from '../../lambdas/adapters/clients.ts';
import {
  type EmulatorOptions,
  type RunningEmulators,
  startEmulators,
} from '../../lambdas/local/emulators.ts';

export interface EmulatorFixture {
  readonly emulators: RunningEmulators;
  readonly clients: AwsClients;
}

/**
 * Starts dynalite and s3rver once for the calling test file (beforeAll) and stops them after it
 * (afterAll). Read the fixture's fields inside tests and hooks, once the emulators are up.
 */
export function useEmulators(options: EmulatorOptions = {}): EmulatorFixture {
  let running: { emulators: RunningEmulators; clients: AwsClients } | undefined;

  beforeAll(async () => {
    const emulators = await startEmulators(options);
    running = { emulators, clients: awsClientsFor(emulators) };
  });

  afterAll(async () => {
    running?.clients.destroy();
    await running?.emulators.stop();
    running = undefined;
  });

  const started = () => {
    if (running === undefined)
      throw new Error('the emulators are not running: use the fixture inside a test');
    return running;
  };
  return {
    get emulators() {
      return started().emulators;
    },
    get clients() {
      return started().clients;
    },
  };
}
