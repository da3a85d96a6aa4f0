/**
 * The layers of lambdas/, read from the sources: the domain (lambdas/domain/) imports no HTTP, AWS or
 * platform module, neither itself nor through what it imports, so that each family's logic can be
 * read, tested and reused without Lambda, API Gateway or the local platform; and no source file
 * grows past 500 lines without saying at its top why it may.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LAMBDAS = join(ROOT, 'lambdas');
const DOMAIN = join(LAMBDAS, 'domain');

/** The layers above the domain: the domain may not import them. */
const OUTER_LAYERS = ['http', 'handlers', 'adapters', 'local'].map((layer) => join(LAMBDAS, layer));

/** Packages of HTTP, Lambda and AWS: the adapters, handlers and stack use them, the domain never. */
const AWS_PACKAGES = ['@aws-sdk/', 'aws-lambda', '@middy/', '@aws-lambda-powertools/', 'aws-cdk-lib'];

const MAX_LINES = 500;
const REASON = 'Longer than 500 lines because';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return tsFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const shown = (path: string) => relative(ROOT, path).split(sep).join('/');

/**
 * The source without its comments, strings kept: an import written in a comment is no import,
 * and `//` inside a string (a URL) starts no comment.
 */
function withoutComments(source: string): string {
  let out = '';
  let index = 0;
  while (index < source.length) {
    const char = source[index] as string;
    const next = source[index + 1];
    if (char === '/' && next === '/') {
      const end = source.indexOf('\n', index);
      index = end === -1 ? source.length : end;
    } else if (char === '/' && next === '*') {
      const end = source.indexOf('*/', index + 2);
      index = end === -1 ? source.length : end + 2;
      out += ' ';
    } else if (char === "'" || char === '"' || char === '`') {
      let end = index + 1;
      while (end < source.length && source[end] !== char) end += source[end] === '\\' ? 2 : 1;
      out += source.slice(index, end + 1);
      index = end + 1;
    } else {
      out += char;
      index += 1;
    }
  }
  return out;
}

/** Every module specifier a file names: `import … from`, `export … from`, `import '…'`, `import('…')`. */
function specifiersOf(source: string): string[] {
  const code = withoutComments(source);
  const patterns = [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*(['"])([^'"]+)\1/g,
    /\bimport\s*(['"])([^'"]+)\1/g,
    /\bimport\s*\(\s*(['"])([^'"]+)\1\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...code.matchAll(pattern)].map((match) => match[2] as string));
}

const isAwsPackage = (specifier: string) =>
  AWS_PACKAGES.some((name) =>
    name.endsWith('/') ? specifier.startsWith(name) : specifier === name || specifier.startsWith(`${name}/`),
  );

const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}${sep}`);

/** What importing `specifier` from `file` breaks: an outer layer or an AWS package; undefined if nothing. */
function violation(file: string, specifier: string): string | undefined {
  if (isAwsPackage(specifier)) return specifier;
  if (!specifier.startsWith('.')) return undefined;
  const target = resolve(dirname(file), specifier);
  const layer = OUTER_LAYERS.find((dir) => inside(target, dir));
  return layer ? shown(target) : undefined;
}

/** The comments before the first line of code, as text. */
function headerComment(source: string): string {
  const header = /^(?:\s*(?:\/\*[\s\S]*?\*\/|\/\/[^\n]*))*/.exec(source)?.[0] ?? '';
  return header
    .replace(/^\s*(?:\/\*\*?|\*\/|\*|\/\/)/gm, ' ')
    .replace(/\*\//g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

const lineCount = (source: string) => source.replace(/\n$/, '').split('\n').length;

const givesReason = (source: string) =>
  new RegExp(`(?:^|[.!?:;]\\s)${REASON}\\b`).test(headerComment(source));

describe('the domain', () => {
  const files = tsFiles(DOMAIN);

  it('is read whole: every file, every form of import', () => {
    expect(files.length).toBeGreaterThan(30);
    const sample = [
      "import type { A } from 'aws-lambda';",
      "import {\n  b,\n  c,\n} from '../http/x.ts';",
      "export * from './d.ts';",
      "export { e } from '@aws-sdk/client-s3';",
      "import 'side-effect';",
      "const f = await import('./g.ts');",
      "// import { no } from 'in-a-comment';",
      "/* export * from 'in-a-block'; */",
      "const url = 'https://example.com'; import { h } from './h.ts';",
    ].join('\n');
    expect(specifiersOf(sample).sort()).toEqual(
      [
        'aws-lambda',
        '../http/x.ts',
        './d.ts',
        '@aws-sdk/client-s3',
        'side-effect',
        './g.ts',
        './h.ts',
      ].sort(),
    );
    const file = join(DOMAIN, 'images', 'present.ts');
    expect(violation(file, '../../http/responses.ts')).toBe('lambdas/http/responses.ts');
    expect(violation(file, '../../adapters/s3/blob-store.ts')).toBe('lambdas/adapters/s3/blob-store.ts');
    expect(violation(file, '@aws-lambda-powertools/metrics')).toBe('@aws-lambda-powertools/metrics');
    expect(violation(file, 'aws-cdk-lib/aws-s3')).toBe('aws-cdk-lib/aws-s3');
    expect(violation(file, '../jobs/engine.ts')).toBeUndefined();
    expect(violation(file, 'zod')).toBeUndefined();
  });

  it('imports nothing from lambdas/http, handlers, adapters or local, nor any HTTP or AWS package', () => {
    const found = files.flatMap((file) => {
      const specifiers = specifiersOf(readFileSync(file, 'utf8'));
      return specifiers.flatMap((specifier) => {
        const broken = violation(file, specifier);
        return broken ? [`${shown(file)} imports ${broken}`] : [];
      });
    });
    expect(found).toEqual([]);
  });

  it('reaches no HTTP or AWS package through the modules it imports either', () => {
    const seen = new Set<string>();
    const found: string[] = [];
    const visit = (file: string, via: string[]) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const specifier of specifiersOf(readFileSync(file, 'utf8'))) {
        const broken = violation(file, specifier);
        if (broken) found.push([...via, shown(file), broken].join(' → '));
        else if (specifier.startsWith('.') && specifier.endsWith('.ts')) {
          visit(resolve(dirname(file), specifier), [...via, shown(file)]);
        }
      }
    };
    for (const file of files) visit(file, []);
    expect(found).toEqual([]);
  });
});

describe('lambdas/', () => {
  it('reads the reason from the comment at the top of a file only', () => {
    const reason = `${REASON} its states are one machine.`;
    expect(givesReason(`/**\n * The emulator.\n * ${reason}\n */\nimport 'x';\n`)).toBe(true);
    expect(givesReason(`// The emulator. ${reason}\nimport 'x';\n`)).toBe(true);
    expect(givesReason(`/** The emulator. */\nimport 'x';\n// ${reason}\n`)).toBe(false);
  });

  it(`has no source file over ${MAX_LINES} lines without "${REASON}…" at its top`, () => {
    const tooLong = tsFiles(LAMBDAS).flatMap((file) => {
      const source = readFileSync(file, 'utf8');
      const lines = lineCount(source);
      if (lines <= MAX_LINES) return [];
      return givesReason(source) ? [] : [`${shown(file)} (${lines} lines)`];
    });
    expect(tooLong).toEqual([]);
  });
});
