// Drives Debian's Firefox ESR over WebDriver BiDi (puppeteer-core) for meshpeers' Firefox
// round trips. No network: every request is answered in the browser with a blank page
// (network.addIntercept + network.provideResponse), so any http origin works.
//
//   node firefox.mjs write    <profile> <file.json>  {origin: [[key, value], ...], ...}
//   node firefox.mjs read     <profile> <origin>     prints [[key, value], ...] (sorted)
//   node firefox.mjs estimate <profile> <origin>     prints navigator.storage.estimate().usage
//   node firefox.mjs hold     <profile> <origin>     keeps Firefox open until stdin ends
//
// Values travel as JSON, so lone surrogates survive both ways. The profile directory is
// created when missing; closing Firefox gracefully flushes localStorage to disk.
import { readFileSync } from 'node:fs';
import puppeteer from 'puppeteer-core';

const [cmd, dir, arg] = process.argv.slice(2);

const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: process.env.FIREFOX || '/usr/bin/firefox-esr',
  headless: true,
  userDataDir: dir,
  extraPrefsFirefox: {
    'browser.shell.checkDefaultBrowser': false,
    'datareporting.policy.dataSubmissionEnabled': false,
    'network.dns.disableIPv6': true,
  },
});

async function open(origin) {
  const page = await browser.newPage();
  await page.setRequestInterception(true);
  // A request still in flight when the page or browser closes (the favicon, say) cannot be
  // answered any more; that is no failure (a navigation that is not answered fails goto).
  page.on('request', (req) =>
    req
      .respond({ status: 200, contentType: 'text/html', body: '<!doctype html><title>t</title>' })
      .catch(() => {}));
  await page.goto(origin + '/');
  return page;
}

try {
  if (cmd === 'write') {
    const plan = JSON.parse(readFileSync(arg, 'utf8'));
    for (const [origin, pairs] of Object.entries(plan)) {
      const page = await open(origin);
      await page.evaluate((pairs) => {
        for (const [k, v] of pairs) localStorage.setItem(k, v);
      }, pairs);
      await page.close();
    }
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
  } else if (cmd === 'estimate') {
    const page = await open(arg);
    const usage = await page.evaluate(async () => (await navigator.storage.estimate()).usage);
    process.stdout.write(String(usage));
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
  await browser.close();
}
