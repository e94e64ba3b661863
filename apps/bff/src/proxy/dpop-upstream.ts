import type { IncomingMessage } from 'node:http';
import type { UpstreamToken } from '../auth/client-tokens.ts';
import { type ProofKey, proofKeyOf } from '../oidc/dpop.ts';
import type { BodyFraming } from './body-framing.ts';

/**
 * What the `/api` proxy needs for DPoP-bound sessions (`API_TOKEN_TYPE=dpop`): each session's
 * proof key, prepared once, and request bodies that can be sent twice (the API may ask for a
 * nonce, once).
 *
 * @see RFC 9449 §7 (resource requests), §9 (resource server nonces)
 */

/**
 * DPoP proof keys, prepared once per token object: a session (the store's cache keeps it alive,
 * and a refreshed session, with its new access token, is a new object) or a cached
 * client-credentials token.
 */
export function createProofKeyCache(): (token: UpstreamToken) => ProofKey {
  const proofKeys = new WeakMap<UpstreamToken, ProofKey>();
  return function proofKeyFor(token) {
    let key = proofKeys.get(token);
    if (!key) {
      if (!token.dpopKey) throw new TypeError('a DPoP proof key was asked for a bearer token');
      key = proofKeyOf(token.dpopKey, token.accessToken);
      proofKeys.set(token, key);
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
