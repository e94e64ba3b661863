import type { Session } from '../api.ts';
import { displayName } from '../claims.ts';
import { LoginErrorNotice, SignInButton, StatusRegion } from '../components/notices.tsx';
import { PublicNotices } from '../components/public-notices.tsx';
import { PageTitle } from './page-title.tsx';

/** Props of {@link HomePage}. */
export interface HomePageProps {
  session: Session;
  /** Our sentence for a `?login_error=` the app started with, if any. */
  loginError: string | null;
}

/**
 * `/`: a sign-in prompt, or a greeting once signed in; the public notices either way. A
 * `login_error` is shown signed in too: a step-up that failed (`step_up_failed`,
 * `step_up_invalid`) comes back here with the previous session still active.
 */
export function HomePage({ session, loginError }: HomePageProps) {
  if (session.signedIn) {
    return (
      <>
        <PageTitle title="Home">
          Hello, <span data-testid="greeting">{displayName(session.user)}</span>
        </PageTitle>
        <StatusRegion>
          {loginError && <LoginErrorNotice message={loginError} returnTo="/" retry={false} />}
        </StatusRegion>
        <p>
          You are signed in. Your profile shows the claims the identity provider gave us; your items come from
          the sample API, called by the server on your behalf.
        </p>
        <p class="muted">Your tokens never reach this page: they stay on the server.</p>
        <PublicNotices />
      </>
    );
  }
  return (
    <>
      <PageTitle title="Welcome" />
      <StatusRegion>{loginError && <LoginErrorNotice message={loginError} returnTo="/" />}</StatusRegion>
      <p>Sign in with your organisation's account to see your profile and your items.</p>
      {/* One sign-in button per page: the login-error notice carries its own "Try again". */}
      {!loginError && <SignInButton returnTo="/" />}
      <PublicNotices />
    </>
  );
}
