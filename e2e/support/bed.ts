/**
 * The stack and a Chromium for one test file: started before its tests, closed after them
 * (even when starting failed half-way). Test-only.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { launchChromium } from './browser.ts';
import { type Stack, type StackOptions, startStack } from './stack.ts';

export interface BrowserBed {
  readonly stack: Stack;
  readonly browser: Browser;
}

/** Registers the file's `beforeAll`/`afterAll`; read the bed's fields inside tests and hooks only. */
export function useBrowserBed(options?: StackOptions): BrowserBed {
  let stack: Stack | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    stack = await startStack(options);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the test bed's ${what} is read before beforeAll started it`);
    return value;
  };
  return {
    get stack() {
      return started(stack, 'stack');
    },
    get browser() {
      return started(browser, 'browser');
    },
  };
}
