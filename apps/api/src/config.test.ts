import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEV_IDP } from '@okta-bff/oidc';
import { describe, expect, it } from 'vitest';
import { loadApiConfig, loadDotEnv } from './config.ts';

function problemsOf(env: Record<string, string>) {
  try {
    loadApiConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadApiConfig', () => {
  it('defaults to the embedded IdP in development', () => {
    expect(loadApiConfig({ NODE_ENV: 'development' })).toEqual({
      mode: 'development',
      issuer: DEV_IDP.issuer,
      audience: 'api://default',
      port: 8001,
      publicUrl: undefined,
      dpopNonce: false,
    });
  });

  it('reads API_PUBLIC_URL (trailing slash dropped) and API_DPOP_NONCE', () => {
    const config = loadApiConfig({
      OKTA_ISSUER: 'https://dev-1.okta.com/oauth2/default',
      API_PUBLIC_URL: 'HTTP://127.0.0.1:8001/',
      API_DPOP_NONCE: 'true',
    });
    expect(config).toMatchObject({ publicUrl: 'http://127.0.0.1:8001', dpopNonce: true });
    expect(
      loadApiConfig({
        OKTA_ISSUER: 'https://dev-1.okta.com',
        API_PUBLIC_URL: 'https://gw.example/items-api/',
      }).publicUrl,
    ).toBe('https://gw.example/items-api');
  });

  it('derives the issuer from OKTA_DOMAIN as the tutorial did', () => {
    const config = loadApiConfig({ OKTA_DOMAIN: 'dev-123456.okta.com' });
    expect(config.issuer).toBe('https://dev-123456.okta.com/oauth2/default');
    expect(config.mode).toBe('production');
  });

  it('prefers OKTA_ISSUER and reads API_AUDIENCE and API_PORT', () => {
    const config = loadApiConfig({
      OKTA_ISSUER: 'https://dev-1.okta.com/oauth2/aus123/',
      OKTA_DOMAIN: 'ignored.okta.com',
      API_AUDIENCE: 'api://items',
      API_PORT: '9100',
    });
    expect(config).toMatchObject({
      issuer: 'https://dev-1.okta.com/oauth2/aus123',
      audience: 'api://items',
      port: 9100,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('allows http for a loopback issuer', () => {
    expect(loadApiConfig({ OKTA_ISSUER: 'http://127.0.0.1:9000/oauth2/default' }).issuer).toBe(
      'http://127.0.0.1:9000/oauth2/default',
    );
  });

  it('requires an issuer in production', () => {
    const err = problemsOf({});
    expect(err.problems.map((p) => p.variable)).toEqual(['OKTA_ISSUER']);
  });

  it.each([
    [{ OKTA_ISSUER: 'http://dev-1.okta.com/oauth2/default' }, 'OKTA_ISSUER', /https/],
    [{ OKTA_DOMAIN: 'http://dev-1.okta.com' }, 'OKTA_DOMAIN', /https/],
    [{ OKTA_ISSUER: 'not a url' }, 'OKTA_ISSUER', /not a URL/],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com/oauth2/default?x=1' }, 'OKTA_ISSUER', /query/],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_PORT: 'abc' }, 'API_PORT', /port number/],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_PORT: '0' }, 'API_PORT', /port number/],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_PORT: '70000' }, 'API_PORT', /port number/],
    [
      { OKTA_ISSUER: 'https://dev-1.okta.com', API_PUBLIC_URL: 'api:8001' },
      'API_PUBLIC_URL',
      /http or https/,
    ],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_PUBLIC_URL: '/items' }, 'API_PUBLIC_URL', /not a URL/],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_PUBLIC_URL: 'http://api/?' }, 'API_PUBLIC_URL', /query/],
    [
      { OKTA_ISSUER: 'https://dev-1.okta.com', API_PUBLIC_URL: 'http://u:p@api' },
      'API_PUBLIC_URL',
      /credentials/,
    ],
    [{ OKTA_ISSUER: 'https://dev-1.okta.com', API_DPOP_NONCE: 'yes' }, 'API_DPOP_NONCE', /"true" or "false"/],
  ])('reports %j as a problem with %s', (env, variable, reason) => {
    const err = problemsOf(env);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]?.variable).toBe(variable);
    expect(err.problems[0]?.reason).toMatch(reason);
  });

  it('reports every problem at once, one per line', () => {
    const err = problemsOf({ OKTA_ISSUER: 'ftp://idp.example', API_PORT: '-1' });
    expect(err.problems.map((p) => p.variable)).toEqual(['OKTA_ISSUER', 'API_PORT']);
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^OKTA_ISSUER: /);
    expect(lines[1]).toMatch(/^API_PORT: /);
  });
});

describe('loadDotEnv', () => {
  it('fills only variables the environment does not already set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-dotenv-'));
    const file = join(dir, '.env');
    writeFileSync(
      file,
      'OKTA_DOMAIN=from-file.okta.com\nAPI_PORT=9999\n# comment\nAPI_AUDIENCE="api://file"\n',
    );
    const env: NodeJS.ProcessEnv = { API_PORT: '8123' };
    expect(loadDotEnv(file, env)).toBe(true);
    expect(env).toEqual({ OKTA_DOMAIN: 'from-file.okta.com', API_PORT: '8123', API_AUDIENCE: 'api://file' });
  });

  it('does nothing without a file', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(loadDotEnv(join(tmpdir(), 'definitely-missing', '.env'), env)).toBe(false);
    expect(env).toEqual({});
  });
});
