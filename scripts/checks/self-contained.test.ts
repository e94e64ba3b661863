import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, repositoryTexts } from './repo-files.ts';

/**
 * The repository documents itself: a clone holds everything its comments and documents point at.
 * No file may point at the workplace folder beside the repository (where a design document and a
 * style guide once lived), and no Markdown link may leave the repository.
 *
 * The patterns are assembled from pieces so that this file does not contain what it looks for.
 */
const SIBLING = 'shared';
const FORBIDDEN: readonly string[] = [
  ['..', SIBLING, ''].join('/'),
  `${SIBLING}/${'DESIGN'}`,
  `${SIBLING}/${'STYLE'}`,
  ['DESIGN', 'md'].join('.'),
  ['STYLE', 'md'].join('.'),
];

/** A fenced code block, from its opening fence to the closing one at the same indentation. */
const FENCED_CODE = /^([ \t]*)(```|~~~)[^\n]*\n[\s\S]*?^\1\2[ \t]*$/gm;

/** Fenced code blocks and inline code spans: their text is code, not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(FENCED_CODE, '').replace(/`[^`\n]*`/g, '');
}

/** Every link target of a Markdown text: inline links and images, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const targets: string[] = [];
  for (const match of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g))
    targets.push(match[1] ?? '');
  for (const match of text.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm))
    targets.push(match[1] ?? '');
  return targets.filter((target) => target.length > 0);
}

/** A link that names a place on the web or in the same page, not a file. */
const isExternalOrAnchor = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const text = markdown.replace(FENCED_CODE, '');
  for (const match of text.matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = (match[1] ?? '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    anchors.add(count === 0 ? base : `${base}-${count}`);
  }
  return anchors;
}

describe('the repository is self-contained', () => {
  const texts = repositoryTexts();
  const markdown = [...texts].filter(([file]) => file.endsWith('.md'));

  it('has files to look at', () => {
    expect(texts.size).toBeGreaterThan(100);
    expect(markdown.length).toBeGreaterThan(3);
  });

  it('names no file outside the repository', () => {
    const found: string[] = [];
    for (const [file, text] of texts) {
      text.split('\n').forEach((line, i) => {
        for (const pattern of FORBIDDEN) {
          if (line.includes(pattern)) found.push(`${file}:${i + 1}: "${pattern}"`);
        }
      });
    }
    expect(found, 'point at docs/ or at a specification instead').toEqual([]);
  });

  it('has no Markdown link that leaves the repository', () => {
    const escaping: string[] = [];
    for (const [file, text] of markdown) {
      for (const target of linkTargets(text)) {
        if (isExternalOrAnchor(target)) continue;
        const filePart = decodeURI(target.split('#')[0]?.split('?')[0] ?? '');
        const resolved = filePart.startsWith('/')
          ? path.join(REPO_ROOT, filePart)
          : path.resolve(REPO_ROOT, path.dirname(file), filePart);
        const relative = path.relative(REPO_ROOT, resolved);
        if (relative.startsWith('..') || path.isAbsolute(relative)) escaping.push(`${file}: ${target}`);
      }
    }
    expect(escaping).toEqual([]);
  });

  it('has no relative Markdown link to a missing file or heading', () => {
    const broken: string[] = [];
    for (const [file, text] of markdown) {
      for (const target of linkTargets(text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue;
        const [pathPart = '', anchor] = target.split('#');
        const filePart = decodeURI(pathPart.split('?')[0] ?? '');
        const linked =
          filePart === '' ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), filePart));
        const full = path.join(REPO_ROOT, linked);
        if (!existsSync(full)) {
          broken.push(`${file}: ${target} (no such file)`);
          continue;
        }
        if (anchor && linked.endsWith('.md') && statSync(full).isFile()) {
          const linkedText = texts.get(linked) ?? '';
          if (!anchorsOf(linkedText).has(anchor)) broken.push(`${file}: ${target} (no such heading)`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
