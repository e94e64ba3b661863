import type { IncomingMessage } from 'node:http';
import { type DpopKey, type ProofKey, proofKeyOf } from '../oidc/dpop.ts';
import type { Session } from '../session/model/session.ts';
import type { BodyFraming } from './body-framing.ts';

/**
 * What the `/api` proxy needs for DPoP-bound sessions (`API_TOKEN_TYPE=dpop`): each session's
 * proof key, prepared once, and request bodies that can be sent twice (the API may ask for a
 * nonce, once).
 *
 * @see RFC 9449 §7 (resource requests), §9 (resource server nonces)
 */

/**
 * Sessions' DPoP proof keys, prepared once per session object: the store's cache keeps it alive,
 * and a refreshed session, with its new access token, is a new object.
 */
export function createProofKeyCache(): (session: Session, jwk: DpopKey) => ProofKey {
  const proofKeys = new WeakMap<Session, ProofKey>();
  return function proofKeyFor(session, jwk) {
    let key = proofKeys.get(session);
    if (!key) {
      key = proofKeyOf(jwk, session.accessToken);
      proofKeys.set(session, key);
    }
    return key;
  };
}

/** DPoP: request bodies up to this size are read before sending, so a nonce retry can replay them. */
const MAX_REPLAY_BODY_BYTES = 64 * 1024;

/**
 * The whole body of a request framed with a small `Content-Length` (empty for a request without
 * a body), or `undefined` when it must stream (chunked, or larger than the replay limit).
 */
export function readReplayableBody(req: IncomingMessage, framing: BodyFraming): Promise<Buffer | undefined> {
  if (framing.kind === 'chunked') return Promise.resolve(undefined);
  const length = framing.kind === 'length' ? framing.length : 0;
  if (length > MAX_REPLAY_BODY_BYTES) return Promise.resolve(undefined);
  if (length === 0) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
    req.once('close', () => {
      if (!req.complete) reject(new Error('the client went away mid-body'));
    });
  });
}
