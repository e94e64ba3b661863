import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LOGIN_ERROR_CODES } from '../../packages/oidc/src/wire.ts';
import { readRepoFile } from './repo-files.ts';

/** `docs/http-contract.md` has a table row for every stable code the SPA can receive, and no other. */
describe('docs/http-contract.md and the stable codes agree', () => {
  const doc = readRepoFile('docs/http-contract.md');
  /** First cells of the table rows under the `### heading`, up to the next heading. */
  const rowsUnder = (heading: string) => {
    const start = doc.indexOf(`\n${heading}\n`);
    expect(start, `heading "${heading}"`).toBeGreaterThan(-1);
    const rest = doc.slice(start + heading.length + 2);
    const end = rest.search(/^#{1,6} /m);
    const section = end < 0 ? rest : rest.slice(0, end);
    return [...section.matchAll(/^\|\s*`([a-z_]+)`\s*\|/gm)].map((m) => m[1] as string).sort();
  };

  it('documents every error code', () => {
    expect(rowsUnder('## Errors')).toEqual([...ERROR_CODES].sort());
  });

  it('documents every login_error code', () => {
    expect(rowsUnder('### Sign-in failures')).toEqual([...LOGIN_ERROR_CODES].sort());
  });
});
