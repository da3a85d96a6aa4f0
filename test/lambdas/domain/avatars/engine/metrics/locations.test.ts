import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { locationsOf } from '../../../../../../lambdas/domain/avatars/engine/metrics/locations.ts';

describe('locationsOf', () => {
  it('makes one location of identical points, −0 and 0 alike, and keeps distinct ones apart', () => {
    // Prepare
    const points = { data: Float64Array.from([1, 2, 0, 0, 1, 2, -0, 0, 1, 2.5]), count: 5, dims: 2 };

    // Act
    const { locationOf, points: distinct } = locationsOf(points);

    // Assess
    expect(Array.from(locationOf)).toEqual([0, 1, 0, 1, 2]);
    expect(Array.from(distinct.data)).toEqual([1, 2, 0, 0, 1, 2.5]);
  });

  it('groups exactly the equal points, each location listing its points by increasing index (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 0, maxLength: 150 }),
        (dims, values) => {
          // Prepare
          const count = Math.floor(values.length / dims);
          const data = Float64Array.from(values.slice(0, count * dims).map((value) => value / 2));

          // Act
          const { locationOf, points, memberStarts, members } = locationsOf({ data, count, dims });

          // Assess: same location exactly when same coordinates; its point is theirs.
          const key = (i: number) => Array.from(data.subarray(i * dims, (i + 1) * dims)).join(',');
          for (let i = 0; i < count; i++) {
            const location = locationOf[i]!;
            expect(Array.from(points.data.subarray(location * dims, (location + 1) * dims)).join(',')).toBe(
              key(i),
            );
            for (let j = 0; j < i; j++) expect(locationOf[j] === location).toBe(key(j) === key(i));
          }
          expect(points.count).toBe(new Set(Array.from({ length: count }, (_, i) => key(i))).size);
          for (let location = 0; location < points.count; location++) {
            const listed = Array.from(members.subarray(memberStarts[location]!, memberStarts[location + 1]!));
            expect(listed).toEqual(
              Array.from({ length: count }, (_, i) => i).filter((i) => locationOf[i] === location),
            );
          }
        },
      ),
    );
  });
});
