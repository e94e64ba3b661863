/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and returns its hottest functions, by
 * self time and by inclusive time, so RESULTS.md can name the hot spots without a viewer.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}
interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface HotFrame {
  /** `function (file:line)`, with paths shortened to the package or repository file. */
  readonly frame: string;
  /** Share of all non-idle samples, 0..1. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly sampledMs: number;
  readonly self: readonly HotFrame[];
  /** Inclusive time of application and library frames (Node's own internals left out). */
  readonly inclusive: readonly HotFrame[];
  /** Self time grouped into a few kinds of work, see {@link CATEGORIES}. */
  readonly categories: readonly HotFrame[];
}

/** Kinds of work, matched on the self frame in this order; the rest is "other". */
const CATEGORIES: readonly (readonly [string, RegExp])[] = [
  [
    "socket writes and reads (syscalls; on loopback they include the peer's TCP receive work)",
    /^(writev|writeLatin1String|writeUtf8String|writeBuffer|writeAsciiString|onStreamRead|close|shutdown)\b/,
  ],
  ['garbage collector', /^\(garbage collector\)/],
  [
    'AbortController / DOMException (per stream.pipeline call)',
    /\(internal\/(per_context\/domexception|abort_controller|event_target):/,
  ],
  [
    'HTTP parsing and header serialisation',
    /\((node:)?_http_(common|incoming|outgoing|server|client):|\(internal\/http:|^(parserOn|_addHeaderLine|_storeHeader|processHeader|matchKnownFields)/,
  ],
  ['crypto (JOSE, hashes, UUIDs)', /\((jose\/|node:crypto|internal\/crypto\/)/],
  [
    'events, streams, sockets and ticks (Node internals)',
    /\((node:events|node:net|node:stream|internal\/(streams|stream_base_commons|process\/task_queues|timers|async_hooks|net))/,
  ],
  ['logging (pino)', /\((pino|sonic-boom|fast-redact|@pinojs)/],
  ['undici / fetch', /\((undici|internal\/deps\/undici)/],
  ["this app's code (apps/)", /\(apps\//],
  ['other libraries (node_modules)', /\([@a-z][\w.@-]*\/[^:]*\.[cm]?js:/],
  ['(program): native code outside JS', /^\(program\)/],
];

function categoryOf(frame: string): string {
  for (const [name, pattern] of CATEGORIES) if (pattern.test(frame)) return name;
  return 'other Node internals';
}

const IDLE_FRAMES = new Set(['(idle)', '(root)']);

/** `file:///…/node_modules/.pnpm/x@1/node_modules/x/lib/y.js` → `x/lib/y.js`; repo files relative. */
export function shortenUrl(url: string): string {
  if (!url) return '';
  if (url.startsWith('node:')) return url.replace(/^node:internal\//, 'internal/');
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('/node_modules/');
  if (inModules >= 0) return path.slice(inModules + '/node_modules/'.length);
  const inRepo = path.indexOf('/apps/');
  return inRepo >= 0 ? path.slice(inRepo + 1) : path.replace(/^.*\//, '');
}

function frameName({ functionName, url, lineNumber }: CallFrame): string {
  const name = functionName || '(anonymous)';
  const where = shortenUrl(url);
  return where ? `${name} (${where}:${lineNumber + 1})` : name;
}

function top(totals: Map<string, number>, total: number, count: number): HotFrame[] {
  return [...totals]
    .filter(([frame]) => !IDLE_FRAMES.has(frame))
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([frame, time]) => ({ frame, share: time / total }));
}

/** Summarises one profile: the `count` hottest frames by self and by inclusive time. */
export function summarizeProfile(file: string, { count = 12, skipMs = 0 } = {}): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const categories = new Map<string, number>();
  let busy = 0;
  let clockUs = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    clockUs += delta;
    const node = byId.get(id);
    // Start-up and warm-up come first in the profile; they are not what the run measures.
    if (!node || clockUs < skipMs * 1000) return;
    const name = frameName(node.callFrame);
    if (IDLE_FRAMES.has(node.callFrame.functionName)) return;
    busy += delta;
    self.set(name, (self.get(name) ?? 0) + delta);
    const category = categoryOf(name);
    categories.set(category, (categories.get(category) ?? 0) + delta);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame) break;
      const frameKey = frameName(frame.callFrame);
      if (seen.has(frameKey) || !frame.callFrame.url.startsWith('file:')) continue;
      seen.add(frameKey);
      inclusive.set(frameKey, (inclusive.get(frameKey) ?? 0) + delta);
    }
  });
  return {
    file,
    sampledMs: busy / 1000,
    self: top(self, busy, count),
    inclusive: top(inclusive, busy, count),
    categories: top(categories, busy, CATEGORIES.length + 1),
  };
}

/** The newest `.cpuprofile` in `dir`. */
export function newestProfile(dir: string): string | undefined {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.cpuprofile'))
    .map((name) => join(dir, name))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
}
