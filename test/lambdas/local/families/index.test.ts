/**
 * The registry of families on the local platform: everything a family registers is wired, and
 * nothing the platform serves comes from anywhere else. These are the lists the platform derives
 * (route table, task bindings, machines), checked against the manifests (contracts/families/) they
 * must agree with; cancel and resume across families are exercised by test/api and
 * test/lambdas/local/platform.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FAMILIES, ROUTE_FAMILIES, STATE_MACHINES } from '../../../../contracts/families/index.ts';
import { ROUTE_LIST } from '../../../../contracts/routes.ts';
import { LOCAL_FAMILIES } from '../../../../lambdas/local/families/index.ts';
import { TASK_FUNCTIONS } from '../../../../statemachines/definitions.ts';
import { usePlatform } from '../../../support/platform.ts';

const fixture = usePlatform();

describe('LOCAL_FAMILIES', () => {
  it('registers every family of the contract once, with its own manifest', () => {
    // Act
    const registered = LOCAL_FAMILIES.map((family) => family.lambdas.manifest);

    // Assess
    expect(registered).toEqual([...FAMILIES]);
  });

  it.each(ROUTE_FAMILIES.map((routeFamily) => [routeFamily]))(
    'binds every route of the route family %s, in the family that registers it, and nothing else',
    (routeFamily) => {
      // Prepare
      const owners = LOCAL_FAMILIES.filter(
        (family) =>
          family.lambdas.routes[routeFamily] !== undefined ||
          family.lambdas.streamRoutes?.[routeFamily] !== undefined,
      );
      const expected = ROUTE_LIST.filter((route) => route.family === routeFamily).map(
        (route) => route.operationId,
      );

      // Act
      const bound = owners.flatMap((family) => [
        ...(family.lambdas.routes[routeFamily]?.(fixture.platform.runtime) ?? []),
        ...(family.lambdas.streamRoutes?.[routeFamily]?.(fixture.platform.runtime) ?? []),
      ]);

      // Assess
      expect(owners.map((family) => family.lambdas.manifest.name)).toEqual(
        FAMILIES.filter((manifest) =>
          (manifest.routeFamilies as readonly string[]).includes(routeFamily),
        ).map((manifest) => manifest.name),
      );
      expect(bound.map((binding) => binding.route.operationId).sort()).toEqual(expected.sort());
    },
  );

  it.each(STATE_MACHINES.map((machine) => [machine.name, machine.family]))(
    'runs the state machine %s of %s with a task function behind each of its placeholders',
    (name, familyName) => {
      // Prepare
      const family = LOCAL_FAMILIES.find((candidate) => candidate.lambdas.manifest.name === familyName);
      const tasks = family?.lambdas.tasks[name] as Record<string, unknown> | undefined;

      // Act
      const machine = fixture.platform.workflows[name];

      // Assess
      expect(Object.keys(tasks ?? {}).sort()).toEqual([...TASK_FUNCTIONS[name]].sort());
      expect(Object.values(tasks ?? {}).every((task) => typeof task === 'function')).toBe(true);
      expect(machine, `no local runner for ${name}`).toBeDefined();
      expect(machine.executionIdOf('01JD3X2K8Q7YV4N6B5M9T0RWZC')).toMatch(
        /:execution:synthforge-[a-z-]+:01JD3X2K8Q7YV4N6B5M9T0RWZC$/,
      );
    },
  );

  it('runs no machine that no family registers', () => {
    // Assess
    expect(Object.keys(fixture.platform.workflows).sort()).toEqual(
      STATE_MACHINES.map((machine) => machine.name).sort(),
    );
  });
});
