// End-to-end tests of the Explore panel's exhaustive mode (issue 15): the
// statistics as they grow, cancel, the claim with its counts and link, and
// a counterexample shrunk into the panes; at desktop width and at 390 px.
//
//   node --test tests/e2e/explore_exhaustive.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, panes, scenarioInputs, shotPath, useSite } from './helpers.mjs';

const WAIT = 30_000;
const TEST_TIMEOUT = 120_000;

const site = useSite();

async function withPage(name, width, fn) {
  const context = await site.browser.newContext({ viewport: { width, height: 1000 } });
  context.setDefaultTimeout(WAIT);
  const problems = [];
  context.on('page', (p) => {
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && /panicked|RuntimeError|unreachable/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  });
  const page = await context.newPage();
  try {
    await fn({ page, context });
    assert.deepEqual(problems, [], 'no uncaught errors or panics in the page');
  } finally {
    await page.screenshot({ path: shotPath(name), fullPage: true }).catch(() => {});
    await context.close();
  }
}

const status = (page) => page.$eval('#explore-status', (e) => e.textContent);

async function exhaustive(page, { goal, a, b, calls }) {
  await page.selectOption('#explore-mode', 'exhaustive');
  await page.selectOption('#explore-goal', goal);
  await page.selectOption('#explore-a', a);
  if (b) await page.selectOption('#explore-b', b);
  await page.fill('#explore-calls', String(calls));
  await page.click('#explore-start');
}

for (const [label, width] of [['desktop', 1440], ['390px', 390]]) {
  test(`n. exhaustive (${label}): the claim with its counts, and its link`, { timeout: TEST_TIMEOUT }, () =>
    withPage(`n-exhaustive-claim-${label}`, width, async ({ page, context }) => {
      await page.goto(site.srv.base + '?preset=swap-path');
      await settled(page);
      await page.click('#explore summary');
      await exhaustive(page, { goal: 'verdict', a: 'pointer', b: 'rfc-fixed', calls: 10 });
      await page.waitForSelector('#explore-claim', { timeout: 60_000 });
      assert.equal(
        await page.textContent('#explore-claim'),
        'no verdict difference for goal verdict:pointer,rfc-fixed over all 4400 orders of up to 10 calls on this machine',
      );
      assert.match(await status(page), /578 distinct states, 4400 orders judged, 4 page classes, depth 9, 0 cut/);
      const href = await page.getAttribute('#explore-link', 'href');
      assert.match(href, /#s=1\./);
      const other = await context.newPage();
      await other.goto(href);
      await settled(other);
      assert.equal((await scenarioInputs(other))['segments[0].memsz'], '0x2000', 'the link opens the machine checked');
      await other.close();
      await page.locator('#explore').scrollIntoViewIfNeeded();
    }));
}

test('o. exhaustive: statistics grow, cancel stops, a counterexample is shrunk into the panes', { timeout: TEST_TIMEOUT }, () =>
  withPage('o-exhaustive-found', 1440, async ({ page }) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    // Eight pages: too many states of 20 calls to finish (four pages
    // finish in seconds since the visited set).
    await page.fill('input[data-field="segments[0].memsz"]', '0x8000');
    await settled(page);
    await page.click('#explore summary');
    await exhaustive(page, { goal: 'differ', a: 'pointer', b: 'rfc-fixed', calls: 20 });
    const states = async () => {
      const m = (await status(page)).match(/checking every order: (\d+) distinct states/);
      return m ? Number(m[1]) : 0;
    };
    await page.waitForFunction(() => /checking every order: \d+ distinct states/.test(document.querySelector('#explore-status')?.textContent || ''), null, { timeout: WAIT });
    const first = await states();
    await page.waitForFunction((n) => {
      const m = (document.querySelector('#explore-status')?.textContent || '').match(/checking every order: (\d+) distinct states/);
      return m && Number(m[1]) > n;
    }, first, { timeout: WAIT });
    assert.ok((await states()) > first, 'the statistics grow');
    await page.click('#explore-cancel');
    await page.waitForFunction(() => /exploration cancelled/.test(document.querySelector('#explore-status')?.textContent || ''), null, { timeout: WAIT });

    // rfc-posted faults at depth 3: shrunk, in the panes, as values.
    await page.fill('input[data-field="segments[0].memsz"]', '0x2000');
    await settled(page);
    await exhaustive(page, { goal: 'fault', a: 'rfc-posted', calls: 20 });
    await page.waitForSelector('#explore-link', { timeout: 60_000 });
    assert.match(await status(page), /found: the first order of the exhaustive search \(37 distinct states, 8 orders judged/);
    await settled(page);
    const posted = (await panes(page)).find((p) => p.variant === 'rfc-posted');
    assert.ok(posted, 'the counterexample shows rfc-posted');
    assert.equal(posted.kind, 'fault');
    const inputs = await scenarioInputs(page);
    assert.ok(inputs.replay && inputs.replay.trim().length > 0, 'a replay allocator, not a seed');
  }));
