import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

// Every contract imports zod from here, so `.openapi(...)` metadata is always available.
extendZodWithOpenApi(z);

export { z };
