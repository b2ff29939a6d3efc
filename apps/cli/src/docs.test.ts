import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// What a user reads (the README, docs/, every README under examples/, fixtures/ and the libs)
// must stand alone: every link resolves to a file of this repository, none leaves it.
const repo = resolve(new URL('../../../', import.meta.url).pathname);
const markdown = (dir: string): string[] =>
  existsSync(join(repo, dir))
    ? readdirSync(join(repo, dir), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() && e.name !== 'node_modules' && !e.name.startsWith('.')
          ? markdown(join(dir, e.name))
          : e.isFile() && e.name.endsWith('.md')
            ? [join(dir, e.name)]
            : [],
      )
    : [];
const pages = ['README.md', ...markdown('docs'), ...markdown('examples'), ...markdown('fixtures'), ...markdown('libs'), ...markdown('apps')];

describe('docs', () => {
  it('docs - the services-file reference and the architecture are in the repository', () => {
    expect(pages).toEqual(expect.arrayContaining(['docs/services-file.md', 'docs/architecture.md']));
  });

  it.each(pages)('docs - every link of %s resolves to a file inside the repository', (page) => {
    const text = readFileSync(join(repo, page), 'utf8');
    const broken: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s#]+)(#[^)]*)?\)/g)) {
      const target = m[1]!;
      // A web address leaves the repository (the page may move, or need a network the user lacks).
      if (/^[a-z]+:/i.test(target)) {
        if (!/^https?:\/\/(localhost|127\.0\.0\.1)[:/]/.test(target)) broken.push(target);
        continue;
      }
      const file = resolve(repo, dirname(page), target);
      if (relative(repo, file).startsWith('..') || !existsSync(file)) broken.push(target);
    }
    expect(broken).toEqual([]);
    expect(text).not.toMatch(/\.\.\/shared\b|\bshared\/(DESIGN|SERVICES-FILE|STYLE)/);
  });
});
