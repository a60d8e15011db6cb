// The three browser engines behind one small API, for tests that run in each of them
// (engines.test.mjs): Chromium through playwright-core, Firefox (Debian's firefox-esr) through
// puppeteer-core over WebDriver BiDi, and WebKit (WebKitGTK's MiniBrowser) through
// WebKitWebDriver's classic WebDriver on a private X display (Xvfb). Nothing is downloaded: each
// drives the system's binary.
//
//   const browser = await launchEngine('webkit');
//   browser.version                                                // e.g. 'WebKitGTK 2.50.6 (MiniBrowser)'
//   const page = await browser.newPage();
//   await page.goto(url);
//   const value = await page.evaluate(async (arg) => ..., arg);   // one argument, JSON in and out
//   page.problems                                                  // errors the page reported
//   await page.close(); await browser.close();
//
// `problems`: uncaught errors and console errors, in every engine; failed responses (HTTP >= 400)
// where the driver reports responses (Chromium, Firefox). WebKit's classic WebDriver has no
// events: its page collects `error`/`unhandledrejection` and console.error itself once loaded.
//
// An evaluate may run for `scriptTimeout` ms in Firefox and WebKit (3 minutes unless a long
// benchmark asks for more; Chromium's has no limit): a call that never returns fails then.
// isPageProcess() tells which of a browser's processes hold its pages (and their workers), for
// figures read from /proc.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import { ROOT, launch as launchChromium, watch } from './harness.mjs';

export const ENGINES = Object.freeze(['chromium', 'firefox', 'webkit']);

/** How long one evaluate may run where the driver sets a limit (Firefox, WebKit), by default. */
const SCRIPT_TIMEOUT_MS = 180000;

/** The engines to test: SIGLIP_ENGINES (space- or comma-separated), default all three. */
export function selectedEngines() {
  const list = (process.env.SIGLIP_ENGINES ?? ENGINES.join(' ')).split(/[\s,]+/).filter(Boolean);
  for (const e of list) if (!ENGINES.includes(e)) throw new Error(`SIGLIP_ENGINES: unknown engine "${e}" (use ${ENGINES.join(', ')})`);
  return list;
}

/**
 * @param {'chromium' | 'firefox' | 'webkit'} name
 * @param {{fakeCamera?: boolean, webkitSharedArrayBuffer?: boolean, scriptTimeout?: number}} [options]
 *   `fakeCamera`: a camera that needs no permission prompt and films a test pattern (Chromium's
 *   fake device, WebKitGTK's mock capture devices; Firefox always has its fake streams, from
 *   tests/webdriver/firefox.json).
 *   `webkitSharedArrayBuffer`: WebKitGTK with SharedArrayBuffer, which Safari gives cross-origin
 *   isolated pages but WebKitGTK's web process never turns on (its pages say crossOriginIsolated,
 *   yet have no SharedArrayBuffer, and shared wasm memory cannot be posted to a worker); JavaScriptCore's
 *   JSC_useSharedArrayBuffer=1 turns it on, for every page of that browser.
 *   `scriptTimeout`: ms one evaluate may take in Firefox and WebKit (default 3 minutes).
 */
export async function launchEngine(name, { fakeCamera = false, webkitSharedArrayBuffer = false, scriptTimeout = SCRIPT_TIMEOUT_MS } = {}) {
  if (name === 'chromium') {
    return chromiumBrowser(await launchChromium(fakeCamera ? ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] : []));
  }
  if (name === 'firefox') return firefox(scriptTimeout);
  if (name === 'webkit') {
    return webkit({
      env: webkitSharedArrayBuffer ? { JSC_useSharedArrayBuffer: '1' } : {},
      args: fakeCamera ? ['--enable-media-stream=true', '--enable-mock-capture-devices=true'] : [],
      scriptTimeout,
    });
  }
  throw new Error(`unknown engine ${name}`);
}

/**
 * Whether a process runs `engine`'s web pages and their workers: Chromium's renderers, Firefox's
 * web content processes (`-contentproc … tab`; not its socket, RDD, utility or fork server
 * processes), WebKit's WebKitWebProcess.
 * @param {'chromium' | 'firefox' | 'webkit'} engine
 * @param {string} cmdline its /proc/PID/cmdline: arguments separated by NULs, or by spaces in the
 *   child processes of Chromium and Firefox, which rewrite theirs
 */
export function isPageProcess(engine, cmdline) {
  const argv = cmdline.split(/[\0 ]/).filter(Boolean);
  if (!argv.length) return false;
  if (engine === 'chromium') return argv[0].includes('chrom') && argv.includes('--type=renderer');
  if (engine === 'firefox') return argv.includes('-contentproc') && argv.at(-1) === 'tab';
  return path.basename(argv[0]) === 'WebKitWebProcess';
}

// ---- Chromium and Firefox --------------------------------------------------------------

/**
 * A playwright (Chromium) or puppeteer (Firefox) page: both have the calls used here, and the
 * events harness.mjs's watch() listens to.
 */
function drivenPage(page) {
  return {
    problems: watch(page),
    goto: (url) => page.goto(url).then(() => undefined),
    evaluate: (fn, arg) => page.evaluate(fn, arg),
    close: () => page.close(),
  };
}

/**
 * Pages in one browser context, so that they share storage (the cache, IndexedDB) as the other
 * engines' pages do.
 * @param {import('playwright-core').Browser} browser
 */
async function chromiumBrowser(browser) {
  const context = await browser.newContext();
  return {
    name: 'chromium',
    version: `Chromium ${browser.version()}`,
    newPage: async () => drivenPage(await context.newPage()),
    close: () => browser.close(),
  };
}

/**
 * Firefox's settings for the tests (firefox-esr; a fake camera with no permission prompt), one
 * file for both drivers: geckodriver reads it too (build.sh's wasm tests).
 */
const FIREFOX_OPTIONS = JSON.parse(readFileSync(path.join(ROOT, 'tests/webdriver/firefox.json'), 'utf8'))['moz:firefoxOptions'];

/** @param {number} scriptTimeout */
async function firefox(scriptTimeout) {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX ?? FIREFOX_OPTIONS.binary,
    headless: true,
    extraPrefsFirefox: FIREFOX_OPTIONS.prefs,
    protocolTimeout: scriptTimeout,
  });
  return {
    name: 'firefox',
    version: (await browser.version()).replace(/^firefox\//, 'Firefox '),
    newPage: async () => drivenPage(await browser.newPage()),
    close: () => browser.close(),
  };
}

// ---- WebKit -----------------------------------------------------------------------------

/** A free TCP port on 127.0.0.1. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** Starts Xvfb on a display it picks (-displayfd): `{display, stop}`. */
async function xvfb() {
  const child = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  const display = await new Promise((resolve, reject) => {
    let buf = '';
    child.stdio[3].on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) resolve(`:${buf.trim()}`);
    });
    child.on('error', (e) => reject(new Error(`Xvfb did not start (apt-get install xvfb): ${e.message}`)));
    child.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
  return { display, stop: () => child.kill() };
}

/** Wraps a page function for WebDriver's execute/async: the result or the error, as JSON. */
function asyncScript(fn) {
  // A document that goes away (a navigation, a reload) ends the call, as it does in the other
  // drivers (WebKitWebDriver would wait for the script timeout).
  return `const done = arguments[arguments.length - 1];
addEventListener('pagehide', () => done({ ok: false, error: 'Error: the document went away (a navigation or reload) during the call' }), { once: true });
Promise.resolve(arguments[0]).then(${fn.toString()}).then(
  (value) => done({ ok: true, value: value === undefined ? null : value }),
  (e) => done({ ok: false, error: e && e.name ? e.name + ': ' + e.message : String(e) }),
);`;
}

/** Installed in each page once it has loaded: what WebKit's WebDriver cannot report. */
function collectProblems() {
  if (window.__problems) return;
  const problems = (window.__problems = []);
  addEventListener('error', (e) => problems.push(`pageerror: ${e.message}`));
  addEventListener('unhandledrejection', (e) => problems.push(`pageerror: ${e.reason?.message ?? e.reason}`));
  const error = console.error.bind(console);
  console.error = (...args) => {
    problems.push(`console: ${args.join(' ')}`);
    error(...args);
  };
}

/**
 * @param {{env: Record<string, string>, args: string[], scriptTimeout: number}} options `env`: added
 *   to the environment of WebKitWebDriver and so of the browser; `args`: MiniBrowser's command
 *   line, after `--automation`
 */
async function webkit({ env, args, scriptTimeout }) {
  const x = await xvfb();
  const port = await freePort();
  const driver = spawn(process.env.WEBKIT_DRIVER ?? '/usr/bin/WebKitWebDriver', [`--port=${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env, DISPLAY: x.display },
  });
  let log = '';
  driver.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  /** One WebDriver command: its value, or an Error with the driver's message. */
  async function wd(method, url, body) {
    const r = await fetch(base + url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const json = await r.json();
    if (!r.ok) throw new Error(`WebKitWebDriver ${method} ${url}: ${json.value?.error}: ${json.value?.message}`);
    return json.value;
  }
  let session;
  for (let attempt = 0; ; attempt++) {
    try {
      session = await wd('POST', '/session', { capabilities: { alwaysMatch: { 'webkitgtk:browserOptions': { args: ['--automation', ...args] } } } });
      break;
    } catch (err) {
      if (attempt >= 50) throw new Error(`WebKitWebDriver did not start: ${err.message}\n${log}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const s = `/session/${session.sessionId}`;
  await wd('POST', `${s}/timeouts`, { script: scriptTimeout, pageLoad: 120000 });
  // One window, one page at a time (MiniBrowser's extra windows cannot be closed by handle):
  // a page's close() leaves the window on about:blank for the next.
  let open = null;
  const { browserName, browserVersion } = session.capabilities;
  return {
    name: 'webkit',
    version: `WebKitGTK ${browserVersion} (${browserName})`,
    async newPage() {
      if (open) throw new Error('WebKit here runs one page at a time: close the other first');
      const page = {
        problems: [],
        async goto(url) {
          await wd('POST', `${s}/url`, { url });
          await wd('POST', `${s}/execute/sync`, { script: `(${collectProblems.toString()})()`, args: [] });
        },
        async evaluate(fn, arg) {
          const out = await wd('POST', `${s}/execute/async`, { script: asyncScript(fn), args: [arg ?? null] });
          const seen = await wd('POST', `${s}/execute/sync`, { script: 'return (window.__problems || []).splice(0);', args: [] });
          page.problems.push(...seen);
          if (!out.ok) throw new Error(`in WebKit: ${out.error}`);
          return out.value;
        },
        async close() {
          if (open !== page) return;
          open = null;
          await wd('POST', `${s}/url`, { url: 'about:blank' });
        },
      };
      open = page;
      return page;
    },
    async close() {
      await wd('DELETE', s).catch(() => {});
      driver.kill();
      x.stop();
    },
  };
}
