import { describe, expect, it } from 'vitest';
import { redocPage, swaggerUiPage } from '../../../lambdas/docs/pages.ts';

const hostile = 'http://h"><script>alert(1)</script>';

describe('docs pages', () => {
  it.each([
    ['Swagger UI', swaggerUiPage],
    ['ReDoc', redocPage],
  ])('%s cannot be made to run a script through its base URL', (_, page) => {
    const html = page(hostile);

    expect(html).not.toContain('<script>alert(1)');
    expect(html.match(/<script/g)?.length).toBe(page === swaggerUiPage ? 2 : 1);
  });

  it('points Swagger UI at the API it was served from', () => {
    expect(swaggerUiPage('https://api.example.com/prod')).toContain(
      'url: "https://api.example.com/prod/openapi.json"',
    );
  });
});
