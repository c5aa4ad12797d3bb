// Bad input in the page (issue 18): links and form values get the same
// messages as kexec-sim — the field path, the value as written (cut),
// why, the valid choices — in the notices and inline errors, at desktop
// width and at 390 px. Screenshots: target/e2e/bad-input-*.png.
//
//   node --test tests/e2e/bad_input.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settled, panes, fragmentFor, shotPath, useSite, openScenario, withContext } from './helpers.mjs';

const TEST_TIMEOUT = 120_000;
const KIMAGE = {
  version: 1,
  arch: 'i386',
  ram: [{ start: '0x0', end: '0x4000000' }],
  segments: [{ bufsz: 4096, mem: '0x1000000', memsz: 4096 }],
  allocator: { policy: 'lowest-first' },
  variants: ['pointer', 'rfc-fixed'],
};
const PLACEMENT = `{
  "version": 1, "kind": "placement", "arch": "x86_64",
  "ram": [
    { "start": "0x1000", "end": "0xa0000" },
    { "start": "0x100000", "end": "0xc0000000" },
    { "start": "0x100000000", "end": "0x200000000" },
    { "start": "0x200000000", "end": "0x400000000", "node": -1, "hotpluggable": true }
  ],
  "mode": "normal",
  "buffers": { "purgatory": "0x5000", "purgatory_align": "0x1000",
               "boot_params": "0x3000", "kernel": "0x3000000",
               "kernel_align": "0x200000", "initrd": "0x4000000" },
  "variants": ["top-down", "bottom-up"]
}`;

const site = useSite();

const WIDTHS = [
  ['desktop', { width: 1440, height: 1000 }],
  ['390', { width: 390, height: 844 }],
];

function withPage(viewport, fn) {
  return withContext(site, { viewport }, fn, 30_000);
}

async function open(page, suffix) {
  await page.goto('about:blank');
  await page.goto(site.srv.base + suffix);
}

/** The text of the first `selector`, without a notice's close button (×). */
async function textOf(page, selector) {
  const n = page.locator(selector).first();
  await n.waitFor();
  return (await n.textContent()).replace(/×$/, '').trim();
}

for (const [name, viewport] of WIDTHS) {
  test(`bad links name the field and the value as written (${name})`, { timeout: TEST_TIMEOUT }, () =>
    withPage(viewport, async (page) => {
      const bad = JSON.stringify(KIMAGE).replace('"start":"0x0"', '"start":{"lo":0}');
      await open(page, '#' + fragmentFor(bad));
      assert.equal(
        await textOf(page, '#notice'),
        'This link could not be opened (ram[0].start: {"lo":0} is not a number: an integer, or a string such as "0x1000", "4096" or "10G"); showing the default scenario instead.',
      );
      await settled(page);
      await page.screenshot({ path: shotPath(`bad-input-link-type-${name}`) });

      await open(page, '#' + fragmentFor('[["kimage"]]'));
      assert.match(await textOf(page, '#notice'), /\(the text is a JSON list \[ … \], not a scenario: a scenario is a JSON object \{ "version": 1, … \}\)/);

      const longArch = JSON.stringify({ ...KIMAGE, arch: 'x'.repeat(100_000) });
      await open(page, '#' + fragmentFor(longArch));
      const t = await textOf(page, '#notice');
      assert.match(t, /arch: unknown arch "x{40}…" \(97\.6 KiB\) \(valid: i386, i386-pae, x86_64, arm-lpae\)/);
      assert.ok(t.length < 300, t);
      await page.screenshot({ path: shotPath(`bad-input-link-long-${name}`) });

      // A byte-order mark is skipped: the scenario opens.
      await open(page, '#' + fragmentFor('\ufeff' + JSON.stringify(KIMAGE)));
      await settled(page);
      assert.equal(await page.locator('#notice').count(), 0);
      assert.deepEqual((await panes(page)).map((p) => p.variant), ['pointer', 'rfc-fixed']);

      // A lab's link: the labs' module says the same.
      await open(page, '#' + fragmentFor(PLACEMENT));
      assert.equal(
        await textOf(page, '#lab-notice'),
        'This link could not be opened (ram[3].node: -1 is not a whole number from 0 to 4294967295).',
      );
      await page.screenshot({ path: shotPath(`bad-input-lab-link-${name}`) });
    }));

  test(`bad form values name the field inline (${name})`, { timeout: TEST_TIMEOUT }, () =>
    withPage(viewport, async (page) => {
      await open(page, '?preset=swap-path');
      await settled(page);
      await openScenario(page);
      await page.locator('#ram').fill('0x0-0x4000000 0x4000000-' + '9'.repeat(200));
      const e = await textOf(page, '.field-error');
      assert.match(e, /^ram\[1\]: "9{40}…" \(200 B\) is not a number that fits in 64 bits/);
      assert.ok(e.length < 200, e);
      await page.screenshot({ path: shotPath(`bad-input-form-${name}`) });
      await page.locator('#ram').fill('0x0-0x4000000');
      await page.waitForFunction(() => !document.querySelector('.field-error'));

      await open(page, '?preset=movable-node-top');
      await page.locator('#place-ram').waitFor();
      await page.locator('#place-ram').fill('0x1000-0xa0000 flavour=' + 'z'.repeat(300));
      const pe = await textOf(page, '.field-error');
      assert.match(pe, /^ram\[0\]: "flavour=z{32}…" \(308 B\) \(valid: node=N, hotpluggable, driver-managed\)$/);
      await page.screenshot({ path: shotPath(`bad-input-lab-form-${name}`) });
    }));
}
