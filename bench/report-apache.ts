/** The Apache httpd + mod_auth_openidc section of RESULTS.md: its figures beside the BFF's and express's, or why it was skipped. */
import { APACHE_PEER } from './apache-openidc.ts';

/** What the run knew of the Apache peer: the version measured, or why it was not. */
export type ApacheRun = { readonly version: string } | { readonly skipped: string };

/** The medians of one matrix cell that this section shows. */
interface CellFigures {
  readonly rps: number;
  readonly p99Ms: number;
  readonly cpuMsPerRequest: number;
  readonly peakRss: number;
}

/** An app's logins: the cold figures, and the warm CPU per login when measured. */
interface LoginFigures {
  readonly app: string;
  readonly cpuMsPerLogin: number;
  readonly perSecond: number;
  readonly warm?: { readonly cpuMsPerLogin: number };
}

const MB = 1024 * 1024;
const fixed = (value: number | undefined, digits: number) =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : '–';

export const APACHE_SETUP_NOTE =
  `- **${APACHE_PEER}**: Debian's \`apache2\` (event MPM, two worker processes of 64 threads started at once and never retired, keep-alive without a request limit, no access log) with \`libapache2-mod-auth-openidc\`, from a configuration the bench writes to a temp ServerRoot (\`bench/apache-openidc.ts\`): ` +
  'its own client at the embedded IdP, code flow with PKCE, `openid profile email offline_access`, `OIDCSessionType client-cookie` (the tokens sealed in its cookie, decrypted on every request, not re-set), ' +
  '`OIDCUnAuthAction 401` on `/api`, `RequestHeader set Authorization "Bearer %{OIDC_access_token}e"`, `Cookie` and `X-CSRF` removed, `ProxyPass /api/` to the upstream with `keepalive=On`. ' +
  'It does not check `X-CSRF`. Reached at `localhost` (mod_auth_openidc refuses its cookie on another host name). CPU is the whole process tree (the root parent, with the children it reaped, and every live worker), RSS the sum of their VmRSS (shared pages counted once per process). ' +
  'Before measuring: `/api` without a session must answer 401, and the upstream must see a bearer and neither `Cookie` nor `X-CSRF`. Skipped, with the reason in the output and here, when `apache2` or the module is not installed.';

/** The section; `apache` is absent in runs from before the peer existed. */
export function apacheSection(
  apache: ApacheRun | undefined,
  logins: readonly LoginFigures[],
  get: (scenario: string, upstream: string, connections: number) => CellFigures | undefined,
): string[] {
  if (!apache) return [];
  const lines = ['', '## Apache httpd + mod_auth_openidc', ''];
  if ('skipped' in apache) return [...lines, `Not measured in this run: ${apache.skipped}.`];
  lines.push(
    `${apache.version}, configured as the setup notes say: the same cells, checks and kind of session (one full sign-in) as the other peers. ` +
      'Beside it, the express alternative and the BFF at LOG_LEVEL=warn (**bff**, the BFF process measured at every cell), from the same cells.',
    '',
    '| upstream | conns | req/s Apache | req/s express | req/s bff | p99 ms Apache | CPU ms/req Apache | express | bff | peak RSS MB Apache (tree) | express | bff |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const upstream of ['fast', '5 ms']) {
    for (const connections of [1, 10, 50]) {
      const peer = get(APACHE_PEER, upstream, connections);
      if (!peer) continue;
      const express = get('express alternative', upstream, connections);
      const bff = get('bff', upstream, connections);
      lines.push(
        `| ${upstream} | ${connections} | ${fixed(peer.rps, 0)} | ${fixed(express?.rps, 0)} | ${fixed(bff?.rps, 0)} | ${fixed(peer.p99Ms, 2)} | ${fixed(peer.cpuMsPerRequest, 3)} | ${fixed(express?.cpuMsPerRequest, 3)} | ${fixed(bff?.cpuMsPerRequest, 3)} | ${fixed(peer.peakRss / MB, 1)} | ${fixed((express?.peakRss ?? Number.NaN) / MB, 1)} | ${fixed((bff?.peakRss ?? Number.NaN) / MB, 1)} |`,
      );
    }
  }
  const login = (app: string) => logins.find((l) => l.app === app);
  const peerLogin = login(APACHE_PEER);
  if (peerLogin) {
    const express = login('express alternative');
    const bff = login('bff');
    const warm = peerLogin.warm
      ? `; warm, **${fixed(peerLogin.warm.cpuMsPerLogin, 1)} ms** (express ${fixed(express?.warm?.cpuMsPerLogin, 1)} ms, bff ${fixed(bff?.warm?.cpuMsPerLogin, 1)} ms)`
      : '';
    lines.push(
      '',
      `Logins (the same flow, interleaved with the others; Apache's redirect to the IdP, the login form, its redirect URI; cold and warm processes as the Logins section says): cold, **${fixed(peerLogin.cpuMsPerLogin, 1)} ms** CPU per login ` +
        `(express ${fixed(express?.cpuMsPerLogin, 1)} ms, bff ${fixed(bff?.cpuMsPerLogin, 1)} ms), ${fixed(peerLogin.perSecond, 1)} logins/s one at a time${warm}.`,
    );
  }
  return lines;
}
