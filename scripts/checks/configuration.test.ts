import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../apps/api/src/config.ts';
import { type Env, loadBffConfig, type RunMode } from '../../packages/oidc/src/config.ts';
import { readRepoFile } from './repo-files.ts';

/**
 * Every variable the code accepts is documented in `docs/configuration.md` (in the section of the
 * program that reads it) and listed once in `.env.example`; neither names a variable nothing reads.
 *
 * What the loaders accept is recorded, not parsed from their source: `loadBffConfig` and
 * `loadApiConfig` are handed a `Proxy` as the environment that notes every name they look up, in
 * both run modes and with environments that take each branch reading more variables (a valid
 * configuration, the Redis store, `private_key_jwt`). A loader that enumerated the environment
 * instead of looking names up would defeat this, so the proxy refuses to be enumerated.
 *
 * Two readers run as programs and cannot be called: `apps/bff/src/config.ts` (`ENV_FILE`, read
 * before the loader) and the dev IdP's `main.ts`. Their variables are taken from their source.
 *
 * OpenTelemetry's SDK reads its own `OTEL_*` variables. Those the loader reads (to decide whether
 * to start the SDK) must be documented like any other; other `OTEL_*` names may be documented as
 * the SDK's, provided `.env.example` and the page agree on them.
 */

const VARIABLE = /^[A-Z][A-Z0-9_]*$/;
const isOtel = (name: string) => name.startsWith('OTEL_');
const sorted = (names: Iterable<string>) => [...new Set(names)].sort();
const minus = (a: Iterable<string>, b: Iterable<string>) => {
  const without = new Set(b);
  return sorted([...a].filter((name) => !without.has(name)));
};

/** Runs `load` on each environment through a recording proxy; returns every name looked up. */
function namesLookedUp(load: (env: Env) => unknown, environments: readonly Env[]): Set<string> {
  const names = new Set<string>();
  for (const values of environments) {
    const env = new Proxy(values as Record<string, string | undefined>, {
      get(target, key) {
        if (typeof key === 'string') names.add(key);
        return Reflect.get(target, key);
      },
      has(target, key) {
        if (typeof key === 'string') names.add(key);
        return Reflect.has(target, key);
      },
      ownKeys() {
        throw new Error(
          'the loader enumerates the environment: looking names up is the only way this check sees them',
        );
      },
    });
    try {
      load(env);
    } catch (error) {
      // A configuration the loader refuses (a ConfigError, a TypeError) has still been read whole.
      if (!(error instanceof TypeError)) throw error;
    }
  }
  for (const name of names) if (!VARIABLE.test(name)) names.delete(name);
  return names;
}

/** `NAME` of every `NAME=` and `# NAME=` line, in order, repeats included. */
function envExampleNames(text: string): string[] {
  return [...text.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1] as string);
}

/** The documented variables of `docs/configuration.md`, by `## ` section heading. */
function documentedBySection(markdown: string): Map<string, string[]> {
  const sections = new Map<string, string[]>();
  let heading = '(before the first section)';
  for (const line of markdown.split('\n')) {
    if (line.startsWith('## ')) heading = line.slice(3).trim();
    const row = /^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/.exec(line);
    if (row) sections.set(heading, [...(sections.get(heading) ?? []), row[1] as string]);
  }
  return sections;
}

/** The variables named in `readConfig`'s helpers (`integer('NAME', …)`, …) or read as `env.NAME`. */
function devIdpNames(source: string): Set<string> {
  const names = new Set<string>();
  for (const match of source.matchAll(/\b(?:integer|url|flag|publicJwks)\('([A-Z][A-Z0-9_]*)'/g))
    names.add(match[1] as string);
  for (const match of source.matchAll(/\benv(?:\.([A-Z][A-Z0-9_]*)|\[['"]([A-Z][A-Z0-9_]*)['"]\])/g))
    names.add((match[1] ?? match[2]) as string);
  return names;
}

describe('configuration: code, docs/configuration.md and .env.example agree', () => {
  let bff: Set<string>;
  let api: Set<string>;
  let devIdp: Set<string>;
  const docs = documentedBySection(readRepoFile('docs/configuration.md'));
  const example = envExampleNames(readRepoFile('.env.example'));
  const section = (fragment: string) => {
    const found = [...docs].filter(([heading]) => heading.includes(fragment));
    expect(
      found.map(([heading]) => heading),
      `one section of docs/configuration.md for ${fragment}`,
    ).toHaveLength(1);
    return found[0]?.[1] ?? [];
  };

  beforeAll(() => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const valid: Env = {
      OKTA_DOMAIN: 'dev-123456.okta.com',
      CLIENT_ID: '0oaexample',
      CLIENT_SECRET: 'example-secret',
      SESSION_SECRET: 'x'.repeat(32),
    };
    const environments: Env[] = [
      {},
      valid,
      { ...valid, SESSION_STORE: 'redis' },
      { ...valid, SESSION_STORE: 'redis', REDIS_URL: 'redis://localhost:6379', REDIS_CLUSTER: 'true' },
      { ...valid, CLIENT_AUTH_METHOD: 'private_key_jwt' },
      { ...valid, CLIENT_AUTH_METHOD: 'private_key_jwt', CLIENT_PRIVATE_KEY: pem },
    ];
    const modes: RunMode[] = ['production', 'development'];
    bff = new Set(
      modes.flatMap((mode) => [...namesLookedUp((env) => loadBffConfig(env, mode), environments)]),
    );
    // Read by apps/bff/src/config.ts before the loader: the .env file to load.
    for (const match of readRepoFile('apps/bff/src/config.ts').matchAll(/process\.env\.([A-Z][A-Z0-9_]*)/g))
      bff.add(match[1] as string);
    api = namesLookedUp(loadApiConfig, [{}, { NODE_ENV: 'development' }, { OKTA_DOMAIN: 'dev-1.okta.com' }]);
    devIdp = devIdpNames(readRepoFile('packages/dev-idp/src/main.ts'));
  });

  it('records what the loaders read', () => {
    // Spot checks that the recording works (the real comparison is below).
    for (const name of [
      'CLIENT_ID',
      'SESSION_SECRET',
      'RATE_LIMIT_LOGIN_PER_MIN',
      'HOST',
      'VITE_DEV_URL',
      'ENV_FILE',
    ])
      expect(bff).toContain(name);
    for (const name of ['API_AUDIENCE', 'NODE_ENV']) expect(api).toContain(name);
    for (const name of ['DEV_IDP_PORT', 'DEV_IDP_DPOP_NONCE']) expect(devIdp).toContain(name);
  });

  it('documents every variable of the BFF, and only those', () => {
    const documented = section('apps/bff');
    expect.soft(minus(bff, documented), 'read by the BFF, not in its section').toEqual([]);
    expect
      .soft(
        minus(documented, bff).filter((name) => !isOtel(name)),
        'in the BFF section, read by nothing',
      )
      .toEqual([]);
    expect.soft(documented.length, 'a variable documented twice').toBe(new Set(documented).size);
  });

  it('documents every variable of the sample API, and only those', () => {
    const documented = section('apps/api');
    expect.soft(minus(api, documented), 'read by the API, not in its section').toEqual([]);
    expect.soft(minus(documented, api), 'in the API section, read by nothing').toEqual([]);
    expect.soft(documented.length, 'a variable documented twice').toBe(new Set(documented).size);
  });

  it('documents every variable of the dev IdP, and only those', () => {
    const documented = section('packages/dev-idp');
    expect.soft(minus(devIdp, documented), 'read by the dev IdP, not in its section').toEqual([]);
    expect.soft(minus(documented, devIdp), 'in the dev IdP section, read by nothing').toEqual([]);
    expect.soft(documented.length, 'a variable documented twice').toBe(new Set(documented).size);
  });

  it('documents variables only in those three sections', () => {
    const elsewhere = [...docs].filter(
      ([heading]) => !['apps/bff', 'apps/api', 'packages/dev-idp'].some((f) => heading.includes(f)),
    );
    expect(elsewhere).toEqual([]);
  });

  it('lists every variable in .env.example exactly once, and nothing else', () => {
    const read = new Set([...bff, ...api, ...devIdp]);
    const sdkOnly = minus(section('apps/bff'), read);
    const repeated = sorted(example.filter((name, i) => example.indexOf(name) !== i));
    expect.soft(repeated, 'listed more than once').toEqual([]);
    expect.soft(minus(read, example), 'read by the code, missing from .env.example').toEqual([]);
    expect.soft(minus(example, [...read, ...sdkOnly]), 'in .env.example, read by nothing').toEqual([]);
    expect
      .soft(minus(sdkOnly, example), "the SDK's OTEL_* names of the docs, missing from .env.example")
      .toEqual([]);
  });
});
