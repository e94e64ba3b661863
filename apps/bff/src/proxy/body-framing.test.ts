import { describe, expect, it } from 'vitest';
import { pushFramingField, requestBodyFraming } from './body-framing.ts';

describe('requestBodyFraming (RFC 9112 §6.3)', () => {
  it.each([
    ['no framing field: no body', {}, { kind: 'none' }],
    ['Content-Length', { 'content-length': '12' }, { kind: 'length', length: 12 }],
    ['Content-Length: 0', { 'content-length': '0' }, { kind: 'length', length: 0 }],
    ['chunked', { 'transfer-encoding': 'chunked' }, { kind: 'chunked' }],
    ['chunked in another case, with spaces', { 'transfer-encoding': ' Chunked ' }, { kind: 'chunked' }],
  ])('%s', (_, headers, framing) => {
    expect(requestBodyFraming(headers)).toEqual({ ok: true, framing });
  });

  it.each([
    ['both fields (§6.3 ¶3)', { 'transfer-encoding': 'chunked', 'content-length': '5' }],
    ['a coding before chunked (§6.1)', { 'transfer-encoding': 'gzip, chunked' }],
    ['chunked twice', { 'transfer-encoding': 'chunked, chunked' }],
    ['a final coding other than chunked (§6.3 ¶4)', { 'transfer-encoding': 'gzip' }],
    ['a signed length', { 'content-length': '+5' }],
    ['a list of lengths', { 'content-length': '5, 5' }],
    ['a length past 2^53', { 'content-length': '99999999999999999999' }],
  ])('refuses %s', (_, headers) => {
    expect(requestBodyFraming(headers).ok).toBe(false);
  });
});

describe('pushFramingField', () => {
  const fieldsFor = (framing: Parameters<typeof pushFramingField>[1], method: string) => {
    const headers: string[] = [];
    pushFramingField(headers, framing, method);
    return headers;
  };

  it('writes the parsed length or chunked coding, whatever the method', () => {
    expect(fieldsFor({ kind: 'length', length: 3 }, 'GET')).toEqual(['content-length', '3']);
    expect(fieldsFor({ kind: 'chunked' }, 'DELETE')).toEqual(['transfer-encoding', 'chunked']);
  });

  it('frames a body-less POST, PUT or PATCH with Content-Length: 0 and leaves other methods without a field', () => {
    for (const method of ['POST', 'PUT', 'PATCH'])
      expect(fieldsFor({ kind: 'none' }, method)).toEqual(['content-length', '0']);
    for (const method of ['GET', 'HEAD', 'DELETE', 'OPTIONS'])
      expect(fieldsFor({ kind: 'none' }, method)).toEqual([]);
  });
});
