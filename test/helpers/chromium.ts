// A headless Chromium driven over the DevTools protocol, with Node's own
// WebSocket (no browser package from npm): open a page, read it with
// JavaScript, answer an HTTP auth prompt as a user would, take a screenshot,
// and collect every console error and uncaught exception on the way.
//
// One WebSocket to the browser; the page is a target attached in flat mode,
// so its commands and events carry a sessionId on that same socket.

import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

type Teardown = { teardown(fn: () => unknown): void };
type CdpEvent = { method: string; params: any; sessionId?: string };

export type ChromiumPage = {
  /** Console errors, uncaught exceptions and error log entries (failed loads included), as they came. */
  readonly errors: string[];
  send(method: string, params?: object): Promise<any>;
  /** Loads `url` and resolves once its load event fired. */
  navigate(url: string): Promise<void>;
  /** The value of a JavaScript expression in the page (promises awaited); throws what the page threw. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  /** Evaluates `expression` until it is truthy; its value, or an error after `timeoutMs`. */
  waitFor<T = unknown>(expression: string, timeoutMs?: number): Promise<T>;
  /** Answers the browser's HTTP auth prompts (Basic) with these credentials, as a user typing them would. */
  answerAuth(username: string, password: string): Promise<void>;
  /** A PNG of the whole page. */
  screenshot(): Promise<Buffer>;
};

const LAUNCH_TIMEOUT_MS = 30_000;

/** The Chromium binary: $CHROMIUM_BIN, /usr/bin/chromium, or `chromium` on PATH; null when there is none. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [env.CHROMIUM_BIN, '/usr/bin/chromium', ...(env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'chromium'))];
  for (const path of candidates) {
    if (!path) continue;
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return null;
}

/** A fresh browser with one blank page (stopped at teardown, its process group and profile dir included); null without Chromium. */
export async function launchChromium(t: Teardown, options: { width?: number; height?: number } = {}): Promise<ChromiumPage | null> {
  const bin = findChromium();
  if (!bin) return null;
  const profile = mkdtempSync(join(tmpdir(), 'infergate-chromium-'));
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
  args.push(`--user-data-dir=${profile}`, '--remote-debugging-port=0', `--window-size=${options.width ?? 1280},${options.height ?? 900}`, 'about:blank');
  // Its own process group: one signal stops the browser and every helper process it forked.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    stopGroup(child, 'SIGTERM');
    const killed = setTimeout(() => stopGroup(child, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(killed);
    stopGroup(child, 'SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  });

  const endpoint = await devtoolsEndpoint(child);
  const socket = new WebSocket(endpoint);
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', () => reject(new Error(`cannot connect to ${endpoint}`)), { once: true });
  });
  t.teardown(() => socket.close());

  let nextId = 1;
  const calls = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void; method: string }>();
  const listeners = new Set<(event: CdpEvent) => void>();
  socket.addEventListener('message', (message) => {
    const data = JSON.parse(String(message.data));
    const call = data.id === undefined ? undefined : calls.get(data.id);
    if (call) {
      calls.delete(data.id);
      if (data.error) call.reject(new Error(`${call.method}: ${data.error.message}`));
      else call.resolve(data.result);
    } else if (data.method) for (const listener of listeners) listener(data);
  });
  const command = (method: string, params: object = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      calls.set(id, { resolve, reject, method });
      socket.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    });

  const { targetId } = await command('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await command('Target.attachToTarget', { targetId, flatten: true });
  const send = (method: string, params: object = {}) => command(method, params, sessionId);
  /** Listens to one of the page's events; returns the way to stop listening. */
  const on = (method: string, handle: (params: any) => void): (() => void) => {
    const listener = (e: CdpEvent) => {
      if (e.sessionId === sessionId && e.method === method) handle(e.params);
    };
    listeners.add(listener);
    return () => listeners.delete(listener);
  };

  const errors: string[] = [];
  on('Runtime.consoleAPICalled', (p) => {
    if (p.type === 'error' || p.type === 'assert') errors.push(`console.${p.type}: ${p.args.map((a: any) => a.value ?? a.description).join(' ')}`);
  });
  on('Runtime.exceptionThrown', (p) => errors.push(`exception: ${p.exceptionDetails.exception?.description ?? p.exceptionDetails.text}`));
  on('Log.entryAdded', (p) => {
    if (p.entry.level === 'error') errors.push(`log: ${p.entry.text}${p.entry.url ? ` (${p.entry.url})` : ''}`);
  });
  await Promise.all([send('Runtime.enable'), send('Log.enable'), send('Page.enable')]);

  const evaluate = async <T>(expression: string): Promise<T> => {
    const { result, exceptionDetails } = await send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true });
    if (exceptionDetails) throw new Error(`${expression}: ${exceptionDetails.exception?.description ?? exceptionDetails.text}`);
    return result.value as T;
  };

  return {
    errors,
    send,
    evaluate,
    async navigate(url) {
      let off = () => {};
      const loaded = new Promise<void>((resolve) => (off = on('Page.loadEventFired', () => resolve())));
      try {
        const { errorText } = await send('Page.navigate', { url });
        if (errorText) throw new Error(`navigation to ${url} failed: ${errorText}`);
        await loaded;
      } finally {
        off();
      }
    },
    async waitFor<T>(expression: string, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await evaluate<T>(expression);
        if (value) return value;
        if (Date.now() > deadline) throw new Error(`still falsy after ${timeoutMs} ms: ${expression}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async answerAuth(username, password) {
      // With the Fetch domain on, every request pauses: each is let through, and each auth challenge answered.
      on('Fetch.requestPaused', (p) => void send('Fetch.continueRequest', { requestId: p.requestId }).catch(() => {}));
      on('Fetch.authRequired', (p) => {
        const authChallengeResponse = { response: 'ProvideCredentials', username, password };
        void send('Fetch.continueWithAuth', { requestId: p.requestId, authChallengeResponse }).catch(() => {});
      });
      await send('Fetch.enable', { patterns: [{ urlPattern: '*' }], handleAuthRequests: true });
    },
    async screenshot() {
      const { data } = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
      return Buffer.from(data, 'base64');
    },
  };
}

/** Reads `DevTools listening on ws://…` from the browser's stderr (and keeps draining it, so the browser never blocks on a full pipe). */
function devtoolsEndpoint(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`chromium ${why}; its stderr:\n${text.slice(-2000)}`));
    };
    const timer = setTimeout(() => fail(`printed no DevTools endpoint within ${LAUNCH_TIMEOUT_MS} ms`), LAUNCH_TIMEOUT_MS);
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before it listened`));
    child.stderr!.on('data', (chunk: Buffer) => {
      if (text.length < 64 * 1024) text += chunk.toString();
      const found = /DevTools listening on (ws:\/\/\S+)/.exec(text);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    });
  });
}

function stopGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {}
}
