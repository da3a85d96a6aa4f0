/** Step Functions' callback pattern: sends a task token back to the step that waits on it. */
import {
  SendTaskFailureCommand,
  SendTaskHeartbeatCommand,
  SendTaskSuccessCommand,
  type SFNClient,
} from '@aws-sdk/client-sfn';
import type { TaskCallbacks } from '../../domain/ports.ts';

/** Step Functions caps `cause` at 32,768 characters and `error` at 256. */
const MAX_CAUSE = 32_768;
const MAX_ERROR = 256;

export class StepFunctionsTaskCallbacks implements TaskCallbacks {
  constructor(private readonly sfn: SFNClient) {}

  async succeed(token: string, output: Record<string, unknown>): Promise<void> {
    await this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output) }));
  }

  async fail(token: string, error: string, cause: string): Promise<void> {
    await this.sfn.send(
      new SendTaskFailureCommand({
        taskToken: token,
        error: error.slice(0, MAX_ERROR),
        cause: cause.slice(0, MAX_CAUSE),
      }),
    );
  }

  async heartbeat(token: string): Promise<void> {
    await this.sfn.send(new SendTaskHeartbeatCommand({ taskToken: token }));
  }
}
