/**
 * Debian's Chromium driven by playwright-core, and a recorder of what the browser received, for
 * the "no token ever reaches the browser" checks. Test-only.
 */
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';

/** Where CI's `apt-get install -y chromium` puts it; `npx playwright install` is not used. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Generous: a busy 2-core CI machine runs the IdP, the API, the BFF and Chromium at once. */
export const UI_TIMEOUT_MS = 20_000;

const SCREENSHOT_DIR = fileURLToPath(new URL('../screenshots/', import.meta.url));

/**
 * JWS compact serialisation with a JSON header and a JSON payload: what an ID or access token
 * looks like. The BFF's session cookie is a JWE with `alg: dir` (empty second segment), so it
 * does not match; a plain signed cookie holding tokens would.
 */
export const JWT_PATTERN = /eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}/;

/** CDP resource types whose contents page scripts can read or that carry the page itself. */
const INSPECTED_TYPES: ReadonlySet<string> = new Set(['Document', 'XHR', 'Fetch', 'Script']);

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * A fresh browser profile (no cookies, no cache) with one page whose every wait defaults to
 * {@link UI_TIMEOUT_MS}.
 */
export async function openPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(UI_TIMEOUT_MS);
  page.setDefaultNavigationTimeout(UI_TIMEOUT_MS);
  return { context, page };
}

/** One response the browser received from the origin under watch. */
export interface ReceivedResponse {
  readonly method: string;
  readonly url: URL;
  readonly status: number;
  /** CDP's resource type: `Document`, `Script`, `XHR` or `Fetch`. */
  readonly resourceType: string;
  /** Every header, `name: value` per line (including `Set-Cookie` and `Location`). */
  readonly headers: string;
  /** `undefined` for redirects, which have no body. */
  readonly body: string | undefined;
}

/** Responses of one origin, recorded as the browser receives them. */
export interface ResponseRecorder {
  /** Waits for every paused response to be read and released, then returns all of them so far. */
  settle(): Promise<ReceivedResponse[]>;
}

/** The fields of CDP's `Fetch.requestPaused` event read here (its types are not exported). */
interface PausedResponse {
  readonly requestId: string;
  readonly request: { readonly url: string; readonly method: string };
  readonly resourceType: string;
  readonly responseErrorReason?: string;
  readonly responseStatusCode?: number;
  readonly responseHeaders?: readonly { readonly name: string; readonly value: string }[];
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/**
 * Records every document/xhr/fetch/script response from `origin` that reaches `page`, body
 * included, at the network layer: Chrome's `Fetch` domain pauses each response before the page
 * sees it, the body is copied, and the response continues unchanged (cookies are still set by the
 * browser itself). Playwright's `response.text()` cannot do this reliably: it loses bodies the
 * page never reads (a 401 whose body is ignored) or that it reads just before navigating away
 * (`POST /auth/logout`, then `location.assign`).
 *
 * @see https://chromedevtools.github.io/devtools-protocol/tot/Fetch/
 */
export async function recordResponses(page: Page, origin: string): Promise<ResponseRecorder> {
  const cdp = await page.context().newCDPSession(page);
  const pending: Promise<ReceivedResponse | undefined>[] = [];
  const failures: string[] = [];

  async function read(event: PausedResponse): Promise<ReceivedResponse | undefined> {
    const status = event.responseStatusCode;
    if (status === undefined || event.responseErrorReason || !INSPECTED_TYPES.has(event.resourceType)) {
      return undefined;
    }
    let body: string | undefined;
    if (!isRedirect(status)) {
      const answer = await cdp.send('Fetch.getResponseBody', { requestId: event.requestId });
      body = answer.base64Encoded ? Buffer.from(answer.body, 'base64').toString('utf8') : answer.body;
    }
    return {
      method: event.request.method,
      url: new URL(event.request.url),
      status,
      resourceType: event.resourceType,
      headers: (event.responseHeaders ?? []).map(({ name, value }) => `${name}: ${value}`).join('\n'),
      body,
    };
  }

  cdp.on('Fetch.requestPaused', (event) => {
    // Always release the response, read or not, or the page would wait for it forever. Failures
    // are kept for `settle()`, not left as unhandled rejections when a test ends half-way.
    const done = read(event).finally(() => cdp.send('Fetch.continueRequest', { requestId: event.requestId }));
    pending.push(
      done.catch((error: unknown) => {
        failures.push(`${event.request.method} ${event.request.url}: ${String(error)}`);
        return undefined;
      }),
    );
  });
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: `${origin}/*`, requestStage: 'Response' }] });

  return {
    async settle() {
      const all = await Promise.all(pending);
      if (failures.length) throw new Error(`responses not recorded:\n${failures.join('\n')}`);
      return all.filter((entry): entry is ReceivedResponse => entry !== undefined);
    },
  };
}

/** Saves a full-page screenshot as `e2e/screenshots/<name>.png`. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIR}${name}.png`, fullPage: true });
}
