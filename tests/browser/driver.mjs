// Drives Debian's Chromium for meshpeers' LevelDB round trips (no network: every request is
// answered with a blank page, so any http origin works).
//
//   node driver.mjs write <user-data-dir> <file.json>   {origin: [[key, value], ...], ...}
//                                                        (a null value removes the key)
//   node driver.mjs clear <user-data-dir> <origin>      localStorage.clear() (the app's logout)
//   node driver.mjs read  <user-data-dir> <origin>      prints [[key, value], ...] (sorted)
//   node driver.mjs hold  <user-data-dir> <origin>      keeps the profile open until stdin ends
//
// Values travel as JSON, so lone surrogates survive both ways.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

const [cmd, dir, arg] = process.argv.slice(2);
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

const context = await chromium.launchPersistentContext(dir, {
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync',
         // e.g. --enable-features=DomStorageSqlite for Chromium's SQLite localStorage.
         ...(process.env.CHROMIUM_ARGS ? process.env.CHROMIUM_ARGS.split(' ') : [])],
});
// A request still in flight when the browser closes cannot be answered; that is no failure.
await context.route('**/*', (route) =>
  route
    .fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>t</title>' })
    .catch(() => {}));

async function open(origin) {
  const page = await context.newPage();
  await page.goto(origin + '/');
  return page;
}

try {
  if (cmd === 'write') {
    const plan = JSON.parse(readFileSync(arg, 'utf8'));
    for (const [origin, pairs] of Object.entries(plan)) {
      const page = await open(origin);
      await page.evaluate((pairs) => {
        for (const [k, v] of pairs) {
          if (v === null) localStorage.removeItem(k);
          else localStorage.setItem(k, v);
        }
      }, pairs);
      await page.close();
    }
  } else if (cmd === 'clear') {
    const page = await open(arg);
    await page.evaluate(() => localStorage.clear());
    await page.close();
  } else if (cmd === 'read') {
    const page = await open(arg);
    const pairs = await page.evaluate(() => {
      const out = [];
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i);
        out.push([k, localStorage.getItem(k)]);
      }
      return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    });
    process.stdout.write(JSON.stringify(pairs));
  } else if (cmd === 'hold') {
    const page = await open(arg);
    await page.evaluate(() => localStorage.getItem('x'));
    process.stdout.write('ready\n');
    await new Promise((resolve) => {
      process.stdin.on('end', resolve);
      process.stdin.resume();
    });
  } else {
    throw new Error(`unknown command ${cmd}`);
  }
} finally {
  await context.close();
}
