// Logs in to the dashboard with a token that may only look (the Rust test makes it),
// and reports what the page offers it: the menu, the Jobs page's buttons, an
// execution's buttons, and what the server answered when the page was made to try a
// run anyway. Debian's Chromium headless, driven by playwright-core.
//
//   BOSUN_TOKEN=... node viewer.mjs CHROMIUM URL EXECUTION_ID
//
// Prints one JSON line (`error` when a step failed); exits 0 when every step ran, 1
// when one failed, 2 on bad usage.
import { chromium } from 'playwright-core';

const [executablePath, url, executionId] = process.argv.slice(2);
const token = process.env.BOSUN_TOKEN;
const timeout = Number(process.env.BOSUN_TEST_BROWSER_TIMEOUT_MS || 60000);
if (!executablePath || !url || !executionId || !token) {
  console.error('usage: BOSUN_TOKEN=... node viewer.mjs CHROMIUM URL EXECUTION_ID');
  process.exit(2);
}

const seen = { pageErrors: [] };
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
let ok = false;
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => seen.pageErrors.push(String(e.message || e)));
  await page.goto(url, { timeout });
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#overview:not([hidden]) #counts li', { timeout });
  seen.menu = await page.$$eval('#nav a', (links) => links.filter((a) => !a.hidden).map((a) => a.textContent));

  await page.click('#nav a[href="#/jobs"]');
  await page.waitForSelector('#jobs tbody tr', { timeout });
  seen.runButtons = await page.locator('#jobs button.run').count();

  await page.evaluate((id) => {
    location.hash = `#/executions/${encodeURIComponent(id)}`;
  }, executionId);
  await page.waitForFunction((id) => document.querySelector('#execution').dataset.id === id, executionId, { timeout });
  seen.executionButtons = await page.$$eval('#execution .actions button', (buttons) =>
    buttons.filter((b) => !b.hidden).map((b) => b.textContent),
  );
  // The buttons are only a courtesy: the server decides. Ask it as the page would.
  seen.runAnyway = await page.evaluate(async (t) => {
    const answer = await fetch('/api/jobs/ticker/run', { method: 'POST', headers: { Authorization: `Bearer ${t}` } });
    return answer.status;
  }, token);
  ok = true;
} catch (e) {
  seen.error = String(e.message || e).split('\n')[0];
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(ok ? 0 : 1);
