import { type AwsClients, awsClientsFor } from '../../lambdas/adapters/clients.ts';
import {
  type EmulatorOptions,
  type RunningEmulators,
  startEmulators,
} from '../../lambdas/local/storage/emulators.ts';
import { useFixture } from './fixture.ts';

export interface EmulatorFixture {
  readonly emulators: RunningEmulators;
  readonly clients: AwsClients;
}

/**
 * Starts dynalite and s3rver once for the calling test file (beforeAll) and stops them after it
 * (afterAll). Read the fixture's fields inside tests and hooks, once the emulators are up.
 */
export function useEmulators(options: EmulatorOptions = {}): EmulatorFixture {
  const fixture = useFixture(
    async () => {
      const emulators = await startEmulators(options);
      return { emulators, clients: awsClientsFor(emulators) };
    },
    async ({ emulators, clients }) => {
      clients.destroy();
      await emulators.stop();
    },
  );
  return {
    get emulators() {
      return fixture.get().emulators;
    },
    get clients() {
      return fixture.get().clients;
    },
  };
}
