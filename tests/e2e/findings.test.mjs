// Findings and source links (issue 17, parts 1 and 2): `?finding=NAME`
// opens the finding with its write-up (72 columns, the reproducing link,
// the code path's file:line) and its code path linked to elixir.bootlin;
// the header's findings link leads there; the reproducing link opens the
// panes on the preset, whose verdict links kimage_add_entry to its line;
// the timeline's events link their functions, and a lab's log its
// own (the page-table lab, opened from a finding). Screenshots:
// target/e2e/findings-*.png.
//
//   node --test tests/e2e/findings.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, shotPath, useSite, withContext } from './helpers.mjs';

const ELIXIR = 'https://elixir.bootlin.com/linux/v6.1.192/source/';

const site = useSite();

function withPage(viewport, fn) {
  return withContext(site, { viewport }, fn);
}

test('a finding opens with its write-up and its code path linked', { timeout: 120_000 }, () =>
  withPage({ width: 390, height: 844 }, async (page) => {
    await page.goto(site.srv.base + '?finding=enomem-source-leak');
    const pre = page.locator('#finding-write-up');
    await pre.waitFor();
    const text = await pre.textContent();
    assert.match(text, /^6\.1 leaks the source page when kimage_add_page fails/);
    assert.ok(text.includes(`${site.srv.base}?preset=bad-enomem`), text);
    assert.ok(text.includes('    kimage_add_page kernel/kexec_core.c:573\n'), text);
    assert.ok(text.split('\n').every((l) => l.length <= 72), 'every line at most 72 columns');
    // Only the named finding is open; the others are listed.
    assert.equal(await page.locator('article.finding pre.write-up').count(), 1);
    assert.ok((await page.locator('article.finding').count()) >= 5);
    // The code path links each function to its line.
    const link = page.locator('ol.code-path a.src', { hasText: /^kimage_add_page$/ });
    assert.equal(await link.getAttribute('href'), `${ELIXIR}kernel/kexec_core.c#L573`);
    // The header names the findings.
    assert.match(await page.locator('header.top p.tagline').textContent(), /findings?|reproduces/);
    // At 390 px the write-up scrolls in its box: nothing of the findings
    // view is wider than the screen (the header's tabs are the phone
    // layout's business).
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('section.findings, section.findings *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .map((e) => e.tagName + '.' + e.className),
    );
    assert.deepEqual(wide, [], 'nothing in the findings view wider than 390 px');
    await page.screenshot({ path: shotPath('findings-a-enomem-390'), fullPage: true });

    // The reproducing link opens the panes on the preset; the verdict's
    // function names link to their lines.
    await page.click('#finding-reproduce');
    await page.waitForURL(/\?preset=bad-enomem&step=1023/);
    await settled(page);
    // ... at the step where kimage_add_entry finds no page.
    await page.waitForFunction(() => /^step 1023\b/.test(document.querySelector('#step-label')?.textContent ?? ''));
    await page.locator('div.step-log li', { hasText: 'fails: no page' }).first().waitFor();
    const v = page.locator('main section.pane.left p.verdict a.src', { hasText: /^kimage_alloc_page$/ });
    assert.equal(await v.first().getAttribute('href'), `${ELIXIR}kernel/kexec_core.c#L680`);
  }),
);

test('the header leads to the findings; the timeline links its functions', { timeout: 120_000 }, () =>
  withPage({ width: 1440, height: 1000 }, async (page) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    await page.locator('section.timeline').waitFor();
    await page.locator('#step-slider').fill('1');
    const ev = page.locator('div.step-log li a.src', { hasText: /^kimage_load_normal_segment$/ });
    await ev.first().waitFor();
    assert.equal(await ev.first().getAttribute('href'), `${ELIXIR}kernel/kexec_core.c#L776`);
    await page.click('#findings-link');
    await page.waitForURL(/\?findings/);
    await page.locator('#finding-rfc-pos-invalid').waitFor();
    assert.equal(await page.locator('article.finding pre.write-up').count(), await page.locator('article.finding').count());
    await page.click('#finding-stale-pde h2 a');
    await page.waitForURL(/\?finding=stale-pde/);
    const text = await page.locator('#finding-write-up').textContent();
    assert.ok(text.includes('pmd_free_pte_page arch/x86/mm/pgtable.c:853'), text);
    await page.screenshot({ path: shotPath('findings-b-stale-pde'), fullPage: true });

    // Its reproducing link opens the page-table lab, whose log links the
    // lab's kernel functions.
    await page.click('#finding-reproduce');
    await page.waitForURL(/\?preset=pgtable-stale-pde/);
    const a = page.locator('#lab-root a.src', { hasText: /^pmd_free_pte_page$/ });
    await a.first().waitFor({ state: 'attached' });
    assert.equal(await a.first().getAttribute('href'), `${ELIXIR}arch/x86/mm/pgtable.c#L853`);
    assert.equal(await page.locator('#tab-pgtable').getAttribute('aria-pressed'), 'true');
  }),
);

test('an embed links its verdicts\' kernel functions too', { timeout: 120_000 }, () =>
  withPage({ width: 480, height: 400 }, async (page) => {
    await page.goto(site.srv.base + '?embed=1&preset=rfc-i386-pae');
    await page.waitForFunction(() => document.querySelectorAll('main.embed p.verdict').length === 2);
    const a = page.locator('main.embed p.verdict a.src', { hasText: /^kimage_add_entry$/ });
    await a.first().waitFor();
    assert.equal(await a.first().getAttribute('href'), `${ELIXIR}kernel/kexec_core.c#L535`);
  }),
);

test('on a phone, a shared link to its finding\'s write-up in three taps', { timeout: 120_000 }, () =>
  withContext(site, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, permissions: ['clipboard-read', 'clipboard-write'] }, async (page) => {
    await page.goto(site.srv.base + '?preset=bad-enomem');
    await settled(page);
    await page.tap('#findings-link'); // 1
    await page.locator('#finding-enomem-source-leak h2 a').waitFor();
    await page.tap('#finding-enomem-source-leak h2 a'); // 2
    await page.waitForURL(/\?finding=enomem-source-leak/);
    const pre = page.locator('#finding-write-up');
    await pre.scrollIntoViewIfNeeded();
    await page.tap('#copy-write-up'); // 3: the write-up, with its file:line references, copied
    const text = await pre.textContent();
    assert.match(text, /kimage_add_page kernel\/kexec_core\.c:573/);
    await page.screenshot({ path: shotPath('findings-three-taps-390.png') });
  }),
);
