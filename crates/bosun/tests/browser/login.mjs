// Logs in to the dashboard `bosun up` serves, with Debian's Chromium headless driven by
// playwright-core, and waits for an execution to show as CompletedSuccessfully.
//
//   BOSUN_TOKEN=... node login.mjs CHROMIUM URL EXECUTION_ID SCREENSHOT
//
// The token comes from the environment, so that it is not on a command line. Prints
// one JSON line: the tenant shown, the rows of the executions table (id and status, in
// the page's order), uncaught page errors, and `error` when the row never showed. Exits
// 0 when the row showed, 1 when it did not, 2 on bad usage.
import { chromium } from 'playwright-core';

const [executablePath, url, executionId, screenshot] = process.argv.slice(2);
const token = process.env.BOSUN_TOKEN;
const timeout = Number(process.env.BOSUN_TEST_BROWSER_TIMEOUT_MS || 60000);
if (!executablePath || !url || !executionId || !screenshot || !token) {
  console.error('usage: BOSUN_TOKEN=... node login.mjs CHROMIUM URL EXECUTION_ID SCREENSHOT');
  process.exit(2);
}

const seen = { tenant: null, rows: [], pageErrors: [], screenshot };
const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
let ok = false;
let page;
try {
  page = await browser.newPage();
  page.on('pageerror', (e) => seen.pageErrors.push(String(e.message || e)));
  const response = await page.goto(url, { timeout });
  if (!response || !response.ok()) {
    throw new Error(`GET ${url} answered ${response ? response.status() : 'nothing'}`);
  }
  await page.fill('form#login input#token', token, { timeout });
  await page
    .locator('form#login button[type=submit], form#login input[type=submit], form#login button:not([type])')
    .first()
    .click({ timeout });
  const row = `table#executions tbody tr[data-id=${JSON.stringify(executionId)}][data-status="CompletedSuccessfully"]`;
  try {
    await page.waitForSelector(row, { timeout });
    ok = true;
  } catch (e) {
    seen.error = `no row with data-id ${executionId} and data-status CompletedSuccessfully within ${timeout} ms: ${e.message.split('\n')[0]}`;
  }
  const tenant = page.locator('#tenant');
  seen.tenant = (await tenant.count()) > 0 ? (await tenant.first().textContent()).trim() : null;
  seen.rows = await page.$$eval('table#executions tbody tr', (trs) =>
    trs.map((tr) => ({ id: tr.getAttribute('data-id'), status: tr.getAttribute('data-status') })),
  );
  await page.screenshot({ path: screenshot, fullPage: true });
} catch (e) {
  seen.error = seen.error || String(e.message || e).split('\n')[0];
  ok = false;
  await page?.screenshot({ path: screenshot, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
process.exit(ok ? 0 : 1);
