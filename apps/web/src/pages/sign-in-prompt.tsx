import { SessionEndedNotice, SignInButton, StatusRegion } from '../components/notices.tsx';
import { PageTitle } from './page-title.tsx';

/** Props of {@link SignInPrompt}. */
export interface SignInPromptProps {
  /** The page the visitor wanted; sign-in comes back there. */
  returnTo: string;
  /** True when a session existed and the BFF ended it (401 from `/api`). */
  sessionEnded: boolean;
}

/** What signed-out visitors of a page that needs a session see instead of it. */
export function SignInPrompt({ returnTo, sessionEnded }: SignInPromptProps) {
  return (
    <>
      <PageTitle title="Sign in required" />
      <StatusRegion>{sessionEnded && <SessionEndedNotice returnTo={returnTo} />}</StatusRegion>
      {!sessionEnded && (
        <>
          <p>You need to sign in to see this page.</p>
          <SignInButton returnTo={returnTo} />
        </>
      )}
    </>
  );
}
