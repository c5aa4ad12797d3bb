// Kernel builds as designs in the page (issue 14): the shipped build
// ("kernel 6.1 (C)", Debian's linux-source-6.1 unpatched, built by cargo
// xtask dist) beside pointer, a link reopening with it, a kernel-build file
// dropped on a design menu, a link naming a build the page does not have,
// and a slow kernel run (huge-initrd) said so and cancelled. At desktop
// width and at 390 px. Screenshots: target/e2e/kernel-*.png.
//
//   node --test tests/e2e/kernel.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DIST } from './server.mjs';
import { settled, panes, fragmentFor, fragmentSettled, shotPath, useSite, openScenario, withContext } from './helpers.mjs';

const TEST_TIMEOUT = 240_000;
const RUN = 120_000;

const site = useSite();

const WIDTHS = [
  ['desktop', { width: 1440, height: 1000 }],
  ['390', { width: 390, height: 844 }],
];

function withPage(viewport, fn) {
  return withContext(site, { viewport }, fn);
}

/** Every entry word of each pane's list, in order (the lists are virtual:
 * scrolled through). */
async function entryWords(page) {
  return page.$$eval('main section.pane', async (ps) => {
    const out = [];
    for (const p of ps) {
      const list = p.querySelector('div.entry-list');
      if (!list) {
        out.push([]);
        continue;
      }
      const seen = new Map();
      for (let y = 0; ; y += list.clientHeight / 2) {
        list.scrollTo(0, y);
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        for (const row of list.querySelectorAll('div[role=listitem]')) {
          seen.set(Number(row.dataset.index), row.querySelector('.word')?.textContent + ' ' + row.querySelector('.what')?.textContent);
        }
        if (y + list.clientHeight >= list.scrollHeight) break;
      }
      list.scrollTo(0, 0);
      out.push([...seen.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
    }
    return out;
  });
}

/** Wait until the right pane shows `variant` with a current verdict. */
async function paneShows(page, side, variant) {
  await page.waitForFunction(
    ([side, variant]) =>
      document.querySelector(`main.panes section.pane.${side} h2.variant`)?.textContent.trim() === variant,
    [side, variant],
    { timeout: RUN },
  );
  await settled(page, RUN);
}

async function shipped(page) {
  await page.goto(site.srv.base + '?preset=swap-path');
  await settled(page);
  await openScenario(page);
  await page.selectOption('#variant-0', 'pointer');
  await settled(page);
  await page.selectOption('#variant-1', '@shipped');
  await paneShows(page, 'right', 'kernel:6.1');
}

for (const [name, viewport] of WIDTHS) {
  test(`a. kernel 6.1 (C) beside pointer on swap-path, and its link (${name})`, { timeout: TEST_TIMEOUT }, () =>
    withPage(viewport, async (page, context) => {
      await shipped(page);
      const ps = await panes(page);
      assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'kernel:6.1']);
      assert.equal(ps[0].verdict, ps[1].verdict, 'the same verdict');
      assert.equal(ps[1].kind, 'loaded');
      const [a, b] = await entryWords(page);
      assert.ok(a.length > 0, 'pointer has a list');
      assert.deepEqual(b, a, 'identical entry lists');
      const info = page.locator('section.pane.right details.kernel-info');
      assert.match(await info.locator('summary').textContent(), /6\.1 \(Linux 6\.1\.\d+ unpatched, build [0-9a-f]{16}\)/);
      await info.locator('summary').click();
      const text = await info.locator('pre').textContent();
      assert.match(text, /patches: none/);
      assert.match(text, /compiler: .*clang/);
      assert.match(text, /GPL-2\.0/);
      await page.screenshot({ path: shotPath(`kernel-a-shipped-${name}`), fullPage: true });

      // The link names the build; a fresh page reopens with it.
      const link = site.srv.base + (await fragmentSettled(page));
      const page2 = await context.newPage();
      await page2.goto(link);
      await paneShows(page2, 'right', 'kernel:6.1');
      const ps2 = await panes(page2);
      assert.deepEqual(ps2.map((p) => p.verdict), ps.map((p) => p.verdict));
      assert.equal(await page2.locator('section.pane.right details.kernel-info').count(), 1, 'the build is known');
      assert.equal(await page2.locator('.kernel-info.missing').count(), 0);
      await page2.close();
    }));
}

test('b. a kernel-build file dropped on a design menu, and one picked', { timeout: TEST_TIMEOUT }, () =>
  withPage(WIDTHS[0][1], async (page) => {
    const text = fs.readFileSync(path.join(DIST, 'kernel-6.1.kbuild'), 'utf8');
    const build = JSON.parse(text);
    build.meta.name = 'mine';
    build.meta.id = 'feedfacefeedface';
    const mine = JSON.stringify(build);
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    await page.selectOption('#variant-0', 'pointer');
    await settled(page);
    const dt = await page.evaluateHandle((t) => {
      const dt = new DataTransfer();
      dt.items.add(new File([t], 'mine.kbuild', { type: 'application/json' }));
      return dt;
    }, mine);
    await page.dispatchEvent('span.design-pick >> nth=1', 'drop', { dataTransfer: dt });
    await paneShows(page, 'right', 'kernel:mine');
    let ps = await panes(page);
    assert.equal(ps[1].verdict, ps[0].verdict);
    assert.match(await page.locator('section.pane.right details.kernel-info summary').textContent(), /build feedfacefeedface/);
    await page.screenshot({ path: shotPath('kernel-b-dropped'), fullPage: true });

    // Picked with the file chooser, for the left pane.
    build.meta.name = 'picked';
    build.meta.id = 'facefeedfacefeed';
    await page.setInputFiles('#kernel-file-0', {
      name: 'picked.kbuild',
      mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify(build)),
    });
    await paneShows(page, 'left', 'kernel:picked');
    ps = await panes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['kernel:picked', 'kernel:mine']);
    assert.equal(ps[0].verdict, ps[1].verdict);

    // Not a build: said so, nothing changes.
    await page.setInputFiles('#kernel-file-0', {
      name: 'notes.txt',
      mimeType: 'text/plain',
      buffer: Buffer.from('hello'),
    });
    await page.locator('#notice', { hasText: 'not a kernel build' }).waitFor();
    assert.deepEqual((await panes(page)).map((p) => p.variant), ['kernel:picked', 'kernel:mine']);
  }));

for (const [name, viewport] of WIDTHS) {
  test(`c. a link naming a kernel build the page does not have (${name})`, { timeout: TEST_TIMEOUT }, () =>
    withPage(viewport, async (page) => {
      const json = JSON.stringify({
        version: 1,
        arch: 'i386',
        ram: [{ start: '0x0', end: '0x4000000' }],
        segments: [{ bufsz: 8192, mem: '0x1000000', memsz: 8192 }],
        allocator: { policy: 'lowest-first' },
        variants: ['pointer', 'kernel:fixed'],
        kernels: [
          {
            name: 'fixed',
            id: '0123456789abcdef',
            source: '6.1.192',
            patches: [{ name: 'fix.patch', sha256: 'ab'.repeat(32) }],
          },
        ],
      });
      await page.goto(site.srv.base + '#' + fragmentFor(json));
      await paneShows(page, 'right', 'kernel:fixed');
      const missing = page.locator('section.pane.right .kernel-info.missing');
      const says = await missing.textContent();
      assert.match(says, /does not have/);
      assert.match(says, /fix\.patch abababababab/);
      assert.match(says, /load a kernel build/);
      const ps = await panes(page);
      assert.match(ps[1].verdict, /not loaded here/);
      assert.equal(ps[0].variant, 'pointer', 'the rest is shown');
      assert.equal(ps[0].kind, 'loaded');
      await page.screenshot({ path: shotPath(`kernel-c-unknown-${name}`), fullPage: true });
    }));
}

test('d. a slow kernel run (huge-initrd) is said so, the page stays usable, cancel stops it', { timeout: TEST_TIMEOUT }, () =>
  withPage(WIDTHS[0][1], async (page) => {
    await page.goto(site.srv.base + '?preset=huge-initrd');
    await settled(page, RUN);
    await page.selectOption('#variant-1', '@shipped');
    await page.locator('p.kernel-slow').waitFor();
    assert.match(await page.locator('p.kernel-slow').textContent(), /quadratic/);
    await page.locator('#cancel').waitFor();
    // The main thread answers while the kernel worker runs.
    const t0 = Date.now();
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(r)));
    assert.ok(Date.now() - t0 < 2000, 'a frame within 2 s');
    await page.screenshot({ path: shotPath('kernel-d-slow'), fullPage: true });
    await page.click('#cancel');
    await page.locator('#notice', { hasText: 'cancelled' }).waitFor();
  }));
