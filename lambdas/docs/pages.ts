/**
 * Swagger UI and ReDoc pages, with their scripts served by this API itself: the docs work on a
 * laptop with no network, and in a deployed stack without a third-party CDN.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Asset name (as served under /docs/) -> package file. */
export const DOCS_ASSETS: Record<string, { file: string; contentType: string }> = {
  'swagger-ui-bundle.js': {
    file: 'swagger-ui-dist/swagger-ui-bundle.js',
    contentType: 'application/javascript',
  },
  'swagger-ui.css': { file: 'swagger-ui-dist/swagger-ui.css', contentType: 'text/css' },
  'redoc.standalone.js': { file: 'redoc/bundles/redoc.standalone.js', contentType: 'application/javascript' },
};

const cache = new Map<string, string>();

/**
 * In Lambda the bundler copies the assets next to the handler (`docs-assets/`); locally they are
 * read from node_modules.
 */
export function readDocsAsset(name: string): { body: string; contentType: string } | undefined {
  const asset = Object.hasOwn(DOCS_ASSETS, name) ? DOCS_ASSETS[name] : undefined;
  if (!asset) return undefined;
  let body = cache.get(name);
  if (body === undefined) {
    const here = dirname(fileURLToPath(import.meta.url));
    const bundled = join(here, 'docs-assets', name);
    const path = existsSync(bundled) ? bundled : createRequire(import.meta.url).resolve(asset.file);
    body = readFileSync(path, 'utf8');
    cache.set(name, body);
  }
  return { body, contentType: asset.contentType };
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
/** A JS string literal that cannot close the <script> element it sits in. */
const scriptString = (text: string) => JSON.stringify(text).replace(/</g, '\\u003c');

/** `base` is the API's base URL as the browser reached it (with the stage prefix, if any). */
export function swaggerUiPage(rawBase: string): string {
  const base = escapeHtml(rawBase);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SynthForge API — Swagger UI</title>
<link rel="stylesheet" href="${base}/docs/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="${base}/docs/swagger-ui-bundle.js"></script>
<script>window.ui = SwaggerUIBundle({ url: ${scriptString(`${rawBase}/openapi.json`)}, dom_id: '#swagger-ui', persistAuthorization: true });</script>
</body></html>`;
}

export function redocPage(rawBase: string): string {
  const base = escapeHtml(rawBase);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SynthForge API — ReDoc</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="${base}/openapi.json"></redoc>
<script src="${base}/docs/redoc.standalone.js"></script>
</body></html>`;
}
