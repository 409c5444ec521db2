// Uses the dashboard `bosun up` serves as a person does, in Debian's Chromium headless
// driven by playwright-core, and reports what the page showed; the Rust test asserts.
//
//   BOSUN_TOKEN=... BOSUN_TEST_PACKAGE=invoices.zip node dashboard.mjs CHROMIUM URL SCREENSHOTS_DIR
//
// The server must have the jobs `ticker` (prints `tick 1` … `tick 3`, a status line and
// progress with each, a second apart) and `sleeper` (runs for minutes). In order:
//
// 1. a wrong token is refused on the login form; the right one logs in;
// 2. Jobs → `Run now` on ticker: its page shows Running, the log lines as they are
//    printed, the status line, then CompletedSuccessfully; then one of flaky's failed
//    runs, found in the history by its job, is run again from its page;
// 3. sleeper's page → `Run now` → `Cancel`: it shows Cancelled;
// 4. Executions, filtered to Cancelled: the hash holds the filter, only sleeper's row
//    shows, and a reload keeps both;
// 5. Packages → upload invoices.zip: its row shows, version 1.0.0;
// 6. the overview shows the counts; then the script prints `{"phase":"restart"}` and
//    waits for a line on stdin with an execution id: the server was restarted and that
//    execution run; the page must reconnect by itself and show it, without a reload.
//
// Screenshots of each page go into SCREENSHOTS_DIR. The token comes from the
// environment, never a command line. Prints one JSON line at the end (`error` when a
// step failed); exits 0 when every step ran, 1 when one failed, 2 on bad usage.
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [executablePath, url, shots] = process.argv.slice(2);
const token = process.env.BOSUN_TOKEN;
const timeout = Number(process.env.BOSUN_TEST_BROWSER_TIMEOUT_MS || 60000);
if (!executablePath || !url || !shots || !token || !process.env.BOSUN_TEST_PACKAGE) {
  console.error('usage: BOSUN_TOKEN=... BOSUN_TEST_PACKAGE=ZIP node dashboard.mjs CHROMIUM URL SCREENSHOTS_DIR');
  process.exit(2);
}

const seen = { pageErrors: [], tokenInUrl: [], steps: [] };
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();

/** Samples `probe` in the page every 50 ms until `done(sample)`; all distinct samples. */
async function watch(page, probe, done) {
  const samples = [];
  const until = Date.now() + timeout;
  for (;;) {
    const sample = await page.evaluate(probe);
    const last = samples[samples.length - 1];
    if (JSON.stringify(sample) !== JSON.stringify(last)) samples.push(sample);
    if (done(sample)) return samples;
    if (Date.now() > until) throw new Error(`timed out; saw ${JSON.stringify(samples.slice(-5))}`);
    await page.waitForTimeout(50);
  }
}

const detailProbe = () => {
  const section = document.querySelector('#execution');
  return {
    hidden: section.hidden,
    id: section.dataset.id || null,
    status: section.dataset.status || null,
    log: document.querySelector('#log').textContent,
    line: document.querySelector('#e-progress').textContent,
  };
};

async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
});
let ok = false;
let page;
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  page = await context.newPage();
  page.on('pageerror', (e) => seen.pageErrors.push(String(e.message || e)));
  page.on('request', (r) => {
    if (r.url().includes(token)) seen.tokenInUrl.push(r.url());
  });

  // 1. Log in: a wrong token first.
  const response = await page.goto(url, { timeout });
  if (!response || !response.ok()) throw new Error(`GET ${url} answered ${response?.status()}`);
  await page.fill('#token', 'not-a-token');
  await page.click('#login button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#login-error').textContent !== '', null, { timeout });
  seen.refused = await page.textContent('#login-error');
  await shot(page, 'login');
  await page.fill('#token', token);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#counts li', { timeout });
  seen.tenant = (await page.textContent('#tenant')).trim();
  seen.steps.push('login');

  // 2. Run ticker from the Jobs page and watch it live.
  await page.click('#nav a[href="#/jobs"]');
  await page.click('#jobs tr[data-job="ticker"] button.run', { timeout });
  const ticker = await watch(page, detailProbe, (s) => !s.hidden && ['CompletedSuccessfully', 'Failed'].includes(s.status));
  seen.ticker = {
    id: ticker[ticker.length - 1].id,
    hash: await page.evaluate(() => location.hash),
    statuses: [...new Set(ticker.map((s) => s.status).filter(Boolean))],
    // A line shown while the page still said Running: it came live, not on reload.
    liveLines: [...new Set(ticker.filter((s) => s.status === 'Running').flatMap((s) => s.log.match(/tick \d/g) || []))],
    liveStatusLines: [...new Set(ticker.filter((s) => s.status === 'Running').map((s) => s.line).filter(Boolean))],
    finalLog: ticker[ticker.length - 1].log,
  };
  await shot(page, 'execution');
  seen.steps.push('run');

  // 2b. Open one of flaky's failed runs from the history and run it again.
  await page.evaluate(() => {
    location.hash = '#/executions?job=flaky';
  });
  await page.waitForSelector('#executions-view:not([hidden]) #executions tbody tr[data-status="Failed"] a', { timeout });
  const failedId = await page.getAttribute('#executions tbody tr[data-status="Failed"]', 'data-id');
  await page.click('#executions tbody tr[data-status="Failed"] a');
  await watch(page, detailProbe, (s) => !s.hidden && s.id === failedId);
  await page.click('#rerun:not([hidden])', { timeout });
  const again = await watch(page, detailProbe, (s) => !s.hidden && s.id && s.id !== failedId && s.status === 'Failed');
  seen.rerun = {
    of: failedId,
    id: again[again.length - 1].id,
    hash: await page.evaluate(() => location.hash),
    trigger: await page.textContent('#e-trigger'),
  };
  seen.steps.push('rerun');

  // 3. Start sleeper from its page and cancel it.
  await page.evaluate(() => {
    location.hash = '#/jobs/sleeper';
  });
  await page.click('#run:not([hidden])', { timeout });
  const fresh = (s) => !s.hidden && s.id && s.id !== seen.rerun.id;
  const running = await watch(page, detailProbe, (s) => fresh(s) && s.status === 'Running');
  await page.click('#cancel:not([hidden])', { timeout });
  const cancelled = await watch(page, detailProbe, (s) => fresh(s) && ['Cancelled', 'Failed', 'CompletedSuccessfully'].includes(s.status));
  const sleeperId = cancelled[cancelled.length - 1].id;
  seen.sleeper = {
    id: sleeperId,
    statuses: [...new Set([...running, ...cancelled].filter((s) => s.id === sleeperId).map((s) => s.status))],
    cancelHidden: await page.evaluate(() => document.querySelector('#cancel').hidden),
  };
  seen.steps.push('cancel');

  // 4. Filter the history to Cancelled; reload keeps the filter.
  await page.click('#nav a[href="#/executions"]');
  await page.waitForSelector('#executions-view:not([hidden]) table#executions tbody tr', { timeout });
  await page.selectOption('#f-status', 'Cancelled');
  await page.click('#f-apply');
  const rows = () =>
    [...document.querySelectorAll('#executions-view table#executions tbody tr')].map((tr) => ({
      id: tr.dataset.id,
      status: tr.dataset.status,
    }));
  await page.waitForFunction(
    () => {
      const trs = [...document.querySelectorAll('#executions tbody tr')];
      return trs.length > 0 && trs.every((tr) => tr.dataset.status === 'Cancelled');
    },
    null,
    { timeout },
  );
  seen.filtered = { hash: await page.evaluate(() => location.hash), rows: await page.evaluate(rows) };
  await shot(page, 'executions');
  await page.reload();
  await page.waitForSelector('#executions-view:not([hidden]) table#executions tbody tr', { timeout });
  seen.reloaded = {
    hash: await page.evaluate(() => location.hash),
    select: await page.inputValue('#f-status'),
    rows: await page.evaluate(rows),
  };
  seen.steps.push('filter');

  // 5. Upload a bot package from the Packages page.
  await page.click('#nav a[href="#/packages"]');
  await page.setInputFiles('#package-file', process.env.BOSUN_TEST_PACKAGE);
  await page.click('#upload-button');
  await page.waitForSelector('#packages tr[data-name="invoices"]', { timeout });
  seen.uploaded = {
    row: await page.$$eval('#packages tr[data-name="invoices"] td', (tds) => tds.map((td) => td.textContent)),
    message: await page.textContent('#message'),
  };
  seen.steps.push('upload');

  // 6. The overview, live across a server restart.
  await page.click('#nav a[href="#/"]');
  await page.waitForSelector('#overview:not([hidden]) table#executions tbody tr', { timeout });
  seen.counts = await page.$$eval('#counts li', (lis) => lis.map((li) => li.textContent.replace(/\s+/g, ' ').trim()));
  await page.click('#nav a[href="#/jobs"]');
  await page.waitForSelector('#jobs tbody tr', { timeout });
  await shot(page, 'jobs');
  await page.click('#nav a[href="#/"]');
  await page.waitForSelector('#overview:not([hidden]) table#executions tbody tr', { timeout });
  await shot(page, 'overview');
  console.log(JSON.stringify({ phase: 'restart' }));
  const next = await lines.next();
  const after = next.done ? null : next.value.trim();
  if (!after) throw new Error('no execution id came on stdin after the restart');
  await page.waitForSelector(`#overview table#executions tbody tr[data-id="${after}"]`, { timeout });
  seen.afterRestart = {
    id: after,
    live: await page.textContent('#live'),
    loginShown: await page.evaluate(() => !document.querySelector('#login').hidden),
  };
  seen.steps.push('restart');
  ok = true;
} catch (e) {
  seen.error = String(e.message || e).split('\n')[0];
  await page?.screenshot({ path: `${shots}/failed.png`, fullPage: true }).catch(() => {});
} finally {
  await browser.close();
  input.close();
}
console.log(JSON.stringify(seen));
process.exit(ok ? 0 : 1);
