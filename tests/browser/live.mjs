// A running browser with "the app's page" open, for meshpeers' live-store tests
// (`--store cdp://…` / `bidi://…`). Starts Debian's Chromium (DevTools protocol, port read from
// DevToolsActivePort) or Firefox ESR (WebDriver BiDi, port read from its stderr) with
// --remote-debugging-port=0, opens a tab of <origin> whose every request is answered inside the
// browser (nothing reaches a server), and has that page write the pairs of <file.json>
// ([[key, value], ...], or "-" for none). Then prints `ready <store URL>` and obeys stdin:
//
//   read       the app page's whole map, sorted: [[key, value], ...] on one line
//   eval JS    the value of JS in the app page, as JSON on one line
//   tabs       the URLs of the browser's tabs, as JSON on one line
//   pid        the browser's pid
//   quit       closes the browser gracefully (localStorage flushed to disk), prints `closed`
//
//   node live.mjs chromium|firefox <profile-dir> <origin> <file.json|->
//
// Values travel as JSON, so lone surrogates survive both ways. Firefox allows one BiDi session
// at a time, so each Firefox command opens a session and ends it (meshpeers needs its own);
// its context ids are a session's own, so the app's tab is found by its URL each time.
import { spawn } from 'node:child_process';
import { readFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import WebSocket from 'ws';

const [engine, dir, origin, pairsFile] = process.argv.slice(2);
const pairs = pairsFile && pairsFile !== '-' ? JSON.parse(readFileSync(pairsFile, 'utf8')) : [];
const STUB = '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>app</title>';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function connect(url) {
  const ws = new WebSocket(url, { maxPayload: 1 << 30 });
  let id = 0;
  const pending = new Map();
  const listeners = [];
  ws.on('message', (data) => {
    const m = JSON.parse(data.toString());
    if (m.id !== undefined && pending.has(m.id)) {
      const { resolve, reject } = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) reject(new Error(JSON.stringify(m.error) + ' ' + (m.message || '')));
      else resolve(m.result);
    } else {
      for (const l of listeners) l(m);
    }
  });
  ws.on('close', () => {
    for (const { reject } of pending.values()) reject(new Error('connection closed'));
    pending.clear();
  });
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('open', () =>
      resolve({
        ws,
        on: (l) => listeners.push(l),
        send(method, params = {}, sessionId) {
          const i = ++id;
          const msg = { id: i, method, params };
          if (sessionId) msg.sessionId = sessionId;
          ws.send(JSON.stringify(msg));
          return new Promise((res, rej) => pending.set(i, { resolve: res, reject: rej }));
        },
        close: () => ws.close(),
      }));
  });
}

const READ = `(() => { const s = localStorage, out = [];
  for (let i = 0; i < s.length; i++) { const k = s.key(i); out.push([k, s.getItem(k)]); }
  return JSON.stringify(out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))); })()`;
const WRITE = (p) => `((p) => { for (const [k, v] of p) localStorage.setItem(k, v); return "ok"; })(${JSON.stringify(p)})`;

let browser, evaluate, quit, tabs, store;

if (engine === 'chromium') {
  mkdirSync(dir, { recursive: true });
  browser = spawn(process.env.CHROMIUM || '/usr/bin/chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--remote-debugging-port=0', `--user-data-dir=${dir}`, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'ignore'] });
  const portFile = `${dir}/DevToolsActivePort`;
  for (let i = 0; !existsSync(portFile) || readFileSync(portFile, 'utf8').split('\n').length < 2; i++) {
    if (i > 300) throw new Error('Chromium wrote no DevToolsActivePort');
    await sleep(100);
  }
  const [port, path] = readFileSync(portFile, 'utf8').split('\n');
  store = `cdp://127.0.0.1:${port}`;
  const cdp = await connect(`ws://127.0.0.1:${port}${path}`);
  const { targetId } = await cdp.send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId, flatten: true });
  // Chromium's loading predictor connects to the server of a page a tab starts loading,
  // whatever the interception answers; a throwaway start address redirected (in the browser)
  // to the origin keeps its connections away from the origin's server (port 0).
  const start = `http://h${Date.now()}.harness.localhost:0/`;
  cdp.on((m) => {
    if (m.method === 'Fetch.requestPaused' && m.sessionId === sessionId) {
      const redirect = m.params.request.url === start;
      cdp.send('Fetch.fulfillRequest', {
        requestId: m.params.requestId, responseCode: redirect ? 302 : 200,
        responseHeaders: redirect ? [{ name: 'Location', value: origin + '/' }]
          : [{ name: 'Content-Type', value: 'text/html' }],
        body: Buffer.from(redirect ? '' : STUB).toString('base64'),
      }, sessionId).catch(() => {});
    }
  });
  await cdp.send('Page.enable', {}, sessionId);
  await cdp.send('Fetch.enable', { patterns: [{ urlPattern: '*' }] }, sessionId);
  const loaded = new Promise((r) => cdp.on((m) => m.method === 'Page.loadEventFired' && m.sessionId === sessionId && r()));
  await cdp.send('Page.navigate', { url: start }, sessionId);
  await loaded;
  evaluate = async (expression) => {
    const r = await cdp.send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
    if (r.exceptionDetails) throw new Error(JSON.stringify(r.exceptionDetails));
    return r.result.value;
  };
  quit = async () => {
    await cdp.send('Browser.close').catch(() => {});
  };
  tabs = async () =>
    (await cdp.send('Target.getTargets')).targetInfos.filter((t) => t.type === 'page').map((t) => t.url).sort();
} else if (engine === 'firefox') {
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}/user.js`, [
    'user_pref("browser.shell.checkDefaultBrowser", false);',
    'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
    'user_pref("network.dns.disableIPv6", true);',
    'user_pref("browser.startup.homepage_override.mstone", "ignore");',
  ].join('\n') + '\n');
  browser = spawn(process.env.FIREFOX || '/usr/bin/firefox-esr', [
    '--headless', '--no-remote', '--remote-debugging-port=0', '--profile', dir, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise((resolve, reject) => {
    let err = '';
    browser.stderr.on('data', (d) => {
      err += d.toString();
      const m = err.match(/WebDriver BiDi listening on (ws:\/\/[^\s]+)/);
      if (m) resolve(m[1]);
    });
    browser.on('exit', () => reject(new Error('Firefox exited: ' + err)));
  });
  browser.stderr.resume();
  store = url.replace(/^ws:/, 'bidi:').replace(/\/$/, '');
  // One session per command: Firefox allows one at a time, and meshpeers needs its own.
  const session = async (f) => {
    const c = await connect(`${url.replace(/\/$/, '')}/session`);
    await c.send('session.new', { capabilities: {} });
    try {
      return await f(c);
    } finally {
      await c.send('session.end').catch(() => {});
      c.close();
    }
  };
  let context;
  await session(async (c) => {
    // The tab Firefox started with: one a session creates is closed when the session ends.
    ({ context } = (await c.send('browsingContext.getTree', { maxDepth: 0 })).contexts[0]);
    const { intercept } = await c.send('network.addIntercept', { phases: ['beforeRequestSent'], contexts: [context] });
    await c.send('session.subscribe', { events: ['network.beforeRequestSent'], contexts: [context] });
    c.on((m) => {
      if (m.method === 'network.beforeRequestSent' && m.params.isBlocked) {
        c.send('network.provideResponse', {
          request: m.params.request.request, statusCode: 200, reasonPhrase: 'OK',
          headers: [{ name: 'Content-Type', value: { type: 'string', value: 'text/html' } }],
          body: { type: 'string', value: STUB },
        }).catch(() => {});
      }
    });
    await c.send('browsingContext.navigate', { context, url: origin + '/', wait: 'complete' });
    await c.send('network.removeIntercept', { intercept });
  });
  // Context ids are a session's own: the app's tab is found again by its URL.
  const appContext = async (c) =>
    (await c.send('browsingContext.getTree', { maxDepth: 0 })).contexts
      .find((x) => x.url.startsWith(origin + '/')).context;
  evaluate = (expression) => session(async (c) => {
    const r = await c.send('script.evaluate', { expression, target: { context: await appContext(c) }, awaitPromise: false });
    if (r.type === 'exception') throw new Error(JSON.stringify(r.exceptionDetails));
    return r.result.value;
  });
  quit = () => session((c) => c.send('browser.close').catch(() => {}));
  tabs = () => session(async (c) =>
    (await c.send('browsingContext.getTree', { maxDepth: 0 })).contexts.map((x) => x.url).sort());
} else {
  throw new Error(`unknown engine ${engine}`);
}

if (pairs.length) await evaluate(WRITE(pairs));
process.stdout.write(`ready ${store}\n`);

const exited = new Promise((r) => browser.on('exit', r));
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, ...rest] = line.split(' ');
  if (cmd === 'read') {
    process.stdout.write((await evaluate(READ)) + '\n');
  } else if (cmd === 'eval') {
    process.stdout.write(JSON.stringify(await evaluate(rest.join(' '))) + '\n');
  } else if (cmd === 'tabs') {
    process.stdout.write(JSON.stringify(await tabs()) + '\n');
  } else if (cmd === 'pid') {
    process.stdout.write(`${browser.pid}\n`);
  } else if (cmd === 'quit') {
    await quit();
    await Promise.race([exited, sleep(20000)]);
    process.stdout.write('closed\n');
    process.exit(0);
  }
}
browser.kill('SIGKILL');
process.exit(0);
