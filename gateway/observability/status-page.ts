// GET /: the live status page. Plain HTML and a small script kept as static
// files next to this one (status-page.html, status-page.js), read once when
// the gateway starts and served as one document: the script is inlined, so
// the page is a single request and the route table needs no static files.
//
// The page loads nothing from anywhere (no CDN: gateways run on machines
// without internet access), and its Content-Security-Policy says so: only its
// own inline script and style (by their SHA-256), requests to its own origin,
// no framing.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT_PLACEHOLDER = '<!-- status-page.js -->';

export type StaticReply = { status: number; headers: Record<string, string>; body: string };

export class StatusPage {
  readonly #reply: StaticReply;

  /** Reads the page's files from `dir` (default: this module's folder); throws if they are missing or malformed. */
  constructor(dir: string = import.meta.dirname) {
    const html = readFileSync(join(dir, 'status-page.html'), 'utf8');
    const script = readFileSync(join(dir, 'status-page.js'), 'utf8');
    if (!html.includes(SCRIPT_PLACEHOLDER)) throw new Error(`status-page.html has no ${SCRIPT_PLACEHOLDER} to put the script in`);
    // The script's text must not end its own <script> element.
    if (/<\/script/i.test(script)) throw new Error('status-page.js must not contain "</script"');
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
    const body = html.replace(SCRIPT_PLACEHOLDER, () => `<script>${script}</script>`);
    const csp = [
      "default-src 'none'",
      `script-src ${sha256Source(script)}`,
      `style-src ${styles.map(sha256Source).join(' ') || "'none'"}`,
      "connect-src 'self'",
      'img-src data:',
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    this.#reply = {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cache-control': 'no-store',
      },
      body,
    };
  }

  /** The answer to GET / (a Reply; the same object every time). */
  reply(): StaticReply {
    return this.#reply;
  }
}

/** A CSP source naming an inline element by the SHA-256 of its exact text. */
function sha256Source(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}
