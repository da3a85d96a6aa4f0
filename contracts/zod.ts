import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { ZodType, type z } from 'zod';

// Every contract imports zod from here, so `.openapi(...)` metadata is always available. The
// extension reads nothing but `ZodType` from what it is given: handing it the whole `z` namespace
// would keep all of zod (every locale, the JSON Schema converters) in every Lambda bundle.
extendZodWithOpenApi({ ZodType } as unknown as typeof z);

// Import it as `import * as z from './zod.ts'`: esbuild then keeps only the zod functions a bundle
// calls. A named `import { z }` makes it keep the whole library (test/bench/bundle.test.ts).
export * from 'zod';
