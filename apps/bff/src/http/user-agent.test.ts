import { describe, expect, it } from 'vitest';
import { describeDevice, deviceDescriptionOr, MAX_USER_AGENT_CHARS, UNKNOWN_DEVICE } from './user-agent.ts';

const WEBKIT = 'AppleWebKit/537.36 (KHTML, like Gecko)';
const IOS_WEBKIT = 'AppleWebKit/605.1.15 (KHTML, like Gecko)';

describe('describeDevice', () => {
  it.each([
    ['Chrome on Linux', `Mozilla/5.0 (X11; Linux x86_64) ${WEBKIT} Chrome/124.0.0.0 Safari/537.36`],
    [
      'Chrome on Windows',
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${WEBKIT} Chrome/124.0.0.0 Safari/537.36`,
    ],
    [
      'Firefox on Windows',
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
    ],
    ['Firefox on Linux', 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0'],
    [
      'Safari on iPhone',
      `Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ${IOS_WEBKIT} Version/17.4 Mobile/15E148 Safari/604.1`,
    ],
    [
      'Safari on macOS',
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) ${IOS_WEBKIT} Version/17.4 Safari/605.1.15`,
    ],
    [
      'Safari on iPad',
      `Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) ${IOS_WEBKIT} Version/17.4 Mobile/15E148 Safari/604.1`,
    ],
    [
      'Chrome on iPhone',
      `Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ${IOS_WEBKIT} CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1`,
    ],
    [
      'Firefox on iPhone',
      `Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) ${IOS_WEBKIT} FxiOS/125.0 Mobile/15E148 Safari/605.1.15`,
    ],
    [
      'Chrome on Android',
      `Mozilla/5.0 (Linux; Android 10; K) ${WEBKIT} Chrome/124.0.0.0 Mobile Safari/537.36`,
    ],
    [
      'Samsung Internet on Android',
      `Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) ${WEBKIT} SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36`,
    ],
    [
      'Edge on Windows',
      `Mozilla/5.0 (Windows NT 10.0; Win64; x64) ${WEBKIT} Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67`,
    ],
    [
      'Opera on macOS',
      `Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) ${WEBKIT} Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0`,
    ],
    [
      'Chrome on ChromeOS',
      `Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) ${WEBKIT} Chrome/124.0.0.0 Safari/537.36`,
    ],
  ])('%s', (expected, userAgent) => {
    expect(describeDevice(userAgent)).toBe(expected);
  });

  it('names the browser or the system alone when only one is recognised', () => {
    expect(describeDevice('Mozilla/5.0 (compatible) Firefox/125.0')).toBe('Firefox');
    expect(describeDevice('SomeApp/1.0 (Windows NT 10.0)')).toBe('Windows');
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['curl', 'curl/8.5.0'],
    ['Node’s fetch', 'node'],
    ['a bot', 'Googlebot/2.1 (+http://www.google.com/bot.html)'],
    ['markup', '<script>alert(1)</script>'],
  ])('%s is an unknown device', (_, userAgent) => {
    expect(describeDevice(userAgent)).toBe(UNKNOWN_DEVICE);
  });

  it('looks only at the first characters of a long header, quickly', () => {
    const padded = `Mozilla/5.0 ${'x'.repeat(MAX_USER_AGENT_CHARS)} (Windows NT 10.0) Firefox/125.0`;
    expect(describeDevice(padded)).toBe(UNKNOWN_DEVICE);
    const huge = `Mozilla/5.0 (Windows NT 10.0) Firefox/1 ${'('.repeat(5_000_000)}`;
    const start = performance.now();
    expect(describeDevice(huge)).toBe('Firefox on Windows');
    expect(performance.now() - start).toBeLessThan(50);
  });

  it('never returns anything of the header itself (versions, models)', () => {
    const description = describeDevice(
      `Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A) ${WEBKIT} Chrome/124.0.6367.82 Mobile Safari/537.36`,
    );
    expect(description).toBe('Chrome on Android');
    expect(description).not.toMatch(/\d|SM-/);
  });
});

describe('deviceDescriptionOr', () => {
  it('keeps a description describeDevice could have made', () => {
    expect(deviceDescriptionOr('Chrome on Linux')).toBe('Chrome on Linux');
    expect(deviceDescriptionOr('Samsung Internet on Android')).toBe('Samsung Internet on Android');
  });

  it.each([undefined, '', '<b>x</b>', 'x'.repeat(41), 'Chrome\non Linux', 'Chrome 124'])(
    'reads %j as an unknown device',
    (value) => {
      expect(deviceDescriptionOr(value)).toBe(UNKNOWN_DEVICE);
    },
  );
});
