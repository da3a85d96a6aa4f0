/**
 * A job family on the Lambda side: its manifest (contracts/families/), the route bindings of each of
 * its route families, and the task function behind each placeholder of its state machines. In AWS
 * each of these is its own function (lib/families/); the local platform serves them all in one
 * process from these descriptors (lambdas/local/families/), and the registry tests check that both
 * wire every one.
 */
import type {
  FamilyManifest,
  MachineManifest,
  RouteFamily,
  StateMachineName,
} from '../../contracts/families/index.ts';
import type { RouteBinding } from '../http/api-handler.ts';
import type { StreamRouteBinding } from '../http/stream-handler.ts';

/** A Step Functions task or EventBridge target: its runtime and the event Lambda hands it. */
// biome-ignore lint/suspicious/noExplicitAny: each task function types its own event.
export type TaskFunction<R> = (runtime: R, event: any) => Promise<unknown>;

/** The task function behind each `${...FunctionArn}` of machine `M`: the compiler demands every one. */
export type MachineTasks<M extends StateMachineName, R> = Record<
  MachineManifest<M>['taskFunctions'][number],
  TaskFunction<R>
>;

export interface LambdaFamily<R> {
  readonly manifest: FamilyManifest;
  /** The bindings of each of its route families, over a runtime that holds the parts they use. */
  readonly routes: { readonly [F in RouteFamily]?: (runtime: R) => RouteBinding[] };
  /**
   * The bindings of its streaming route families (routes that answer `text/event-stream`): a route
   * family is served by `routes` or by these, never both.
   */
  readonly streamRoutes?: { readonly [F in RouteFamily]?: (runtime: R) => StreamRouteBinding[] };
  /** Its machines' task functions, by machine. */
  readonly tasks: { readonly [M in StateMachineName]?: MachineTasks<M, R> };
}
