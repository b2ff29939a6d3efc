import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What a user reads (the README, docs/, the examples' and fixtures' READMEs) must stand alone:
// every relative link resolves to a file of this repository, none leaves it.
const repo = resolve(new URL('../../../', import.meta.url).pathname);
const markdown = (dir: string): string[] =>
  readdirSync(join(repo, dir), { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.md'))
    .map((e) => join(dir, e.name));
const pages = ['README.md', ...markdown('docs'), ...markdown('examples'), ...markdown('fixtures/valid'), ...markdown('fixtures/invalid')]
  .filter((p) => existsSync(join(repo, p)));

describe('docs', () => {
  it('docs - the services-file reference and the architecture are in the repository', () => {
    expect(pages).toEqual(expect.arrayContaining(['docs/services-file.md', 'docs/architecture.md']));
  });

  it.each(pages)('docs - every relative link of %s resolves inside the repository', (page) => {
    const text = readFileSync(join(repo, page), 'utf8');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      if (/^[a-z]+:/i.test(target)) continue;
      const file = resolve(repo, dirname(page), target);
      if (relative(repo, file).startsWith('..') || !existsSync(file)) broken.push(target);
    }
    expect(broken).toEqual([]);
    expect(text).not.toMatch(/\.\.\/shared\b|\bshared\/(DESIGN|SERVICES-FILE|STYLE)/);
  });
});
