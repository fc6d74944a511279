// Shared helpers for the browser suite: start the real panel (and, for the full suite, a
// real agent), serve the UI, drive Debian's Chromium through playwright-core.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(WEB_DIR, '..');
export const SCREENSHOT_DIR = path.join(REPO_DIR, 'artifacts', 'screenshots');
const ANSI = /\u001b\[[0-9;]*m/g;

/** Resolves with the first match of `re` in the process's output, or rejects on exit/timeout. */
function waitForOutput(child, stream, re, what, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${buf}`)), timeoutMs);
    const onData = (chunk) => {
      buf += chunk.toString().replace(ANSI, '');
      const m = re.exec(buf);
      if (m) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(m);
      }
    };
    stream.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${what}; output:\n${buf}`));
    });
  });
}

function stopProcess(child) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `cap-panel` on 127.0.0.1 port 0 with a fresh data directory. */
export async function startPanel() {
  const bin = path.resolve(WEB_DIR, process.env.CAP_PANEL_BIN ?? '../target/debug/cap-panel');
  if (!existsSync(bin))
    throw new Error(`panel binary not found at ${bin}; build it with cargo build -p cap-panel or set CAP_PANEL_BIN`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cap-e2e-panel-'));
  const child = spawn(bin, ['--data-dir', dataDir, '--listen', '127.0.0.1:0'], {
    env: { ...process.env, NO_COLOR: '1', CAP_LOG_FORMAT: 'text' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderrLog = [];
  child.stderr.on('data', (c) => stderrLog.push(c.toString()));
  const [credentials, listening] = await Promise.all([
    waitForOutput(child, child.stdout, /username:\s*(\S+)\s+password:\s*(\S+)/, 'the admin credentials banner'),
    waitForOutput(child, child.stderr, /listening on (http:\/\/[\d.]+:\d+)/, 'the "listening on" log line'),
  ]);
  return {
    url: listening[1],
    username: credentials[1],
    password: credentials[2],
    dataDir,
    log: () => stderrLog.join('').replace(ANSI, ''),
    async stop() {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs `cap-agent join PANEL_URL TOKEN --run` (the command the panel showed, with this
 * build's binary) on 127.0.0.1 over plain HTTP, and waits until it serves. */
export async function joinAgent(joinCommand, port) {
  const bin = path.resolve(WEB_DIR, process.env.CAP_AGENT_BIN ?? '../target/debug/cap-agent');
  if (!existsSync(bin)) throw new Error(`agent binary not found at ${bin}; set CAP_AGENT_BIN`);
  const words = joinCommand.trim().split(/\s+/);
  const at = words.indexOf('join');
  if (at < 0) throw new Error(`unexpected join command: ${joinCommand}`);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cap-e2e-agent-'));
  const testgame = path.resolve(WEB_DIR, process.env.CAP_TESTGAME_BIN ?? '../target/debug/cap-testgame');
  const child = spawn(
    bin,
    // One unprivileged user for every server: the suite leaves no user per server behind.
    [
      '--data-dir',
      dataDir,
      '--listen',
      `127.0.0.1:${port}`,
      '--insecure-http',
      '--shared-user',
      'cap-test',
      ...words.slice(at),
      '--run',
    ],
    {
      env: { ...process.env, NO_COLOR: '1', PATH: `${path.dirname(testgame)}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const listening = /listening on (http:\/\/[\d.]+:\d+)/;
  await Promise.any([
    waitForOutput(child, child.stdout, listening, 'agent "listening on"'),
    waitForOutput(child, child.stderr, listening, 'agent "listening on"'),
  ]);
  return {
    async stop() {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Where the browser loads the UI: the panel itself once it serves web/dist, otherwise
 * `vite preview` of web/dist with /api proxied to the panel. */
export async function startUi(panelUrl) {
  if (process.env.CAP_UI_URL) return { url: process.env.CAP_UI_URL, via: 'CAP_UI_URL', stop: async () => {} };
  const res = await fetch(`${panelUrl}/`).catch(() => null);
  const body = res?.ok ? await res.text() : '';
  if (body.includes('id="root"')) return { url: panelUrl, via: 'panel', stop: async () => {} };
  if (!existsSync(path.join(WEB_DIR, 'dist', 'index.html'))) throw new Error('web/dist is missing: run npm run build first');
  const port = await freePort();
  const vite = path.join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js');
  const child = spawn(process.execPath, [vite, 'preview', '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: WEB_DIR,
    env: { ...process.env, CAP_PANEL_URL: panelUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, via: 'vite preview', stop: () => stopProcess(child) };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stopProcess(child);
  throw new Error('vite preview did not start');
}

/** Debian's Chromium with a fresh profile; never a downloaded browser. */
export async function launchBrowser() {
  const profile = mkdtempSync(path.join(tmpdir(), 'cap-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  return {
    context,
    page,
    problems,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  // Full-page shots of a scrolled page repeat the sticky top bar; start from the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

export async function login(page, baseUrl, username, password) {
  await page.goto(`${baseUrl}/login`);
  await page.getByLabel('Username or email').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** A JSON API call from inside the page, so the session cookie and Origin are the browser's. */
export async function apiCall(page, method, url, body) {
  return page.evaluate(
    async ({ method, url, body }) => {
      const res = await fetch(url, {
        method,
        credentials: 'same-origin',
        headers: body ? { 'Content-Type': 'application/json' } : {},
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, body: await res.json().catch(() => null) };
    },
    { method, url, body },
  );
}

let axeSource = null;

/** Runs axe-core's WCAG 2.1 A/AA rules on the current page and fails on any violation.
 * (`page.evaluate` is not subject to the page's CSP, so the strict policy stays on.) */
export async function assertAccessible(page, name) {
  axeSource ??= readFileSync(path.join(WEB_DIR, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.waitForLoadState('networkidle');
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }));
  const problems = result.violations.map(
    (v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`,
  );
  if (problems.length) throw new Error(`${name} has accessibility violations:\n${problems.join('\n')}`);
}
