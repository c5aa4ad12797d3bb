// A shared link on a phone (issue 17), at 390 x 844: no element wider than
// the screen on any view (helpers.mjs VIEWS), the two verdicts first, one
// pane's list at a time with a switch, a memory map drawn for the width,
// the scenario as a summary that opens into the editor, a kernel build's
// info folded, and embeds that adapt to a narrow iframe.
// Screenshots: target/e2e/phone-*.png.
//
//   node --test tests/e2e/phone.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, panes, shotPath, useSite, VIEWS, overflowing, openScenario, withContext } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;
const PHONE = { width: 390, height: 844 };
const site = useSite();

function withPhone(fn, { theme = 'light', viewport = PHONE } = {}) {
  return withContext(site, { viewport, colorScheme: theme, isMobile: true, hasTouch: true }, fn);
}

for (const view of VIEWS) {
  test(`390 px: ${view.name} has no element wider than the screen`, { timeout: TEST_TIMEOUT }, () =>
    withPhone(async (page) => {
      await page.goto(site.srv.base + view.path);
      await view.ready(page);
      const o = await overflowing(page);
      await page.screenshot({ path: shotPath(`phone-${view.name.replace(/\W+/g, '-')}`), fullPage: true });
      assert.deepEqual(o, { bad: [], scrollsSideways: false }, view.name);
    }),
  );
}

const box = (page, selector) => page.locator(selector).first().boundingBox();

test('390 px: a shared link shows both verdicts first, one list at a time, a readable map, the scenario folded', { timeout: TEST_TIMEOUT }, () =>
  withPhone(async (page) => {
    await page.goto(site.srv.base + '?preset=highmem-retry');
    await settled(page);
    const verdicts = await page.$$eval('main.panes p.verdict', (vs) => vs.map((v) => v.getBoundingClientRect().toJSON()));
    assert.equal(verdicts.length, 2);
    const lists = await page.$$eval('main.panes div.entry-list', (ls) =>
      ls.map((l) => ({ shown: l.getBoundingClientRect().height > 0, top: l.getBoundingClientRect().top })),
    );
    assert.deepEqual(lists.map((l) => l.shown), [true, false], 'the left list only');
    for (const v of verdicts) {
      assert.ok(v.bottom <= PHONE.height, `both verdicts on the first screen: ${JSON.stringify(verdicts)}`);
      assert.ok(v.bottom <= lists[0].top, 'the verdicts come before the list');
    }
    // The switch shows the other pane's list.
    const switchButtons = page.locator('.pane-switch button');
    assert.equal(await switchButtons.count(), 2);
    assert.equal(await switchButtons.nth(0).getAttribute('aria-pressed'), 'true');
    await switchButtons.nth(1).click();
    await page.waitForFunction(() => {
      const [a, b] = document.querySelectorAll('main.panes div.entry-list');
      return a.getBoundingClientRect().height === 0 && b.getBoundingClientRect().height > 0;
    });
    assert.equal(await switchButtons.nth(1).getAttribute('aria-pressed'), 'true');
    // The map is drawn for the width: its text is not shrunk below 80 %.
    await page.waitForSelector('svg.memory-map');
    const scale = await page.$eval('svg.memory-map', (s) => s.getBoundingClientRect().width / s.viewBox.baseVal.width);
    assert.ok(scale >= 0.8, `the memory map is drawn at its size (scale ${scale})`);
    // The scenario is a summary after the results; tapping it opens the editor.
    const details = page.locator('details.scenario');
    assert.equal(await details.evaluate((d) => d.open), false, 'the scenario starts folded');
    const summary = await page.locator('details.scenario > summary').textContent();
    assert.match(summary, /highmem-retry/);
    assert.ok((await box(page, 'details.scenario > summary')).y > (await box(page, 'svg.memory-map')).y, 'after the map');
    await openScenario(page);
    await page.locator('#preset').waitFor({ state: 'visible' });
    assert.equal(await page.$eval('#preset', (s) => s.value), 'highmem-retry');
    const o = await overflowing(page);
    await page.screenshot({ path: shotPath('phone-kimage-open-editor'), fullPage: true });
    assert.deepEqual(o, { bad: [], scrollsSideways: false }, 'the open editor fits too');
  }),
);

test('390 px: a kernel build\'s info starts folded, its pane\'s verdict on the first screen', { timeout: TEST_TIMEOUT }, () =>
  withPhone(async (page) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    await openScenario(page);
    await page.selectOption('#variant-0', 'pointer');
    await settled(page);
    await page.selectOption('#variant-1', '@shipped');
    await page.waitForFunction(() => [...document.querySelectorAll('main.panes h2.variant')].some((h) => h.textContent.trim() === 'kernel:6.1'));
    await settled(page, 120_000);
    const link = page.url();
    await page.goto('about:blank');
    await page.goto(link); // the shared link, as a phone opens it
    await settled(page, 120_000);
    const ps = await panes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'kernel:6.1']);
    const info = page.locator('details.kernel-info');
    await info.waitFor();
    assert.equal(await info.evaluate((d) => d.open), false, 'the build info is folded');
    const v = await page.$$eval('main.panes p.verdict', (vs) => vs.map((x) => x.getBoundingClientRect().bottom));
    for (const b of v) assert.ok(b <= PHONE.height, `both verdicts on the first screen (${v})`);
    await page.screenshot({ path: shotPath('phone-kernel-info'), fullPage: true });
    assert.deepEqual(await overflowing(page), { bad: [], scrollsSideways: false });
  }),
);

test('embeds adapt to a narrow iframe: the verdicts one above the other', { timeout: TEST_TIMEOUT }, () =>
  withPhone(async (page) => {
    await page.goto(site.srv.base + 'embed.html');
    await VIEWS.find((v) => v.name === 'embed.html').ready(page);
    for (const f of page.frames().filter((f) => f !== page.mainFrame())) {
      const r = await f.$$eval('main.embed section.pane', (ps) => ps.map((p) => p.getBoundingClientRect().toJSON()));
      assert.equal(r.length, 2);
      assert.ok(r[1].top >= r[0].bottom - 1, 'stacked in a narrow frame');
      const o = await f.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);
      assert.ok(o, 'the frame does not scroll sideways');
    }
    await page.screenshot({ path: shotPath('phone-embed-html'), fullPage: true });
  }),
);
