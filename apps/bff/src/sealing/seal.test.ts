import { CompactEncrypt, compactDecrypt, decodeProtectedHeader } from 'jose';
import { describe, expect, it } from 'vitest';
import { deriveKeyRing } from './keys.ts';
import { seal, unseal } from './seal.ts';

const ring = deriveKeyRing(['s'.repeat(32), 'o'.repeat(32)], 'bff_test');
const other = deriveKeyRing(['x'.repeat(32)], 'bff_test');
const now = () => Date.now() / 1000;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value ? new TextDecoder().decode(value) : value);

describe('seal', () => {
  it('makes a compact JWE (dir, A256GCM) that jose opens, with the expiry and kid in its protected header', async () => {
    const expiresAtS = now() + 600.123;
    const sealed = await seal(bytes('{"state":"s"}'), ring, expiresAtS);
    const [header, encryptedKey, iv, ciphertext, tag] = sealed.split('.');
    expect([encryptedKey, iv?.length, tag?.length]).toEqual(['', 16, 22]);
    expect(ciphertext).not.toContain('state');
    expect(decodeProtectedHeader(sealed)).toEqual({
      alg: 'dir',
      enc: 'A256GCM',
      kid: ring.current.kid,
      exp: expiresAtS,
    });
    const opened = await compactDecrypt(sealed, await ring.current.key, {
      keyManagementAlgorithms: ['dir'],
      contentEncryptionAlgorithms: ['A256GCM'],
    });
    expect(text(opened.plaintext)).toBe('{"state":"s"}');
    expect(header).toBe(Buffer.from(JSON.stringify(opened.protectedHeader)).toString('base64url'));
  });

  it('draws a new IV for every value', async () => {
    const a = await seal(bytes('same'), ring, now() + 60);
    const b = await seal(bytes('same'), ring, now() + 60);
    expect(a.split('.')[2]).not.toBe(b.split('.')[2]);
    expect(a.split('.')[3]).not.toBe(b.split('.')[3]);
  });

  it('opens what it seals, and values jose sealed the same way (earlier releases)', async () => {
    expect(text(await unseal(await seal(bytes('x'), ring, now() + 60), ring))).toBe('x');
    const byJose = await new CompactEncrypt(bytes('from jose'))
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: ring.current.kid, exp: now() + 60 })
      .encrypt(await ring.current.key);
    expect(text(await unseal(byJose, ring))).toBe('from jose');
  });

  it('binds the value to its place through the authenticated header', async () => {
    const sealed = await seal(bytes('record'), ring, now() + 60, 'key-a');
    expect(decodeProtectedHeader(sealed)).toMatchObject({ bnd: 'key-a' });
    expect(text(await unseal(sealed, ring, { boundTo: 'key-a' }))).toBe('record');
    expect(await unseal(sealed, ring, { boundTo: 'key-b' })).toBeUndefined();
    expect(await unseal(sealed, ring)).toBeUndefined();
    const [, ...rest] = sealed.split('.');
    const header = { alg: 'dir', enc: 'A256GCM', kid: ring.current.kid, exp: now() + 60, bnd: 'key-b' };
    const moved = [Buffer.from(JSON.stringify(header)).toString('base64url'), ...rest].join('.');
    expect(await unseal(moved, ring, { boundTo: 'key-b' })).toBeUndefined();
  });

  it('never opens an expired value, another key’s, or an altered one', async () => {
    expect(await unseal(await seal(bytes('x'), ring, now() - 1), ring)).toBeUndefined();
    expect(await unseal(await seal(bytes('x'), other, now() + 60), ring)).toBeUndefined();
    const sealed = await seal(bytes('payload'), ring, now() + 60);
    const parts = sealed.split('.');
    const flip = (part: string) => `${part.slice(0, -2)}${part.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const index of [0, 2, 3, 4]) {
      const altered = parts.map((part, i) => (i === index ? flip(part) : part)).join('.');
      expect(await unseal(altered, ring)).toBeUndefined();
    }
    // The header is the AAD: a later expiry written into it breaks the seal.
    const later = { ...decodeProtectedHeader(sealed), exp: now() + 3600 };
    const extended = [Buffer.from(JSON.stringify(later)).toString('base64url'), ...parts.slice(1)].join('.');
    expect(await unseal(extended, ring)).toBeUndefined();
  });

  it('seals with the first secret; every secret of the ring opens', async () => {
    const retired = deriveKeyRing(['o'.repeat(32)], 'bff_test');
    const old = await seal(bytes('old'), retired, now() + 60);
    expect(text(await unseal(old, ring))).toBe('old');
    expect(await unseal(await seal(bytes('new'), ring, now() + 60), retired)).toBeUndefined();
  });
});
