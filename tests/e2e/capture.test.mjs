// Import a capture in the page (issue 19): `?import` (and the header's
// link) opens the labs' module's import view; the four files of a real
// capture (tests/real-kernel/swap-chain: the gzip'd trace, kexec -d's
// segments, /proc/iomem, dmesg's lowmem line) are picked, imported in the
// page, and give the summary and a link that opens the load in the panes
// as a replay of the captured order, where pointer builds the list the
// real kernel built. A broken trace is refused naming its line.
//
//   node --test tests/e2e/capture.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { settled, panes, shotPath, useSite, withContext } from './helpers.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.resolve(here, '../real-kernel/swap-chain');
const site = useSite();

function withPage(fn) {
  return withContext(site, { viewport: { width: 1280, height: 900 } }, fn);
}

async function pick(page, trace) {
  await page.setInputFiles('#capture-trace', trace);
  await page.setInputFiles('#capture-segments', path.join(FIXTURE, 'segments.txt'));
  await page.setInputFiles('#capture-iomem', path.join(FIXTURE, 'iomem.txt'));
  await page.setInputFiles('#capture-lowmem', path.join(FIXTURE, 'lowmem.txt'));
  await page.waitForFunction(() => !document.querySelector('#capture-import').disabled);
}

test('a capture picked in the page becomes a link to its load', { timeout: 180_000 }, () =>
  withPage(async (page) => {
    await page.goto(site.srv.base);
    await settled(page);
    await page.click('#import-link');
    await page.waitForSelector('#capture-import');
    await pick(page, path.join(FIXTURE, 'trace.txt.gz'));
    await page.click('#capture-import');
    const summary = await page.locator('#capture-summary').textContent();
    assert.match(summary, /131 pages from kimage_alloc_pages/, summary);
    assert.match(summary, /handle_mm_fault/, 'dropped allocations counted by caller');
    await page.screenshot({ path: shotPath('capture-imported.png'), fullPage: true });
    const href = await page.locator('#capture-open').getAttribute('href');
    assert.match(href, /#s=1\./);
    await page.click('#capture-open');
    await settled(page);
    // The load as the real kernel's allocator handed out its pages: a
    // replay of 131 pfns, and pointer's list is the one the real kernel
    // built (tests/real-kernel/swap-chain/list.txt).
    const real = fs
      .readFileSync(path.join(FIXTURE, 'list.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('word '))
      .map((l) => '0x' + BigInt(l.split(' ')[1]).toString(16).padStart(8, '0'));
    assert.ok(real.length > 100, 'the fixture holds the real list');
    const left = page.locator('main section.pane.left');
    await left.locator('.entry-list .word').first().waitFor();
    const shown = await left.locator('.entry-list .word').allTextContents();
    // The rows on screen are the list's first words, the real kernel's:
    // its first DESTINATION word, then the run of SOURCE pages it starts
    // (the page folds a run into one row showing its first page).
    const at = shown.indexOf(real[0]);
    assert.ok(at >= 0, `${real[0]} in ${shown.slice(0, 6)}`);
    const page0 = '0x' + (BigInt(real[1]) & ~0xfffn).toString(16).padStart(8, '0');
    assert.equal(shown[at + 1], page0);
    const [l] = await panes(page);
    assert.match(l.verdict, /loaded/);
  }));

test('a broken trace is refused naming its line', { timeout: 120_000 }, () =>
  withPage(async (page) => {
    await page.goto(site.srv.base + '?import');
    await page.waitForSelector('#capture-import');
    const bad = shotPath('capture-broken-trace.txt');
    fs.writeFileSync(
      bad,
      '# tracer: nop\n           kexec-91      [000] .....    10.000000: mm_page_alloc: page=0xf5 pfn=0x\n',
    );
    await pick(page, bad);
    await page.click('#capture-import');
    const err = await page.locator('#capture-error').textContent();
    assert.match(err, /trace/, err);
    assert.match(err, /line 2|no kimage|kimage_alloc_pages/, err);
  }));
