// Accessibility (issue 17): axe-core on every view of the site (helpers.mjs
// VIEWS: the kimage view, the explore panel open, each lab, the embed and
// embed.html) in the light and the dark theme, with no serious or critical
// violation; and the main flows by keyboard only (pick a preset, edit a
// segment, step the timeline, jump to the first difference).
// Screenshots: target/e2e/a11y-*.png.
//
//   node --test tests/e2e/a11y.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, panes, shotPath, useSite, VIEWS, axeViolations, withContext } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;
const site = useSite();

/** Open `path` in a fresh page in `theme` (the system's colour scheme). */
function withView(theme, fn, viewport = { width: 1280, height: 800 }) {
  return withContext(site, { viewport, colorScheme: theme }, fn, 30_000);
}

for (const view of VIEWS) {
  test(`axe: ${view.name}, light and dark: no serious or critical violation`, { timeout: TEST_TIMEOUT }, async () => {
    for (const theme of ['light', 'dark']) {
      await withView(theme, async (page) => {
        await page.goto(site.srv.base + view.path);
        await view.ready(page);
        const found = await axeViolations(page);
        await page.screenshot({ path: shotPath(`a11y-${view.name.replace(/\W+/g, '-')}-${theme}`), fullPage: true });
        assert.deepEqual(found, [], `${view.name} (${theme}): ${JSON.stringify(found, null, 1)}`);
      });
    }
  });
}

/** Press Tab until the focused element matches `selector` (at most `max` presses). */
async function tabTo(page, selector, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

const stepLabel = (page) => page.$eval('#step-label', (e) => e.textContent.trim());

test('keyboard only: pick a preset, edit a segment, step the timeline, jump to the first difference', { timeout: TEST_TIMEOUT }, () =>
  withView('light', async (page) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);

    // Pick a preset: Tab to the menu, arrow keys change it.
    await tabTo(page, '#preset');
    const first = await page.$eval('#preset', (s) => s.value);
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction((v) => document.querySelector('#preset').value !== v, first);
    await settled(page);
    // Then on to the preset with a difference in its lists.
    const target = 'highmem-retry';
    for (let i = 0; i < 60; i++) {
      const v = await page.$eval('#preset', (s) => s.value);
      if (v === target) break;
      const names = await page.$$eval('#preset option', (os) => os.map((o) => o.value));
      await page.keyboard.press(names.indexOf(v) < names.indexOf(target) ? 'ArrowDown' : 'ArrowUp');
    }
    assert.equal(await page.$eval('#preset', (s) => s.value), target);
    await settled(page);
    assert.equal((await page.locator('#diff-note').textContent()).trim(), 'lists differ from entry #1024');

    // Edit a segment: Tab to segment 0's memsz, type a value.
    await tabTo(page, 'input[data-field="segments[0].memsz"]');
    const memsz = await page.$eval('input[data-field="segments[0].memsz"]', (e) => e.value);
    await page.keyboard.press('Control+a');
    await page.keyboard.type(memsz === '0x2000' ? '0x3000' : '0x2000');
    await page.waitForFunction(() => document.querySelector('#preset').value !== 'highmem-retry');
    await settled(page);
    const edited = await panes(page);
    assert.equal(edited.length, 2, 'both panes ran the edited scenario');

    // Back to the preset (keyboard), then the timeline: out of the field, then ←/→, Home/End.
    await tabTo(page, '#preset', 120);
    await page.keyboard.press('Home');
    for (let i = 0; i < 60 && (await page.$eval('#preset', (s) => s.value)) !== target; i++) await page.keyboard.press('ArrowDown');
    await settled(page);
    // Unfold the SOURCE runs (Space on the check box), so the jump must scroll.
    await tabTo(page, 'label.fold input', 120);
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !document.querySelector('div.entry-list div.row.fold'));
    await tabTo(page, '#first-diff', 120);
    const at0 = await stepLabel(page);
    await page.keyboard.press('End');
    await page.waitForFunction((l) => document.querySelector('#step-label').textContent.trim() !== l, at0);
    const atEnd = await stepLabel(page);
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((l) => document.querySelector('#step-label').textContent.trim() !== l, atEnd);
    await page.keyboard.press('Home');
    await page.waitForFunction((l) => document.querySelector('#step-label').textContent.trim() === l, at0);

    // Jump to the first difference: Enter on the focused button.
    assert.ok(await page.evaluate(() => document.activeElement?.id === 'first-diff'), 'the button has the focus');
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      () => document.querySelectorAll('div.entry-list div.row.diff[data-index="1024"]').length === 2,
    );
    // And the lists themselves are reachable by Tab and scroll by keys
    // (the jump scrolled them down: PageUp goes back up).
    await tabTo(page, 'div.entry-list');
    const top = await page.evaluate(() => document.activeElement.scrollTop);
    assert.ok(top > 0, `the jump scrolled the list (${top})`);
    await page.keyboard.press('PageUp');
    await page.waitForFunction((t) => document.activeElement.scrollTop < t, top);
    await page.screenshot({ path: shotPath('a11y-keyboard'), fullPage: true });
  }),
);
