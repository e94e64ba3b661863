import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostSecretDevClientFor, DEV_POST_CLIENT_ID, DEV_POST_CLIENT_SECRET } from './dev-clients.ts';
import { startDevIdp } from './dev-idp.ts';

const ORIGIN = 'http://localhost:8123';

describe('createPostSecretDevClientFor', () => {
  let idp: Awaited<ReturnType<typeof startDevIdp>>;
  beforeAll(async () => {
    idp = await startDevIdp({ port: 0, clients: [createPostSecretDevClientFor(ORIGIN)] });
  });
  afterAll(async () => {
    await idp?.close();
  });

  it('registers client_secret_post with a secret Basic would percent-encode, and the default URIs', () => {
    expect(createPostSecretDevClientFor(ORIGIN)).toMatchObject({
      client_id: DEV_POST_CLIENT_ID,
      client_secret: DEV_POST_CLIENT_SECRET,
      token_endpoint_auth_method: 'client_secret_post',
      redirect_uris: [`${ORIGIN}/authorization-code/callback`],
      post_logout_redirect_uris: [`${ORIGIN}/`],
    });
    expect(DEV_POST_CLIENT_SECRET).toContain('-');
    expect(encodeURIComponent(DEV_POST_CLIENT_SECRET)).not.toBe(DEV_POST_CLIENT_SECRET);
  });

  it('authenticates the secret sent in the form body, and refuses a wrong one', async () => {
    const revoke = (secret: string) =>
      fetch(`${idp.issuer}/v1/revoke`, {
        method: 'POST',
        body: new URLSearchParams({ token: 'unknown', client_id: DEV_POST_CLIENT_ID, client_secret: secret }),
      });
    expect((await revoke(DEV_POST_CLIENT_SECRET)).status).toBe(200);
    const refused = await revoke(`${DEV_POST_CLIENT_SECRET}x`);
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: 'invalid_client' });
    expect(idp.events.clientAuthentications).toMatchObject([
      { clientId: DEV_POST_CLIENT_ID, method: 'client_secret_post', error: undefined },
      { method: 'client_secret_post', error: 'invalid_client' },
    ]);
  });
});
