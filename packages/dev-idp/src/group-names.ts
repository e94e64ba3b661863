/**
 * Generated, directory-like group names for the test user who is in many groups. Real Okta orgs
 * accumulate hundreds of groups from app assignments, HR departments, projects and offices
 * (often synced from Active Directory), and a user in a few hundred of them is what makes tokens
 * large. The names mix several word lists so they compress about as badly as real ones do:
 * a list like `group-001 … group-300` would let a compressing session store look far better
 * than it is with a real directory.
 *
 * @see https://developer.okta.com/docs/guides/customize-tokens-groups-claim/
 */

const APPS = [
  'salesforce',
  'workday',
  'servicenow',
  'github-enterprise',
  'jira-cloud',
  'confluence',
  'slack',
  'zoom',
  'tableau',
  'snowflake',
  'datadog',
  'pagerduty',
  'netsuite',
  'box',
  'docusign',
  'zendesk',
  'figma',
  'greenhouse',
  'coupa',
  'looker',
] as const;
const APP_ROLES = [
  'readers',
  'writers',
  'admins',
  'approvers',
  'power-users',
  'auditors',
  'billing',
] as const;

const DEPARTMENTS = [
  'engineering',
  'finance',
  'marketing',
  'sales',
  'legal',
  'people-ops',
  'customer-success',
  'security',
  'product',
  'design',
  'data-science',
  'procurement',
] as const;
const TEAMS = [
  'platform',
  'payments',
  'identity',
  'growth',
  'mobile',
  'infrastructure',
  'payroll',
  'emea-field',
  'compliance',
  'research',
  'onboarding',
  'analytics',
  'enablement',
  'tax',
] as const;

const CODENAMES = [
  'apollo',
  'borealis',
  'cascade',
  'driftwood',
  'ember',
  'fjord',
  'granite',
  'halcyon',
  'ironbark',
  'juniper',
  'kestrel',
  'lumen',
  'meridian',
  'nimbus',
  'obsidian',
  'polaris',
] as const;
const PROJECT_ROLES = ['contributors', 'reviewers', 'leads', 'stakeholders', 'observers'] as const;

const REGIONS = {
  emea: ['berlin', 'dublin', 'london', 'paris', 'madrid', 'warsaw', 'stockholm', 'tel-aviv'],
  amer: ['toronto', 'austin', 'new-york', 'sao-paulo', 'seattle', 'chicago', 'mexico-city'],
  apac: ['singapore', 'sydney', 'tokyo', 'bangalore', 'seoul', 'auckland'],
} as const;
const OFFICE_ROLES = ['all-staff', 'managers', 'contractors', 'facilities', 'on-call', 'interns'] as const;

/** Active Directory style names, as an AD agent syncs them: mixed case, underscores. */
const AD_UNITS = ['Finance', 'Sales', 'IT', 'HR', 'Legal', 'Ops', 'Marketing', 'Support'] as const;
const AD_PURPOSES = [
  'SharePoint_Contribute',
  'FileShare_ReadOnly',
  'VPN_Users',
  'Print_Operators',
  'Exchange_SendAs',
  'Citrix_Desktop',
  'BitLocker_Recovery',
] as const;

/** A handful of AWS accounts, as an org has; groups mapped to an account and a permission set. */
const AWS_ACCOUNTS = [
  '109738136874',
  '902582619106',
  '653683766955',
  '248019577312',
  '771204958830',
] as const;
const AWS_PERMISSION_SETS = ['ReadOnly', 'PowerUser', 'Billing', 'SecurityAudit', 'DataEngineer'] as const;

const MIN_LENGTH = 20;
const MAX_LENGTH = 40;
/** A fixed seed: the same names on every machine and every run, so tests and sizes are stable. */
const SEED = 0x5eed_0300;

/** mulberry32: a tiny deterministic PRNG; not for anything secret. */
function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One candidate name of a randomly chosen kind; it may be too short, too long or a repeat. */
function candidate(random: () => number): string {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T;
  const kind = random();
  if (kind < 0.3) return `app-${pick(APPS)}-${pick(APP_ROLES)}`;
  if (kind < 0.5) return `dept-${pick(DEPARTMENTS)}-${pick(TEAMS)}`;
  if (kind < 0.7) {
    const year = 2024 + Math.floor(random() * 8);
    return `proj-${pick(CODENAMES)}-${year}-${pick(PROJECT_ROLES)}`;
  }
  if (kind < 0.85) {
    const region = pick(Object.keys(REGIONS) as (keyof typeof REGIONS)[]);
    return `region-${region}-${pick(REGIONS[region])}-${pick(OFFICE_ROLES)}`;
  }
  if (kind < 0.95) return `AD_${pick(AD_UNITS)}_${pick(AD_PURPOSES)}`;
  return `aws-${pick(AWS_ACCOUNTS)}-${pick(AWS_PERMISSION_SETS)}`;
}

/**
 * `count` distinct group names: Okta's built-in `Everyone` first, then generated names of
 * 20–40 characters each. Deterministic: the same list for the same `count`.
 */
export function generateGroupNames(count: number): string[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new TypeError('generateGroupNames: count must be ≥ 1');
  const random = createRandom(SEED);
  const names = new Set<string>(['Everyone']);
  while (names.size < count) {
    const name = candidate(random);
    if (name.length >= MIN_LENGTH && name.length <= MAX_LENGTH) names.add(name);
  }
  return [...names];
}
