import type { UserClaims } from '@okta-bff/oidc/wire';
import { claimRows } from '../claims.ts';
import { PageTitle } from './page-title.tsx';

/** Props of {@link ProfilePage}. */
export interface ProfilePageProps {
  user: UserClaims;
  /** When the BFF session ends, epoch seconds. */
  expiresAt: number;
}

/** `/profile`: the user's claims and when the session ends. Never a token (see `claimRows`). */
export function ProfilePage({ user, expiresAt }: ProfilePageProps) {
  const expires = new Date(expiresAt * 1000);
  const valid = Number.isFinite(expires.getTime());
  return (
    <>
      <PageTitle title="Profile" />
      <p>
        Your session ends at{' '}
        <time data-testid="session-expires" {...(valid ? { dateTime: expires.toISOString() } : {})}>
          {valid ? expires.toLocaleString() : 'an unknown time'}
        </time>
        .
      </p>
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
