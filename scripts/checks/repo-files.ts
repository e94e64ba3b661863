import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's files as the checks in this folder see them: what git tracks, plus new files
 * not yet added (unless `.gitignore` excludes them), so a check fails before the commit rather
 * than after it.
 */

/** The repository root, found from this file (`scripts/checks/` is two levels below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Files whose text is generated or not ours to document: skipped by the content checks. */
const SKIPPED = new Set(['pnpm-lock.yaml']);

/** Paths relative to {@link REPO_ROOT}, with `/` separators, of every file the repository holds. */
export function repositoryFiles(): string[] {
  const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const files = new Set(out.split('\0').filter((file) => file.length > 0));
  // A file deleted in the work tree but not yet in the index is listed by git and gone on disk.
  return [...files].filter((file) => {
    const full = path.join(REPO_ROOT, file);
    return existsSync(full) && statSync(full).isFile();
  });
}

/** The text of every repository file that is text, except {@link SKIPPED}: path → content. */
export function repositoryTexts(): Map<string, string> {
  const texts = new Map<string, string>();
  for (const file of repositoryFiles()) {
    if (SKIPPED.has(file)) continue;
    const bytes = readFileSync(path.join(REPO_ROOT, file));
    // Git's own rule for "binary": a NUL byte near the start.
    if (bytes.subarray(0, 8000).includes(0)) continue;
    texts.set(file, bytes.toString('utf8'));
  }
  return texts;
}

/** Reads a repository file as text. */
export function readRepoFile(file: string): string {
  return readFileSync(path.join(REPO_ROOT, file), 'utf8');
}
