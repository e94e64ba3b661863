/**
 * The Apache peer: Debian's httpd 2.4 (event MPM) with mod_auth_openidc, configured by the bench
 * in a temp ServerRoot as an OIDC relying party on its own loopback port, proxying `/api` to the
 * upstream with the session's access token as a bearer. It is measured like the other peers, but
 * as a process tree: the root parent and its worker children (which run as `www-data` when the
 * bench runs as root).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDevClient } from '@okta-bff/dev-idp';
import { type Child, treeCpuTimeMs, treeRssBytes, waitReady } from './processes.ts';

const APACHE_BIN = '/usr/sbin/apache2';
const MODULES_DIR = '/usr/lib/apache2/modules';
const STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL_CHARS = 4_000;
/** The peer's scenario name in the matrix, the logins and the report. */
export const APACHE_PEER = 'apache + mod_auth_openidc';
/** Where mod_auth_openidc receives the IdP's redirect; it must lie under a path it protects. */
export const APACHE_CALLBACK_PATH = '/oidc/callback';
/** A protected page: an unauthenticated browser request is redirected to the IdP. */
export const APACHE_LOGIN_PATH = '/login';
/** mod_auth_openidc's session cookie (client-cookie sessions split it into `_0`, `_1`, … chunks). */
export const APACHE_SESSION_COOKIE = 'mod_auth_openidc_session';

/**
 * Every module the generated configuration loads, by the name `LoadModule` gives it. Debian
 * compiles mod_unixd (`User`, `Group`) into the binary (`apache2 -l`), so it is not among them.
 */
const MODULES = {
  mpm_event_module: 'mod_mpm_event.so',
  authn_core_module: 'mod_authn_core.so',
  authz_core_module: 'mod_authz_core.so',
  authz_user_module: 'mod_authz_user.so',
  headers_module: 'mod_headers.so',
  proxy_module: 'mod_proxy.so',
  proxy_http_module: 'mod_proxy_http.so',
  auth_openidc_module: 'mod_auth_openidc.so',
} as const;

/** Whether the peer can run here: the version line, or why it is skipped. */
/** The dev IdP's registration of an Apache peer at `origin`: its callback, and no logout channels (it is not given any). */
export function apacheIdpClient(
  origin: string,
  client: { readonly clientId: string; readonly clientSecret: string },
  name: string,
): ReturnType<typeof createDevClient> {
  return {
    ...createDevClient({
      redirectUris: [`${origin}${APACHE_CALLBACK_PATH}`],
      postLogoutRedirectUris: [`${origin}/`],
      backchannelLogoutUri: null,
      frontchannelLogoutUri: null,
    }),
    client_id: client.clientId,
    client_secret: client.clientSecret,
    client_name: name,
  };
}

export type ApacheAvailability =
  | { readonly available: true; readonly version: string }
  | { readonly available: false; readonly reason: string };

/** Looks for `apache2` and every module it needs; CI images have neither. */
export function findApache(): ApacheAvailability {
  if (!existsSync(APACHE_BIN))
    return { available: false, reason: `${APACHE_BIN} is not installed (Debian package apache2)` };
  const missing = Object.values(MODULES).filter((file) => !existsSync(path.join(MODULES_DIR, file)));
  if (missing.length > 0) {
    const pkg = missing.includes('mod_auth_openidc.so')
      ? ' (Debian package libapache2-mod-auth-openidc)'
      : '';
    return { available: false, reason: `missing in ${MODULES_DIR}: ${missing.join(', ')}${pkg}` };
  }
  let version: string;
  try {
    version = execFileSync(APACHE_BIN, ['-v'], { encoding: 'utf8' }).split('\n', 1)[0] ?? '';
  } catch (error) {
    return { available: false, reason: `${APACHE_BIN} -v failed: ${String(error).split('\n', 1)[0]}` };
  }
  return {
    available: true,
    version: `${version.replace(/^Server version:\s*/, '')}, mod_auth_openidc ${moduleVersion()}`,
  };
}

/** The Debian package's version of mod_auth_openidc, for the report only. */
function moduleVersion(): string {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format field.
    return execFileSync('dpkg-query', ['-W', '-f', '${Version}', 'libapache2-mod-auth-openidc'], {
      encoding: 'utf8',
    });
  } catch (error) {
    // Informative only: a module installed without dpkg still runs.
    return `(version unknown: ${String(error).split('\n', 1)[0]})`;
  }
}

export interface ApacheOptions {
  readonly port: number;
  /** `http://localhost:<port>`: the origin of the registered redirect URI. */
  readonly origin: string;
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly upstreamUrl: string;
}

/**
 * The whole `httpd.conf`. Two worker processes of 64 threads each, started at once and never
 * retired, so that no worker's CPU time is lost with it during a run (an exited child's time is
 * counted through the parent's `cutime`, but only once the parent has reaped it). Keep-alive
 * without a request limit and no access log, as the node servers run.
 */
export function renderApacheConfig(options: ApacheOptions, serverRoot: string, passphrase: string): string {
  const asRoot = process.getuid?.() === 0;
  const upstream = new URL(options.upstreamUrl);
  return [
    `ServerRoot "${serverRoot}"`,
    `DefaultRuntimeDir "${serverRoot}/run"`,
    `PidFile "${serverRoot}/run/httpd.pid"`,
    `ErrorLog "${serverRoot}/error.log"`,
    'LogLevel warn',
    ...Object.entries(MODULES).map(([name, file]) => `LoadModule ${name} ${MODULES_DIR}/${file}`),
    ...(asRoot ? ['User www-data', 'Group www-data'] : []),
    `Listen 127.0.0.1:${options.port}`,
    'ServerName localhost',
    `DocumentRoot "${serverRoot}/htdocs"`,
    'StartServers 2',
    'ServerLimit 2',
    'ThreadLimit 64',
    'ThreadsPerChild 64',
    'MaxRequestWorkers 128',
    'MinSpareThreads 1',
    'MaxSpareThreads 128',
    'MaxConnectionsPerChild 0',
    'KeepAlive On',
    'MaxKeepAliveRequests 0',
    'KeepAliveTimeout 65',
    '',
    `OIDCProviderMetadataURL ${options.issuer}/.well-known/openid-configuration`,
    `OIDCClientID ${options.clientId}`,
    `OIDCClientSecret ${options.clientSecret}`,
    `OIDCRedirectURI ${options.origin}${APACHE_CALLBACK_PATH}`,
    `OIDCCryptoPassphrase ${passphrase}`,
    'OIDCScope "openid profile email offline_access"',
    'OIDCRemoteUserClaim sub',
    'OIDCSessionType client-cookie',
    // The run is longer than the default 5-minute idle timeout, and autocannon never stores the
    // refreshed cookie: one session must stay valid for the whole run.
    'OIDCSessionInactivityTimeout 28800',
    'OIDCPKCEMethod S256',
    'OIDCProviderTokenEndpointAuth client_secret_basic',
    // The dev IdP is plain http on loopback: there is no certificate to validate.
    'OIDCSSLValidateServer Off',
    // Claims and the access token as environment variables only, not as request headers.
    'OIDCPassClaimsAs environment',
    '',
    '<Location />',
    '  AuthType openid-connect',
    '  Require valid-user',
    '</Location>',
    '<Location /healthz>',
    '  AuthType None',
    '  Require all granted',
    '</Location>',
    '<Location /api/>',
    '  OIDCUnAuthAction 401',
    '  RequestHeader set Authorization "Bearer %{OIDC_access_token}e"',
    '  RequestHeader unset Cookie',
    '  RequestHeader unset X-CSRF',
    '</Location>',
    `ProxyPass /api/ http://${upstream.host}/ keepalive=On`,
    '',
  ].join('\n');
}

/**
 * Starts `apache2 -DFOREGROUND` from a generated configuration in a new temp ServerRoot and waits
 * until `/healthz` answers 200. Its {@link Child} counts the whole process tree: CPU of the
 * parent (with its reaped children) and of every live descendant, RSS summed over them (shared
 * pages counted once per process, so an upper bound). `stop()` also removes the temp dir.
 */
export async function startApache(options: ApacheOptions): Promise<Child> {
  const serverRoot = mkdtempSync(path.join(os.tmpdir(), 'bench-apache-'));
  // The workers (www-data) read the document root; the root parent writes everything else.
  chmodSync(serverRoot, 0o755);
  mkdirSync(path.join(serverRoot, 'run'));
  mkdirSync(path.join(serverRoot, 'htdocs'));
  writeFileSync(path.join(serverRoot, 'htdocs', 'healthz'), 'ok\n');
  const config = path.join(serverRoot, 'httpd.conf');
  writeFileSync(config, renderApacheConfig(options, serverRoot, randomBytes(32).toString('base64url')), {
    mode: 0o600,
  });

  const startedAt = performance.now();
  const child = spawn(APACHE_BIN, ['-d', serverRoot, '-f', config, '-DFOREGROUND'], {
    env: { PATH: process.env.PATH ?? '', LANG: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error('bench: could not start apache2');
  const stop = async () => {
    await stopProcess(child, exited);
    rmSync(serverRoot, { recursive: true, force: true });
  };
  try {
    await waitReady(child, `http://127.0.0.1:${options.port}/healthz`);
  } catch (error) {
    const log = readTail(path.join(serverRoot, 'error.log'));
    await stop();
    throw new Error(`bench: apache2 did not become ready: ${String(error)}\n${stderr}${log}`, {
      cause: error,
    });
  }
  return {
    name: APACHE_PEER,
    pid,
    startedAt,
    cpuMs: () => treeCpuTimeMs(pid),
    rss: () => treeRssBytes(pid),
    stop,
  };
}

/** SIGTERM (httpd stops its workers and exits), then SIGKILL if it lingers. */
async function stopProcess(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function readTail(file: string): string {
  // No error log means apache2 failed before opening it: stderr, shown with it, says why.
  return existsSync(file) ? readFileSync(file, 'utf8').slice(-STDERR_TAIL_CHARS) : '';
}
