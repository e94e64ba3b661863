import type { UserClaims } from '@okta-bff/oidc/wire';
import { claimRows, describeAcr } from '../claims.ts';
import { PageTitle } from './page-title.tsx';

/** Props of {@link ProfilePage}. Times are epoch milliseconds; `null`: unknown (an older BFF). */
export interface ProfilePageProps {
  user: UserClaims;
  /** The session's absolute end, on this browser's clock (see `session-expiry.ts`). */
  endsAt: number | null;
  /** When the session idles out unless the user does something first (an estimate, see `session-expiry.ts`). */
  idleEndsAt: number | null;
  /** The session's `acr`: how the user signed in. */
  acr: string | null;
  /** When the user signed in. */
  authTime: number | null;
}

/** A `<time>` with a local date and time, or "an unknown time". */
function LocalTime({ epochMs, testId }: { epochMs: number | null; testId: string }) {
  const date = epochMs === null ? null : new Date(epochMs);
  const valid = date !== null && Number.isFinite(date.getTime());
  return (
    <time data-testid={testId} {...(valid ? { dateTime: date.toISOString() } : {})}>
      {valid ? date.toLocaleString() : 'an unknown time'}
    </time>
  );
}

/**
 * `/profile`: the user's claims, when the session ends (absolute and idle) and how the user signed
 * in. Never a token (see `claimRows`).
 */
export function ProfilePage({ user, endsAt, idleEndsAt, acr, authTime }: ProfilePageProps) {
  const method = describeAcr(acr);
  return (
    <>
      <PageTitle title="Profile" />
      <dl class="facts" data-testid="session-facts">
        <dt>Your session ends at</dt>
        <dd>
          <LocalTime epochMs={endsAt} testId="session-expires" />
        </dd>
        {idleEndsAt !== null && (
          <>
            <dt>If you are inactive, you will be signed out at</dt>
            <dd>
              <LocalTime epochMs={idleEndsAt} testId="session-idle-expires" />{' '}
              <span class="muted">(using the app moves this later)</span>
            </dd>
          </>
        )}
        <dt>You signed in</dt>
        <dd data-testid="sign-in-method">
          {method === null ? 'in a way the identity provider did not state' : null}
          {method !== null && 'words' in method ? method.words : null}
          {method !== null && 'raw' in method ? (
            <>
              with <code>{method.raw}</code>
            </>
          ) : null}
        </dd>
        <dt>You signed in at</dt>
        <dd>
          <LocalTime epochMs={authTime === null ? null : authTime * 1000} testId="auth-time" />
        </dd>
      </dl>
      <div class="table-wrap">
        <table data-testid="profile-table">
          <caption>Claims about you from the identity provider</caption>
          <thead>
            <tr>
              <th scope="col">Claim</th>
              <th scope="col">Value</th>
            </tr>
          </thead>
          <tbody>
            {claimRows(user).map((row) => (
              <tr key={row.claim}>
                <th scope="row">
                  <code>{row.claim}</code>
                </th>
                <td>{row.value}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}
