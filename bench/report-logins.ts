/**
 * The logins of RESULTS.md: CPU per full sign-in of each app in a cold process and in a warm one,
 * the Targets rows against the express alternative and Apache + mod_auth_openidc, and the table.
 */
import { APACHE_PEER } from './apache-openidc.ts';
import type { ApacheRun } from './report-apache.ts';
import { formatFigure, judge, notMeasuredRow, type TargetFigure, type TargetRow } from './targets.ts';

/** Logins measured in one state of an app's process. */
export interface LoginFigures {
  /** Logins measured. */
  readonly logins: number;
  /** Logins per second of wall time while they ran. */
  readonly perSecond: number;
  /** The app's CPU over them (the process; Apache: its process tree), divided by them. */
  readonly cpuMsPerLogin: number;
}

/**
 * The warm figures: the same process right after the cold ones, once it has made
 * `warmupLogins` more logins, `concurrency` at a time.
 */
export interface WarmLogins extends LoginFigures {
  readonly warmupLogins: number;
  /** Users signing in at once, in the warm-up and in the logins measured. */
  readonly concurrency: number;
  /** The measured logins came in this many rounds per app, the apps' order rotating. */
  readonly rounds: number;
}

/** One app's logins; its own fields are the cold figures, as measured since the first runs. */
export interface LoginResult extends LoginFigures {
  readonly app: string;
  /** Absent in runs before warm logins were measured. */
  readonly warm?: WarmLogins;
}

/** The targets for CPU per login, as ratios of the BFF's to the peer's. */
const LOGIN_TARGETS = { vsExpress: 0.5, vsApache: 1.5 } as const;
const BFF = 'bff';
const EXPRESS = 'express alternative';

/** The two states a login is measured in, as the rows name them. */
type ProcessState = 'cold' | 'warm';
const STATES: readonly ProcessState[] = ['cold', 'warm'];

const figuresIn = (login: LoginResult | undefined, state: ProcessState): LoginFigures | undefined =>
  state === 'cold' ? login : login?.warm;

const ms = (value: number | undefined) => formatFigure(value ?? Number.NaN, '', 1);

/** How the logins of one state were made, for a Targets row: `40 logins one at a time`. */
function howMeasured(login: LoginResult, state: ProcessState): string {
  if (state === 'cold' || !login.warm) return `${login.logins} logins one at a time`;
  const { logins, concurrency, warmupLogins } = login.warm;
  return `${logins} logins ${concurrency} at a time, after ${warmupLogins.toLocaleString('en')} more`;
}

/** An app the BFF's CPU per login is compared with, and the bound on the ratio. */
interface LoginPeer {
  /** Its name in the logins (`LoginResult.app`). */
  readonly app: string;
  /** As the Targets row says it. */
  readonly name: string;
  /** In the figure ids: `login-cpu-vs-<idName>-<state>`. */
  readonly idName: string;
  readonly bound: number;
}

const EXPRESS_PEER: LoginPeer = {
  app: EXPRESS,
  name: 'the express alternative',
  idName: 'express',
  bound: LOGIN_TARGETS.vsExpress,
};
const APACHE_LOGIN_PEER: LoginPeer = {
  app: APACHE_PEER,
  name: 'Apache + mod_auth_openidc',
  idName: 'apache',
  bound: LOGIN_TARGETS.vsApache,
};

/** One Targets row: the BFF's CPU per login against a peer's, in one process state. */
function loginRow(peer: LoginPeer, state: ProcessState, logins: readonly LoginResult[]): TargetRow {
  const target = `BFF CPU per login ≤ ${peer.bound}× ${peer.name}'s, **${state}** process`;
  const figure: Omit<TargetFigure, 'value'> = {
    id: `login-cpu-vs-${peer.idName}-${state}`,
    label: `BFF CPU per login ÷ ${peer.name}'s, ${state} (≤ ${peer.bound}×)`,
    unit: '×',
    digits: 2,
  };
  const bffLogin = logins.find((l) => l.app === BFF);
  const bff = figuresIn(bffLogin, state);
  const other = figuresIn(
    logins.find((l) => l.app === peer.app),
    state,
  );
  if (!bffLogin || !bff || !other) return notMeasuredRow(target, [figure]);
  const ratio = bff.cpuMsPerLogin / other.cpuMsPerLogin;
  return {
    target,
    measured: `${ms(bff.cpuMsPerLogin)} vs ${ms(other.cpuMsPerLogin)} ms = **${formatFigure(ratio, '×', 2)}** (${howMeasured(bffLogin, state)}; LOG_LEVEL=warn)`,
    result: judge(ratio <= peer.bound),
    figures: [{ ...figure, value: ratio }],
  };
}

/**
 * The Targets rows of the logins: against the express alternative and against Apache +
 * mod_auth_openidc, each in a cold and in a warm process, each row judged on its own.
 */
export function loginTargetRows(logins: readonly LoginResult[], apache: ApacheRun | undefined): TargetRow[] {
  const rows = STATES.map((state) => loginRow(EXPRESS_PEER, state, logins));
  for (const state of STATES) {
    const row = loginRow(APACHE_LOGIN_PEER, state, logins);
    // A machine without Apache (CI) skips the peer: say so rather than "not measured".
    rows.push(
      apache && 'skipped' in apache
        ? { ...row, measured: 'skipped (Apache not installed)', result: 'skipped' }
        : row,
    );
  }
  return rows;
}

/** The "Logins" section: a cold row and a warm row per app, and how each was measured. */
export function loginsSection(logins: readonly LoginResult[]): string[] {
  const first = logins[0];
  const warm = first?.warm;
  const lines = [
    '',
    '## Logins',
    '',
    'Full flow: app login route → IdP authorize → login form with a password → consent-free redirect → app callback (code exchange, ID token validation, session sealed). ' +
      "The IdP runs in the orchestrator process and dominates the wall time. CPU is the app's own, utime + stime from `/proc` over the logins measured, divided by them: " +
      `the process for the BFF (**${BFF}**, LOG_LEVEL=warn) and the express alternative, the whole process tree for Apache. ` +
      "Each app's process is the one measured in the matrix before, started at the beginning of the run.",
    '',
    `- **cold**: ${first?.logins ?? '–'} logins one at a time, the apps alternating login by login, in processes that had signed in at most a few dozen times before (the run's own sessions, one warm-up login each). ` +
      'V8 is still compiling the login path then (FINDINGS.md §11): what the first logins after a start or a deploy cost.',
    warm
      ? `- **warm**: the same processes right after, once each has made ${warm.warmupLogins.toLocaleString('en')} more logins ${warm.concurrency} at a time (not measured): ` +
        `${warm.logins} logins each, ${warm.concurrency} at a time, in ${warm.rounds} rounds with the apps' order rotating so that all see the same machine state. ` +
        'A long-running BFF spends its life here, and a login storm brings it here within a few hundred logins. Logins/s is with several users signing in at once.'
      : '- **warm**: not measured in this run.',
    '',
    '| app | process | logins measured | logins/s | app CPU ms/login |',
    '|---|---|---:|---:|---:|',
  ];
  for (const state of STATES) {
    for (const login of logins) {
      const figures = figuresIn(login, state);
      if (!figures) continue;
      lines.push(
        `| ${login.app} | ${state} | ${figures.logins} | ${formatFigure(figures.perSecond, '', 1)} | ${ms(figures.cpuMsPerLogin)} |`,
      );
    }
  }
  return lines;
}
