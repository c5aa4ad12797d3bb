// End-to-end tests of the built playground (dist/), served under /play/ and
// driven in Debian's headless Chromium through playwright-core.
//
//   cd /work/main && node --test tests/e2e/
//
// Each test gets its own browser context and page; its final state is saved
// as target/e2e/<test-name>.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {
  installProbes,
  settled,
  fragmentSettled,
  panes,
  scenarioInputs,
  fragmentFor,
  shotPath,
  useSite,
} from './helpers.mjs';

const WAIT = 30_000; // waitForSelector / waitForFunction ceiling
const TEST_TIMEOUT = 90_000;

const site = useSite();

/**
 * Run `fn` with a fresh context and page; screenshot the final page (the
 * page `fn` returns, else the first) and close the context. Fails on any
 * uncaught page error or wasm panic.
 */
async function withPage(name, fn, { permissions = [] } = {}) {
  const context = await site.browser.newContext({ viewport: { width: 1440, height: 1000 }, acceptDownloads: true });
  context.setDefaultTimeout(WAIT);
  if (permissions.length) await context.grantPermissions(permissions, { origin: site.srv.origin });
  const problems = [];
  const watch = (p) => {
    p.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    p.on('console', (m) => {
      if (m.type() === 'error' && /panicked|RuntimeError|unreachable/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
  };
  context.on('page', watch);
  const page = await context.newPage();
  let final = page;
  try {
    final = (await fn({ page, context })) || page;
    assert.deepEqual(problems, [], 'no uncaught errors or panics in the page');
  } finally {
    await final.screenshot({ path: shotPath(name), fullPage: true }).catch(() => {});
    await context.close();
  }
}

function pane(page, variant) {
  return page.locator('main section.pane').filter({
    has: page.locator('h2.variant', { hasText: new RegExp(`^\\s*${variant}\\s*$`) }),
  });
}

test('a. the default page shows two panes with verdicts', { timeout: TEST_TIMEOUT }, () =>
  withPage('a-default-page', async ({ page, context }) => {
    const fetched = [];
    context.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    // Workers started and runs posted to them.
    await page.addInitScript(() => {
      const seen = (window.__workers = { started: 0, runs: 0 });
      window.Worker = class extends window.Worker {
        constructor(...args) {
          super(...args);
          seen.started += 1;
        }
        postMessage(m, ...rest) {
          if (String(m).startsWith('{"run"')) seen.runs += 1;
          return super.postMessage(m, ...rest);
        }
      };
    });
    const resp = await page.goto(site.srv.base);
    assert.equal(resp.status(), 200);
    await settled(page);
    const ps = await panes(page);
    assert.equal(ps.length, 2, 'two panes');
    assert.deepEqual(ps.map((p) => p.side), ['left', 'right']);
    for (const p of ps) {
      assert.ok(p.variant, 'each pane names its variant');
      assert.ok(p.verdict.length > 10, `a verdict sentence in ${p.variant}: ${p.verdict}`);
      assert.equal(p.classes.filter((c) => ['ok', 'fail', 'fault', 'error'].includes(c)).length, 1, `one verdict class: ${p.classes}`);
      assert.ok(p.kind, 'data-kind');
      assert.ok(p.counters.includes('alloc calls'), 'counters');
    }
    // The default scenario is the RFC preset; the URL holds it.
    assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'rfc-posted']);
    await fragmentSettled(page);
    assert.equal(await page.locator('#preset').inputValue(), 'rfc-i386-pae');
    assert.equal(await page.locator('#notice').count(), 0, 'no notice on a clean load');
    // A small image runs in the page's own module: the explore module
    // (big runs', the Explore panel's) is not fetched.
    assert.deepEqual(fetched.filter((f) => /explore/.test(f)), []);
    // The first run goes to the worker main started before the page
    // rendered: one worker, one run.
    assert.deepEqual(await page.evaluate(() => window.__workers), { started: 1, runs: 1 });
  }));

test('b. the RFC preset: rfc-posted faults, pointer relocates', { timeout: TEST_TIMEOUT }, () =>
  withPage('b-rfc-preset', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    assert.deepEqual((await panes(page)).map((p) => p.variant), ['pointer', 'rfc-fixed']);
    await page.selectOption('#preset', 'rfc-i386-pae');
    await page.waitForFunction(() => document.querySelector('main.panes section.pane.right h2.variant')?.textContent.trim() === 'rfc-posted');
    await settled(page);

    const posted = pane(page, 'rfc-posted').locator('p.verdict');
    await posted.waitFor();
    assert.ok(await posted.evaluate((e) => e.classList.contains('fault')), 'rfc-posted verdict has class fault');
    assert.equal(await posted.getAttribute('data-kind'), 'fault');
    const postedText = await posted.textContent();
    assert.match(postedText, /kimage_add_entry/);
    assert.match(postedText, /KIMAGE_ENTRY_POS_INVALID/);

    const pointer = pane(page, 'pointer').locator('p.verdict');
    assert.ok(await pointer.evaluate((e) => e.classList.contains('ok')), 'pointer verdict has class ok');
    assert.equal(await pointer.getAttribute('data-kind'), 'loaded');
    assert.match(await pointer.textContent(), /relocation ok/);

    // The scenario is in the URL again (the ?preset short link was for the first load only).
    await fragmentSettled(page);
    const inputs = await scenarioInputs(page);
    assert.equal(inputs.arch, 'i386-pae');
    assert.equal(inputs['segments[1].mem'], '0x4000000');
  }));

test('c. an invalid segment shows the errno; an unparsable value names the field', { timeout: TEST_TIMEOUT }, () =>
  withPage('c-segment-errors', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    await page.getByRole('button', { name: '+ segment' }).click();
    const mem1 = page.locator('input[data-field="segments[1].mem"]');
    await mem1.waitFor();
    assert.equal(await mem1.inputValue(), '0x1100000', 'the new segment goes after the last one');
    await settled(page);
    assert.equal(await page.locator('table.segments tr.row-error').count(), 0, 'no segment error for a valid second segment');
    // (The preset's replay list has no page left for it: -ENOMEM, not a segment error.)
    const valid = await panes(page);

    // Segment 1 overlapping segment 0 (0x1000000-0x1002000).
    await mem1.fill('0x1001000');
    await settled(page);
    const rowError = page.locator('table.segments tr.row-error [role="alert"]');
    await rowError.first().waitFor();
    const kernelMsg = await rowError.first().textContent();
    assert.match(kernelMsg, /^kexec_load returns -EINVAL/);
    assert.match(kernelMsg, /overlaps/);
    assert.equal(await page.locator('table.segments tbody tr.rejected').count(), 1, 'the offending row is marked');
    const rejectedNo = await page.locator('table.segments tbody tr.rejected td.segno').textContent();
    assert.equal(rejectedNo.trim(), '1', 'the errno is on segment 1');
    for (const p of await panes(page)) {
      assert.ok(p.classes.includes('error'), `${p.variant}: an error verdict (${p.classes})`);
      assert.match(p.verdict, /-EINVAL/);
    }
    await page.screenshot({ path: shotPath('c-segment-errors-overlap'), fullPage: true });

    // An unparsable value: an input error naming the field; the last valid result stays.
    const mem0 = page.locator('input[data-field="segments[0].mem"]');
    await mem0.fill('0xzz');
    const inputErr = page.locator('table.segments tr.row-error [role="alert"]', { hasText: 'segments[0].mem' });
    await inputErr.waitFor();
    assert.match(await inputErr.textContent(), /0xzz/);
    assert.equal(await mem0.getAttribute('aria-invalid'), 'true');
    assert.ok(await mem0.evaluate((e) => e.classList.contains('invalid')));
    await page.screenshot({ path: shotPath('c-segment-errors-unparsable'), fullPage: true });

    // Fixing both brings a clean, relocating result back.
    await mem0.fill('0x1000000');
    await mem1.fill('0x1100000');
    await page.waitForFunction(() => !document.querySelector('table.segments tr.row-error'));
    await settled(page);
    assert.deepEqual(await panes(page), valid, 'the valid two-segment result is back');
    assert.equal(await page.locator('table.segments tbody tr.rejected').count(), 0);
    // And the single-segment preset relocates again once the extra row is removed.
    await page.getByRole('button', { name: 'remove segment 1' }).click();
    await settled(page);
    for (const p of await panes(page)) {
      assert.ok(p.classes.includes('ok'), `${p.variant} ok: ${p.verdict}`);
      assert.match(p.verdict, /relocation ok/);
    }
  }));

test('d. copy link, open it in a new page: same scenario, same verdicts', { timeout: TEST_TIMEOUT }, () =>
  withPage(
    'd-copy-link',
    async ({ page, context }) => {
      await page.goto(site.srv.base + '?preset=rfc-i386-pae');
      await settled(page);
      // Make it a scenario no preset has: another allocator seed.
      await page.locator('#seed').fill('9');
      await settled(page);
      const hash = await fragmentSettled(page);
      await page.click('#copy-link');
      await page.locator('.share-bar .feedback', { hasText: 'link copied' }).waitFor();
      const link = await page.evaluate(() => navigator.clipboard.readText());
      assert.ok(link.startsWith(site.srv.base + '#s=1.'), `a playground link on the sub-path: ${link.slice(0, 80)}`);
      assert.equal(new URL(link).hash, hash, 'the link holds the scenario in the URL');
      const before = { inputs: await scenarioInputs(page), panes: await panes(page) };
      assert.equal(before.inputs.seed, '9');

      const page2 = await context.newPage();
      await page2.goto(link);
      await settled(page2);
      const afterOpen = { inputs: await scenarioInputs(page2), panes: await panes(page2) };
      assert.deepEqual(afterOpen.inputs, before.inputs, 'same input values');
      assert.deepEqual(afterOpen.panes, before.panes, 'same variants, verdicts and counters');
      assert.equal(await page2.locator('#notice').count(), 0);
      return page2;
    },
    { permissions: ['clipboard-read', 'clipboard-write'] },
  ));

test('e. embed: compact view, "open in playground" carries the scenario', { timeout: TEST_TIMEOUT }, () =>
  withPage('e-embed', async ({ page, context }) => {
    await page.goto(site.srv.base + '?embed=1&preset=swap-path');
    await page.waitForFunction(() => document.querySelectorAll('main.embed section.pane p.verdict').length === 2, null, { timeout: WAIT });
    assert.equal(await page.locator('form.scenario-bar').count(), 0, 'no scenario bar in the embed');
    assert.equal(await page.locator('.entry-list').count(), 0, 'no entry lists in the embed');
    const embedPanes = await panes(page, 'main.embed');
    assert.deepEqual(embedPanes.map((p) => p.variant), ['pointer', 'rfc-fixed']);
    for (const p of embedPanes) assert.ok(p.classes.includes('ok'), `${p.variant}: ${p.verdict}`);
    await page.screenshot({ path: shotPath('e-embed-compact') });

    const open = page.locator('a#open-in-playground');
    const href = await open.getAttribute('href');
    assert.ok(href.startsWith(site.srv.base + '#s=1.'), `full playground, same sub-path, no ?embed: ${href.slice(0, 80)}`);
    const [full] = await Promise.all([context.waitForEvent('page'), open.click()]);
    await full.waitForLoadState();
    await settled(full);
    assert.equal(full.url(), href);
    const inputs = await scenarioInputs(full);
    assert.equal(inputs['segments[0].bufsz'], '0x2000');
    assert.equal(inputs['segments[0].mem'], '0x1000000');
    assert.equal(inputs['segments[0].memsz'], '0x2000');
    assert.equal(await full.locator('input[data-field^="segments["][data-field$=".mem"]').count(), 1, 'one segment');
    assert.equal(inputs.arch, 'i386');
    assert.equal(inputs.ram, '0x0-0x4000000');
    assert.equal(inputs.policy, 'replay');
    assert.equal(inputs.replay, '0x2000 0x2001 0x2002 0x2003 0x1000');
    const fullPanes = await panes(full);
    assert.deepEqual(
      fullPanes.map(({ variant, verdict }) => ({ variant, verdict })),
      embedPanes.map(({ variant, verdict }) => ({ variant, verdict })),
      'same verdicts as the embed',
    );
    return full;
  }));

test('f. keyboard stepping, help overlay, keys ignored in fields', { timeout: TEST_TIMEOUT }, () =>
  withPage('f-keyboard', async ({ page }) => {
    await page.goto(site.srv.base);
    await settled(page);
    const slider = page.locator('#step-slider');
    const stepIs = (v) =>
      page.waitForFunction((v) => document.querySelector('#step-slider')?.value === String(v), v, { timeout: WAIT });
    assert.equal(await slider.inputValue(), '0');
    await page.evaluate(() => document.activeElement?.blur());
    await page.locator('h1').click();

    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await stepIs(2);
    assert.match(await page.locator('#step-label').textContent(), /^step 2 /);
    await page.waitForFunction(() => /kimage_load_normal_segment/.test(document.querySelector('.step-log')?.textContent || ''), null, { timeout: WAIT });
    assert.equal(await page.locator('.step-log').getAttribute('aria-live'), 'polite');
    const lists = await page.locator('.step-log ol').count();
    assert.equal(lists, 2, 'one event list per pane');

    await page.keyboard.press('ArrowLeft');
    await stepIs(1);

    const max = await slider.getAttribute('max');
    assert.ok(Number(max) > 2);
    await page.keyboard.press('End');
    await stepIs(max);
    assert.match(await page.locator('#step-label').textContent(), /kimage_terminate/);
    await page.keyboard.press('Home');
    await stepIs(0);

    await page.keyboard.press('?');
    const overlay = page.locator('.overlay[role="dialog"]');
    await overlay.waitFor({ state: 'visible' });
    assert.match(await overlay.textContent(), /Home \/ End/);
    await page.keyboard.press('Escape');
    await overlay.waitFor({ state: 'detached' });

    // Inside a field the keys edit the field, not the timeline.
    await page.keyboard.press('ArrowRight');
    await stepIs(1);
    const seed = page.locator('#seed');
    await seed.click();
    for (const k of ['ArrowRight', 'ArrowRight', 'End', 'Home', 'ArrowLeft']) await page.keyboard.press(k);
    await page.keyboard.press('?');
    await page.waitForTimeout(300); // give a wrongly handled key time to show
    assert.equal(await slider.inputValue(), '1', 'keys typed in an input do not move the step');
    assert.equal(await overlay.count(), 0, '? typed in an input does not open the help');
    assert.equal(await seed.inputValue(), '?7', 'the ? went into the field (typed at Home)');
    await seed.fill('7');
    // Out of the field again, the keys work.
    await page.locator('h1').click();
    await page.keyboard.press('ArrowRight');
    await stepIs(2);
  }));

test('g. huge-initrd (1 GiB): progress, verdicts, the main thread measured', { timeout: TEST_TIMEOUT }, async (t) => {
  let probe;
  await withPage('g-huge-initrd', async ({ page, context }) => {
    const fetched = [];
    context.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.addInitScript(installProbes);
    await page.addInitScript(() => {
      window.__workersStarted = 0;
      window.Worker = class extends window.Worker {
        constructor(...args) {
          super(...args);
          window.__workersStarted += 1;
        }
      };
    });
    await page.goto(site.srv.base + '?preset=huge-initrd');
    await settled(page, WAIT);
    await page.waitForTimeout(500); // let trailing long-task entries arrive
    probe = await page.evaluate(() => window.__e2e);
    const ps = await panes(page);
    await t.test('a big image runs in the explore module (the model built for speed)', async () => {
      assert.ok(fetched.some((f) => f.endsWith('/explore_bg.wasm')), `fetched: ${fetched.join(' ')}`);
      // Only that worker: the page's own module's is not booted for a big
      // link (its boot would take CPU from the run).
      assert.equal(await page.evaluate(() => window.__workersStarted), 1);
    });
    await t.test('every counter keeps its value apart from its label (large numbers included)', async () => {
      const touching = await page.evaluate(() =>
        [...document.querySelectorAll('.pane .counters > div')].flatMap((row) => {
          const dt = row.querySelector('dt').getBoundingClientRect();
          const dd = row.querySelector('dd').getBoundingClientRect();
          // On one line, a gap between them; else the value on a line below.
          const apart = dd.top >= dt.bottom - 1 || dd.left >= dt.right + 4;
          return apart ? [] : [`${row.querySelector('dt').textContent}|${row.querySelector('dd').textContent}`];
        }),
      );
      assert.deepEqual(touching, [], 'labels that run into their values');
    });
    await t.test("step 0's events come with the result (kept from the untraced run)", async () => {
      assert.equal(await page.locator('#step-slider').inputValue(), '0');
      await page.waitForFunction(
        () => [...document.querySelectorAll('.step-log ol')].filter((ol) => /alloc_pages/.test(ol.textContent)).length === 2,
        null,
        { timeout: WAIT },
      );
      assert.doesNotMatch(await page.locator('.step-log').textContent(), /kimage_load_normal_segment/, 'no page of the load in step 0');
    });
    await t.test('the timeline steps: the worker traces the untraced run again', async () => {
      await page.evaluate(() => document.activeElement?.blur());
      await page.locator('h1').click();
      await page.keyboard.press('ArrowRight');
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => document.querySelector('#step-slider')?.value === '2', null, { timeout: WAIT });
      await page.waitForFunction(
        () => /kimage_load_normal_segment/.test(document.querySelector('.step-log')?.textContent || ''),
        null,
        { timeout: WAIT },
      );
      assert.equal(await page.locator('.step-log ol').count(), 2, 'one event list per pane');
    });
    await t.test('progress bar shown while the worker runs', () => {
      assert.ok(probe.progressShownAt !== null, 'div.progress appeared');
      assert.ok(probe.progressMax > 0, `a progress value > 0 was shown (max ${probe.progressMax})`);
    });
    await t.test('both verdicts: relocation ok', () => {
      assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'rfc-fixed']);
      for (const p of ps) {
        assert.ok(p.classes.includes('ok'), `${p.variant}: ${p.verdict}`);
        assert.match(p.verdict, /relocation ok/);
        assert.match(p.verdict, /262144 pages copied/);
      }
    });
    // The first big run starts the big runs' worker's second worker; the
    // next ones split their designs with it (crates/web/src/worker.rs).
    await t.test('edits run again, split between two workers: the same panes and report as one worker\'s', async () => {
      const report = async () => {
        await page.locator('#copy-text').click();
        return page.evaluate(() => navigator.clipboard.readText());
      };
      const first = await report();
      assert.match(first, /== pointer =+\n[\s\S]*== rfc-fixed =+\n[\s\S]*\n\[1\] kimage_dst_used kernel\/kexec_core\.c:\d+\n/);
      // The second worker starts half a second after the first big answer.
      await page.waitForTimeout(1_000);
      const seed = page.locator('#seed');
      await page.evaluate(() => (window.__e2e.progressTexts = []));
      await seed.fill('2');
      await settled(page, WAIT);
      // Both workers' progress, of the whole run's pages from the start
      // (never "of 0" before the first post): past the first worker's
      // half before the end (the second worker's part reaches the page
      // through its own port).
      const texts = await page.evaluate(() => window.__e2e.progressTexts);
      const loaded = texts.map((t) => t.match(/loading: (\d+) of (\d+) pages/)).filter(Boolean);
      assert.ok(loaded.length > 0, `progress shown: ${JSON.stringify(texts)}`);
      assert.ok(loaded.every((m) => m[2] === '524288'), `of both designs' pages: ${JSON.stringify(texts)}`);
      assert.ok(loaded.some((m) => Number(m[1]) > 262144), `both parts counted: ${JSON.stringify(texts)}`);
      const two = await panes(page);
      assert.notDeepEqual(two.map((p) => p.counters), ps.map((p) => p.counters), 'seed 2 ran');
      await seed.fill('1');
      await settled(page, WAIT);
      assert.deepEqual(await panes(page), ps);
      assert.equal(await report(), first);
    });
  }, { permissions: ['clipboard-read', 'clipboard-write'] });
  // The 50 ms budget for main-thread tasks is a measurement, not a test
  // (timings follow the host's load): tests/e2e/bench.mjs reports it. Here
  // only that it can be measured, and the figure as a diagnostic.
  await t.test('the longtask observer sees the run', () => {
    assert.equal(probe.longtaskError, null, 'longtask observer installed');
    const during = probe.longtasks.filter(
      (l) => l.start + l.duration >= probe.progressShownAt && l.start <= probe.verdictsAt,
    );
    const worst = Math.max(0, ...during.map((l) => l.duration));
    t.diagnostic(`longest main-thread task during the run: ${worst.toFixed(0)} ms (budget 50 ms; bench.mjs)`);
  });
});

test('h. cancel a 1 GiB run: notice, page stays usable', { timeout: TEST_TIMEOUT }, () =>
  withPage('h-cancel', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=huge-initrd');
    const cancel = page.locator('div.progress button#cancel');
    await cancel.waitFor({ state: 'visible' });
    assert.equal(await page.locator('div.progress progress').count(), 1);
    await cancel.click({ timeout: 5_000 });
    const notice = page.locator('#notice[role="alert"]');
    await notice.waitFor();
    assert.match(await notice.textContent(), /cancelled/i);
    await page.locator('div.progress').waitFor({ state: 'detached' });
    assert.equal(await page.locator('main.panes').getAttribute('aria-busy'), 'false');
    assert.ok(await page.locator('header.top h1').isVisible(), 'not a blank page');
    // Nothing was running before, so no result is shown yet; the form is still live.
    assert.equal(await page.locator('main.panes section.pane').count(), 0);

    // Editing a field afterwards runs again (a fresh worker) and shows a result.
    await page.locator('input[data-field="segments[1].bufsz"]').fill('0x100000');
    await page.locator('input[data-field="segments[1].memsz"]').fill('0x100000');
    await settled(page);
    const ps = await panes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'rfc-fixed']);
    for (const p of ps) {
      assert.ok(p.classes.includes('ok'), `${p.variant}: ${p.verdict}`);
      assert.match(p.verdict, /relocation ok: 4352 pages copied/, 'the edited scenario (16 MiB + 1 MiB) ran');
    }
  }));

test('i. first difference: highmem-retry differs from entry #1024, jump shows it in both lists', { timeout: TEST_TIMEOUT }, () =>
  withPage('i-first-diff', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=highmem-retry');
    await settled(page);
    assert.equal((await page.locator('#diff-note').textContent()).trim(), 'lists differ from entry #1024');
    assert.ok(await page.locator('#first-diff').isEnabled());

    const rowInView = () =>
      page.$$eval('main section.pane', (ps) =>
        ps.map((p) => {
          const list = p.querySelector('div.entry-list');
          const row = list?.querySelector('div.row.diff[data-index="1024"]');
          if (!row) return { found: false, scrollTop: list?.scrollTop };
          const a = list.getBoundingClientRect();
          const b = row.getBoundingClientRect();
          return { found: true, inView: b.top >= a.top && b.bottom <= a.bottom && b.height > 0, scrollTop: list.scrollTop };
        }),
      );
    // Folded (the default), entry #1024 sits right after the folded SOURCE run,
    // near the top; unfolded it is ~1000 rows down: unfold so the jump must scroll.
    const fold = page.locator('label.fold input[type="checkbox"]');
    assert.ok(await fold.isChecked(), 'SOURCE runs are folded by default');
    await fold.uncheck();
    await page.waitForFunction(() => !document.querySelector('div.entry-list div.row.fold'));
    const before = await rowInView();
    assert.ok(before.every((r) => !r.found || !r.inView), `entry #1024 is not in view at first: ${JSON.stringify(before)}`);

    await page.click('#first-diff');
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('main section.pane div.entry-list')].filter((l) =>
          l.querySelector('div.row.diff[data-index="1024"]'),
        ).length === 2,
      null,
      { timeout: WAIT },
    );
    const afterJump = await rowInView();
    assert.equal(afterJump.length, 2);
    for (const r of afterJump) assert.ok(r.found && r.inView, `row #1024 (class diff) visible in each list: ${JSON.stringify(afterJump)}`);

    // The 'd' key does the same after scrolling the lists away.
    await page.$$eval('main section.pane div.entry-list', (ls) => ls.forEach((l) => l.scrollTo(0, 0)));
    await page.waitForFunction(() => !document.querySelector('div.row[data-index="1024"]'));
    await page.locator('h1').click();
    await page.keyboard.press('d');
    await page.waitForFunction(() => document.querySelectorAll('div.entry-list div.row.diff[data-index="1024"]').length === 2, null, { timeout: WAIT });
    for (const r of await rowInView()) assert.ok(r.found && r.inView, 'd jumps too');
  }));

test('j. bad links show a notice and the default scenario; text is never HTML', { timeout: TEST_TIMEOUT }, () =>
  withPage('j-bad-links', async ({ page, context }) => {
    const defaultPanes = async (p) => {
      await settled(p);
      const ps = await panes(p);
      assert.deepEqual(ps.map((x) => x.variant), ['pointer', 'rfc-posted'], 'the default scenario');
      assert.ok(ps[0].classes.includes('ok') && ps[1].classes.includes('fault'), 'its verdicts');
      assert.ok(await p.locator('header.top h1').isVisible(), 'never a blank page');
    };
    const noticeOf = async (p) => {
      const n = p.locator('#notice[role="alert"]');
      await n.waitFor();
      return n.textContent();
    };
    // A fresh document for every link (a fragment-only change would not reload).
    const open = async (suffix) => {
      await page.goto('about:blank');
      await page.goto(site.srv.base + suffix);
    };

    await open('#s=1.garbage');
    assert.match(await noticeOf(page), /could not be opened.*base64/);
    await defaultPanes(page);

    await open('#s=2.AAAA');
    assert.match(await noticeOf(page), /could not be opened.*codec version "2"/);
    await defaultPanes(page);

    // Chromium will not navigate to a URL over 2 MB, so the 10 MB fragment is
    // put in place with history.replaceState before the app boots (the app
    // reads location.href at boot, exactly as for a navigation).
    const big = await context.newPage();
    await big.addInitScript(() => {
      if (!location.hash) history.replaceState(null, '', location.pathname + '#s=1.' + 'A'.repeat(10 * 1024 * 1024));
    });
    await big.goto(site.srv.base);
    assert.match(await noticeOf(big), /could not be opened.*10\.0 MiB; links of at most 4 MiB are decoded/);
    await defaultPanes(big);
    await big.screenshot({ path: shotPath('j-bad-links-10MB') });
    await big.close();

    // Markup in a link is text, never HTML.
    await open('?preset=' + encodeURIComponent('<b>x</b>'));
    let text = await noticeOf(page);
    assert.match(text, /There is no preset "<b>x<\/b>"/);
    assert.equal(await page.locator('#notice b').count(), 0, 'no <b> element');
    await defaultPanes(page);

    await open('?preset=' + encodeURIComponent('<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'));
    text = await noticeOf(page);
    assert.ok(text.includes('<script>window.__pwned=1</script>'), text);
    assert.equal(await page.locator('#notice script, #notice img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await defaultPanes(page);

    // A scenario whose own text carries markup (an unknown field named with it).
    const json = JSON.stringify({
      version: 1,
      arch: 'i386',
      ram: [{ start: '0x0', end: '0x4000000' }],
      segments: [{ bufsz: 4096, mem: '0x1000000', memsz: 4096 }],
      allocator: { policy: 'lowest-first' },
      variants: ['pointer', 'rfc-fixed'],
      '<img src=x onerror="window.__pwned=3"><b>bold</b>': 1,
    });
    await open('#' + fragmentFor(json));
    text = await noticeOf(page);
    assert.ok(text.includes('unknown field "<img src=x onerror=\\"window.__pwned=3\\"><b…" (49 B)'), text);
    assert.equal(await page.locator('#notice img, #notice b').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await defaultPanes(page);
  }));

test('k. memory map: one strip per pane; export SVG downloads an .svg', { timeout: TEST_TIMEOUT }, () =>
  withPage('k-memory-map', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    const map = page.locator('svg.memory-map');
    await map.waitFor();
    const variants = (await panes(page)).map((p) => p.variant);
    const strips = await map.locator('g.strip').evaluateAll((gs) => gs.map((g) => g.getAttribute('data-variant')));
    assert.deepEqual(strips, variants, 'one strip per pane, in pane order');
    assert.ok((await map.locator('g.strip rect[data-role]').count()) > 0, 'pages coloured by role');
    // The buckets' marks (inserted as one SVG text) are SVG elements that
    // draw, each naming its pages on hover.
    const marks = await map.locator('g.strip g[data-bucket] rect[data-role]').evaluateAll((rs) =>
      rs.map((r) => [r.namespaceURI, typeof r.getBBox === 'function' && r.getBBox().width > 0, r.querySelector('title')?.textContent ?? '']),
    );
    assert.ok(marks.length > 0, 'marks in buckets');
    for (const [ns, drawn, title] of marks) {
      assert.equal(ns, 'http://www.w3.org/2000/svg');
      assert.ok(drawn, 'a mark has a width on screen');
      assert.match(title, /^pfn 0x[0-9a-f]+(-0x[0-9a-f]+)? \(0x[0-9a-f]+-0x[0-9a-f]+\): /);
    }

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), page.click('#export-svg')]);
    assert.match(download.suggestedFilename(), /\.svg$/);
    assert.equal(await download.failure(), null);
    const svg = fs.readFileSync(await download.path(), 'utf8');
    assert.match(svg, /^<svg[\s>]/);
    assert.match(svg, /xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.equal((svg.match(/class="strip"/g) || []).length, 2);
    // It is a well-formed SVG document on its own.
    const parsed = await page.evaluate((t) => {
      const d = new DOMParser().parseFromString(t, 'image/svg+xml');
      const err = d.querySelector('parsererror');
      return err ? `parsererror: ${err.textContent}` : `${d.documentElement.localName}:${d.querySelectorAll('g.strip').length}`;
    }, svg);
    assert.equal(parsed, 'svg:2');
  }));

// Known app bug (reported, not worked around): opening a share link in a tab
// that already shows the playground on the same path is a fragment-only
// navigation; the app reads the URL only at boot, so the old scenario stays on
// screen under the new link. Runs as a todo: reported, does not fail the run.
test('l. a link opened over the playground (fragment-only navigation) shows its scenario', {
  timeout: TEST_TIMEOUT,

}, () =>
  withPage('l-hashchange', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    // ?preset= keeps the short link; make the full #s= link by an edit round trip.
    await page.locator('input[data-field="segments[0].memsz"]').fill('0x3000');
    await settled(page);
    await page.locator('input[data-field="segments[0].memsz"]').fill('0x2000');
    await settled(page);
    const link = site.srv.base + (await fragmentSettled(page));
    await page.goto('about:blank');
    await page.goto(site.srv.base); // the default (RFC) scenario
    await settled(page);
    await page.goto(link); // same document: only the fragment changes
    await page.waitForTimeout(1000);
    await settled(page);
    assert.equal((await scenarioInputs(page))['segments[0].memsz'], '0x2000', 'the linked scenario is shown');
    assert.deepEqual((await panes(page)).map((p) => p.variant), ['pointer', 'rfc-fixed']);
  }));

test('m. explore: progress, then the shrunk case in the panes, and its link opens it', { timeout: TEST_TIMEOUT }, () =>
  withPage('m-explore', async ({ page, context }) => {
    // The explorer's engine is a module of its own (explore.js,
    // explore_bg.wasm), fetched when a search starts, not with the page.
    const fetched = [];
    context.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    assert.ok(!fetched.some((p) => p.endsWith('explore_bg.wasm')), 'the first load does not fetch the explorer');
    await page.click('#explore summary');

    // A goal no candidate meets (pointer and rfc-fixed reach the same verdict
    // on every candidate): the progress bar runs through the budget.
    await page.selectOption('#explore-goal', 'verdict');
    await page.selectOption('#explore-a', 'pointer');
    await page.selectOption('#explore-b', 'rfc-fixed');
    await page.fill('#explore-budget', '1500');
    await page.click('#explore-start');
    await page.waitForSelector('#explore-status progress', { timeout: WAIT });
    const seen = await page.$eval('#explore-status', (e) => e.textContent);
    assert.match(seen, /of 1500 candidates, \d+ workers/);
    await page.waitForFunction(() => /no candidate among 1500/.test(document.querySelector('#explore-status')?.textContent || ''), null, { timeout: 60_000 });
    assert.ok(fetched.some((p) => p.endsWith('explore_bg.wasm')), 'the search fetched the explore module');

    // Cancel leaves the page usable.
    await page.fill('#explore-budget', '200000');
    await page.click('#explore-start');
    await page.waitForSelector('#explore-cancel', { timeout: WAIT });
    await page.click('#explore-cancel');
    await page.waitForFunction(() => /exploration cancelled/.test(document.querySelector('#explore-status')?.textContent || ''), null, { timeout: WAIT });
    await page.fill('input[data-field="segments[0].memsz"]', '0x3000');
    await settled(page);

    // A budget of 0 is capped with a message.
    await page.selectOption('#explore-goal', 'fault');
    await page.selectOption('#explore-a', 'rfc-posted');
    await page.fill('#explore-budget', '0');
    await page.click('#explore-start');
    await page.waitForSelector('#explore-note', { timeout: WAIT });
    assert.match(await page.textContent('#explore-note'), /budget of 0 tries nothing/);

    // rfc-posted faults on the first candidate: shrunk to one page, in the panes.
    await page.fill('#explore-budget', '200');
    await page.click('#explore-start');
    await page.waitForSelector('#explore-link', { timeout: 60_000 });
    await settled(page);
    const ps = await panes(page);
    const posted = ps.find((p) => p.variant === 'rfc-posted');
    assert.ok(posted, 'the shrunk case shows rfc-posted');
    assert.equal(posted.kind, 'fault');
    const inputs = await scenarioInputs(page);
    assert.equal(inputs['segments[0].memsz'], '0x1000', 'shrunk to one page');
    assert.equal(inputs['segments[1].mem'], undefined, 'and one segment');
    assert.ok(inputs.replay && inputs.replay.trim().split(/\s+/).length >= 1, 'a replay allocator');

    // Its link opens the same case.
    const href = await page.getAttribute('#explore-link', 'href');
    const other = await context.newPage();
    await other.goto(href);
    await settled(other);
    assert.deepEqual(await scenarioInputs(other), inputs);
    assert.deepEqual((await panes(other)).map((p) => p.verdict), ps.map((p) => p.verdict));
    return other;
  }));

test('n. CMA what-if: ticked, pointer and highmem-zone differ; unticked, identical', { timeout: TEST_TIMEOUT }, () =>
  withPage('n-cma-what-if', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=highmem-vs-zone-cma');
    await settled(page);
    assert.ok(await page.locator('#source-movable').isChecked());
    assert.match((await page.locator('#diff-note').textContent()).trim(), /^lists differ from entry #\d+$/);
    const frag = await page.evaluate(() => location.hash);
    await page.locator('#source-movable').uncheck();
    await page.waitForFunction((f) => location.hash !== f, frag, { timeout: WAIT });
    await settled(page);
    // GFP_HIGHUSER source pages never come from ZONE_MOVABLE: no difference
    // (or a replay refusal both sides share); the verdicts show it.
    await page.waitForFunction(() => document.querySelector('#diff-note')?.textContent.trim() === 'identical entry lists', null, { timeout: WAIT });
  }));

/** The placement panes as text rows: variant, verdict, placed buffers. */
async function placementPanes(page) {
  return page.$$eval('section.placement-pane', (ps) =>
    ps.map((p) => ({
      variant: p.dataset.variant,
      verdict: p.querySelector('p.verdict')?.textContent.trim(),
      placed: [...p.querySelectorAll('table.placed tbody tr')].map((r) => r.textContent),
      counts: p.querySelector('p.counts')?.textContent,
    })),
  );
}

test('o. placement lab: movable node at the top, reverse walk, link round trip, load into the kimage view', { timeout: TEST_TIMEOUT }, () =>
  withPage(
    'o-placement',
    async ({ page, context }) => {
      await page.goto(site.srv.base + '?preset=movable-node-top');
      await page.waitForSelector('section.placement-pane');
      assert.equal(await page.locator('#tab-placement').getAttribute('aria-pressed'), 'true');
      let ps = await placementPanes(page);
      assert.deepEqual(ps.map((p) => p.variant), ['top-down', 'reverse-walk']);
      assert.ok(ps[0].placed.some((r) => r.startsWith('kernel0xbce00000')), JSON.stringify(ps[0].placed));
      assert.ok(ps[1].placed.some((r) => r.startsWith('kernel0x3fce00000')), JSON.stringify(ps[1].placed));
      // The reverse walk leaves a block in the movable node that must be reloaded after hot-remove.
      assert.equal(await page.locator('g[data-variant="top-down"] rect.block.reload').count(), 0);
      assert.equal(await page.locator('g[data-variant="reverse-walk"] rect.block.reload').count(), 1);
      assert.match(await page.locator('section.placement-pane[data-variant="reverse-walk"]').textContent(), /second kernel will run from hot-pluggable memory/);

      // Edit: bottom-up on the right, and a bad RAM line names the field.
      await page.selectOption('#place-variant-1', 'bottom-up');
      await page.waitForSelector('section.placement-pane[data-variant="bottom-up"]');
      await page.locator('#place-ram').fill('0x1000-0xa0000\n0x80000-0xc0000000');
      await page.locator('.field-error', { hasText: 'ram[1]' }).waitFor();
      assert.match(await page.locator('.field-error').textContent(), /-EBUSY/);
      await page.locator('#place-ram').fill('0x1000-0xa0000\n0x100000-0xc0000000\n0x100000000-0x200000000\n0x200000000-0x400000000 node=1 hotpluggable');
      await page.waitForFunction(() => !document.querySelector('.field-error'));
      ps = await placementPanes(page);
      assert.equal(ps[1].variant, 'bottom-up');

      // Copy link, open it: same scenario.
      await page.click('#place-copy-link');
      const link = await page.evaluate(() => navigator.clipboard.readText());
      assert.ok(link.startsWith(site.srv.base + '#s=1.'), link.slice(0, 80));
      const page2 = await context.newPage();
      await page2.goto(link);
      await page2.waitForSelector('section.placement-pane[data-variant="bottom-up"]');
      assert.deepEqual(await placementPanes(page2), ps, 'same placements and verdicts');

      // Load the bottom-up placement into the kimage view.
      await page2.click('section.placement-pane[data-variant="bottom-up"] button.load-kimage');
      await settled(page2);
      assert.equal(await page2.locator('#tab-kimage').getAttribute('aria-pressed'), 'true');
      assert.equal(await page2.locator('#arch').inputValue(), 'x86_64');
      const rows = await page2.locator('table.segments tbody tr').count();
      assert.equal(rows, 4, 'purgatory, boot_params, kernel, initrd');
      const verdicts = await page2.locator('main.panes section.pane p.verdict').allTextContents();
      assert.ok(verdicts.every((v) => /relocation ok/.test(v)), verdicts.join(' | '));
      return page2;
    },
    { permissions: ['clipboard-read', 'clipboard-write'] },
  ));

test('p. placement lab: crashkernel=512M,high lands in the hot-pluggable node unless movable_node', { timeout: TEST_TIMEOUT }, () =>
  withPage('p-crashkernel', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=crashkernel-high');
    await page.waitForSelector('section.placement-pane');
    assert.match(await page.locator('.crash-log').textContent(), /Reserving 512MB of memory at 15872MB/);
    assert.ok((await page.locator('g[data-variant="top-down"] rect.block.refused').count()) >= 2);
    await page.locator('#place-movable-node').check();
    await page.locator('.crash-log', { hasText: 'at 7680MB' }).waitFor();
    assert.equal(await page.locator('button.load-kimage').count(), 0, 'a kdump load has no entry list');
  }));

/** The Hotplug view's columns: variant, verdict, counters, stepper text. */
async function hotplugPanes(page) {
  return page.$$eval('section.hotplug-pane', (els) =>
    els.map((el) => ({
      variant: el.dataset.variant,
      verdict: el.querySelector('p.verdict').textContent.trim(),
      inRange: el.querySelector('.n-in-range').textContent,
      ordinary: el.querySelector('.n-ordinary').textContent,
      marked: el.querySelector('.n-marked').textContent,
      buddy: el.querySelector('.n-buddy').textContent,
      head: el.querySelector('.rfc-head')?.textContent ?? null,
      step: el.querySelector('.step-no')?.textContent ?? null,
    })),
  );
}

test('q. hotplug lab: the RFC example, the teardown stepper forwards, link round trip, wrong granularity', { timeout: TEST_TIMEOUT }, () =>
  withPage(
    'q-hotplug',
    async ({ page, context }) => {
      await page.goto(site.srv.base + '?preset=hotplug-rfc-10g');
      await page.waitForSelector('section.hotplug-pane');
      assert.equal(await page.locator('#tab-hotplug').getAttribute('aria-pressed'), 'true');
      let ps = await hotplugPanes(page);
      assert.deepEqual(ps.map((p) => p.variant), ['rfc-2018', 'memmap-on-memory']);
      assert.equal(ps[0].verdict, 'ok');
      assert.equal(ps[0].inRange, '40960');
      assert.match(ps[0].head, /refcount 80 at 0xffffea0004000000/);
      assert.match(ps[0].head, /struct pages 0xffffea0004000000-0xffffea000427ffc0/);
      assert.equal(ps[1].ordinary, '40960', '10 GiB is not one block: ordinary memmap');
      // 80 sections drawn per strategy; section 0x20 holds nothing but memmap.
      assert.equal(await page.locator('.hotplug-map-row[data-variant="rfc-2018"] g.sec').count(), 80);
      assert.equal(await page.locator('.hotplug-map-row[data-variant="rfc-2018"] g.sec[data-section="0x20"] rect.buddy').count(), 0);

      // Forwards: the RFC faults; the stepper opens at the fault.
      await page.selectOption('#hp-teardown', 'forwards');
      await page.locator('section.hotplug-pane[data-variant="rfc-2018"] p.verdict', { hasText: 'page fault' }).waitFor();
      ps = await hotplugPanes(page);
      assert.equal(ps[0].verdict, 'page fault at 0xffffea0004008000');
      assert.equal(ps[0].step, 'call 82 of 82');
      assert.equal(ps[1].verdict, 'ok', '6.1 does not care about the order');
      const rfc = page.locator('#hp-stepper-0');
      assert.match(await rfc.locator('.reads li.fault').textContent(), /0xffffea0004008000 \(pfn 0x100200\)/);
      assert.match(await rfc.locator('.fault-box').textContent(), /section 0x20/);
      assert.equal(await page.locator('.hotplug-map-row[data-variant="rfc-2018"] .read.fault').count(), 1);
      // Step back: before the fault, section 0x20's PMD is cleared, no fault shown.
      await rfc.locator('button.prev').click();
      await rfc.locator('.step-no', { hasText: 'call 81 of 82' }).waitFor();
      assert.equal(await rfc.locator('.fault-box').count(), 0);
      assert.match(await rfc.locator('.step code.call').textContent(), /vmemmap_free\(section 0x20\)/);
      assert.equal(await page.locator('.hotplug-map-row[data-variant="rfc-2018"] rect.chunk.cleared').count(), 1);
      await rfc.locator('button.first').click();
      await rfc.locator('.step-no', { hasText: 'call 0 of 82' }).waitFor();
      assert.equal(await page.locator('.hotplug-map-row[data-variant="rfc-2018"] rect.chunk.cleared').count(), 0);
      await rfc.locator('button.to-fault').click();
      await rfc.locator('.fault-box').waitFor();

      // A bad hot-add line names its field; an unaligned one gets -EINVAL.
      await page.locator('#hp-add').fill('0x100000000 10G online=sideways');
      await page.locator('.field-error', { hasText: 'add[0]' }).waitFor();
      await page.locator('#hp-add').fill('0x100001000 128M online=movable');
      await page.waitForFunction(() => !document.querySelector('.field-error'));
      await page.locator('section.hotplug-pane[data-variant="rfc-2018"] .ops li.error', { hasText: '-EINVAL' }).first().waitFor();

      // Copy link, open it: the same scenario and results.
      await page.locator('#hp-add').fill('0x100000000 10G online=movable');
      await page.locator('section.hotplug-pane[data-variant="rfc-2018"] p.verdict', { hasText: 'page fault' }).waitFor();
      ps = await hotplugPanes(page);
      await page.click('#hp-copy-link');
      const link = await page.evaluate(() => navigator.clipboard.readText());
      assert.ok(link.startsWith(site.srv.base + '#s=1.'), link.slice(0, 80));
      const page2 = await context.newPage();
      await page2.goto(link);
      await page2.waitForSelector('section.hotplug-pane');
      assert.deepEqual(await hotplugPanes(page2), ps, 'same results, stepper at the fault');
      assert.equal(await page2.locator('#hp-teardown').inputValue(), 'forwards');

      // The wrong-granularity preset: 6.1 refuses the 256 MiB removal.
      await page2.selectOption('#hp-preset', 'hotplug-wrong-granularity');
      await page2.locator('section.hotplug-pane[data-variant="memmap-on-memory"] .ops li.error', { hasText: '-EINVAL (22)' }).waitFor();
      const ps2 = await hotplugPanes(page2);
      assert.equal(ps2[0].verdict, 'ok');
      assert.equal(ps2[1].marked, '1024');
      return page2;
    },
    { permissions: ['clipboard-read', 'clipboard-write'] },
  ));

/** The Page tables view's columns. */
async function pgtablePanes(page) {
  return page.$$eval('section.pt-pane', (els) =>
    els.map((el) => ({
      variant: el.dataset.variant,
      verdict: el.querySelector('p.verdict').textContent.trim(),
      step: el.querySelector('.pt-step code.call')?.textContent ?? null,
      access: el.querySelector('.pt-step .access-line')?.textContent ?? null,
      tables: [...el.querySelectorAll('.pt-tree li')].map((li) => li.textContent),
      pde1: el.querySelector('table.pt-caches tr[data-cpu="1"] td.pde')?.textContent ?? null,
      probe: [...el.querySelectorAll('.pt-probe .access-line')].map((p) => p.textContent),
    })),
  );
}

test('r. page tables: the stale PDE with and without the flush, stepping, translations, link round trip', { timeout: TEST_TIMEOUT }, () =>
  withPage(
    'r-pgtable',
    async ({ page, context }) => {
      await page.goto(site.srv.base + '?preset=pgtable-stale-pde');
      await page.waitForSelector('section.pt-pane');
      assert.equal(await page.locator('#tab-pgtable').getAttribute('aria-pressed'), 'true');
      let ps = await pgtablePanes(page);
      assert.deepEqual(ps.map((p) => p.variant), ['flush', 'no-flush']);
      assert.equal(ps[0].verdict, 'every access agrees with the page table');
      assert.match(ps[1].verdict, /cpu1 translates 0xffffc90000200000 to 0xfee00000: BOGUS/);
      // Opened at the bogus access: cpu1 walks from its cached PDE into the reused page.
      assert.equal(await page.locator('#pt-stepper .step-no').textContent(), 'step 7 of 7');
      assert.match(ps[1].access, /walk from the cached PDE: 0xfee00000 \(4 KiB\): BOGUS/);
      assert.match(ps[0].access, /walk from CR3: 0xfe000000 \(2 MiB\)/);
      assert.ok(ps[1].probe.some((t) => /cpu1 .*BOGUS/.test(t)), ps[1].probe.join(' | '));

      // Step back to the 2 MiB ioremap: without the flush cpu1 still caches the PDE for page 0x1003.
      await page.locator('#pt-stepper button.prev').click();
      await page.locator('#pt-stepper button.prev').click();
      await page.locator('#pt-stepper .step-no', { hasText: 'step 5 of 7' }).waitFor();
      ps = await pgtablePanes(page);
      assert.match(ps[1].pde1, /page 0x1003/);
      assert.equal(ps[0].pde1, '—', 'the flush dropped it');
      assert.match(await page.locator('section.pt-pane[data-variant="no-flush"] .pt-log').textContent(), /no flush/);
      // A script line can be chosen directly.
      await page.locator('.pt-script li', { hasText: 'iounmap' }).click();
      await page.locator('#pt-stepper .step-no', { hasText: 'step 3 of 7' }).waitFor();

      // Edits: Joerg's page list on the right agrees; a bad line names its field.
      await page.selectOption('#pt-variant-1', 'page-list');
      await page.locator('section.pt-pane[data-variant="page-list"]').waitFor();
      ps = await pgtablePanes(page);
      assert.equal(ps[1].verdict, 'every access agrees with the page table');
      const script = await page.locator('#pt-script').inputValue();
      await page.locator('#pt-script').fill(script + '\nremap 0x1');
      await page.locator('.field-error', { hasText: 'script[7]' }).waitFor();
      await page.locator('#pt-script').fill(script + '\nioremap 0xffffc90000200800 0xfe000000 4K');
      await page.waitForFunction(() => !document.querySelector('form .field-error'));
      // A new scenario opens at its first disagreement, else at its end.
      await page.locator('#pt-stepper .step-no', { hasText: 'step 8 of 8' }).waitFor();
      assert.match(await page.locator('section.pt-pane[data-variant="flush"] .pt-step').textContent(), /page aligned.*the table is unchanged/);

      // Copy link, open it: the same columns.
      await page.click('#pt-copy-link');
      const link = await page.evaluate(() => navigator.clipboard.readText());
      assert.ok(link.startsWith(site.srv.base + '#s=1.'), link.slice(0, 80));
      ps = await pgtablePanes(page);
      const page2 = await context.newPage();
      await page2.goto(link);
      await page2.waitForSelector('section.pt-pane[data-variant="page-list"]');
      await page2.locator('#pt-stepper .step-no', { hasText: 'step 8 of 8' }).waitFor();
      assert.deepEqual(await pgtablePanes(page2), ps);

      // PAE: 6.1 frees nothing (4 KiB pages); 2018's no-flush freed there
      // too and goes stale the same way. The view opens at that access.
      await page2.selectOption('#pt-preset', 'pgtable-pae');
      await page2.locator('#pt-stepper .step-no', { hasText: 'step 8 of 9' }).waitFor();
      const pae = await pgtablePanes(page2);
      assert.equal(pae[0].verdict, 'every access agrees with the page table');
      assert.match(pae[1].verdict, /to 0xfee00000: BOGUS/);
      assert.match(pae[0].access, /0xfe000000 \(4 KiB\)/);
      return page2;
    },
    { permissions: ['clipboard-read', 'clipboard-write'] },
  ));

test('s. Xen and the what-ifs in the pickers: the Xen swap path, IND_ZERO rows, a refused combination, ARM LPAE', { timeout: TEST_TIMEOUT }, () =>
  withPage('s-designs', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=xen-swap-path');
    await settled(page);
    let ps = await panes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['xen', 'xen-fixed']);
    assert.match(ps[0].verdict, /relocation fails: kexec_reloc copies from source 0x0/);
    assert.match(ps[1].verdict, /relocation ok/);
    assert.match(ps[0].counters, /zero entries 2|zero entries\s*2/);
    // The list starts in head's page: no "head" row, two ZERO rows.
    assert.equal(await pane(page, 'xen').locator('.entry-list .row.zero').count(), 2);
    assert.equal(await pane(page, 'xen').locator('.entry-list .row[data-index="0"] .slot').textContent(), '0');
    assert.match(await pane(page, 'xen').locator('.entry-list').textContent(), /0x0000000000000008/);

    // Xen does not exist on i386: the field error names the valid combinations.
    await page.selectOption('#arch', 'i386');
    await page.locator('.field-error', { hasText: 'runs on x86_64 only' }).waitFor();
    // The what-ifs do: skip-reuse on the right.
    await page.selectOption('#preset', 'skip-reuse-swap');
    await settled(page);
    ps = await panes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['pointer', 'skip-reuse']);
    assert.ok(ps.every((p) => /relocation ok/.test(p.verdict)), ps.map((p) => p.verdict).join(' | '));
    assert.match(ps[1].counters, /reuse frees\s*1/);

    // ARM LPAE: the RFC as posted faults, pointer parks pages above 4 GiB.
    await page.selectOption('#preset', 'rfc-arm-lpae');
    await settled(page);
    assert.equal((await scenarioInputs(page)).arch, 'arm-lpae');
    ps = await panes(page);
    assert.match(ps[1].verdict, /kimage_add_entry/);
    assert.match(ps[0].verdict, /relocation ok/);
  }));

test('t. the labs load on demand: not with the kimage view, then once for every lab tab; back returns to the kimage view', { timeout: TEST_TIMEOUT }, () =>
  withPage('t-lab-tabs', async ({ page }) => {
    const fetched = [];
    page.on('request', (r) => fetched.push(new URL(r.url()).pathname));
    await page.goto(site.srv.base);
    await settled(page);
    assert.ok(!fetched.some((p) => p.endsWith('labs_bg.wasm')), 'the kimage view does not fetch the labs');
    await page.click('#tab-hotplug');
    await page.waitForSelector('section.hotplug-pane');
    await page.click('#tab-pgtable');
    await page.waitForSelector('section.pt-pane');
    assert.equal(await page.locator('section.hotplug-pane').count(), 0);
    await page.click('#tab-placement');
    await page.waitForSelector('section.placement-pane');
    assert.equal(fetched.filter((p) => p.endsWith('labs_bg.wasm')).length, 1, 'fetched once');
    await page.click('#tab-kimage');
    await page.waitForSelector('main.panes section.pane p.verdict');
    assert.equal(await page.evaluate(() => document.getElementById('lab-root').hidden), true);
    assert.equal(await page.locator('section.placement-pane').count(), 0);
    await page.goBack();
    await page.waitForSelector('section.placement-pane');
    assert.equal(await page.locator('#tab-placement').getAttribute('aria-pressed'), 'true');
  }));

test('u. a lab link that does not check out says why, in the lab area', { timeout: TEST_TIMEOUT }, () =>
  withPage('u-bad-lab-link', async ({ page }) => {
    const bad = JSON.stringify({
      version: 1, kind: 'hotplug', arch: 'i386', boot_mem_end: '0x100000000',
      add: [{ start: '0x100000000', size: '0x8000000' }], variants: ['ordinary', 'rfc-2018'],
    });
    await page.goto(site.srv.base + '#' + fragmentFor(bad));
    const notice = page.locator('#lab-notice');
    await notice.waitFor();
    assert.match(await notice.textContent(), /arch.*valid: x86_64/);
    assert.equal(await page.locator('#tab-hotplug').getAttribute('aria-pressed'), 'true');
  }));

test('issue 20. placement lab: a placed load sanity_check_segment_list refuses shows its errno, rule and segment, keeps the placements and is not loaded', { timeout: TEST_TIMEOUT }, () =>
  withPage('issue20-placement-refused', async ({ page }) => {
    await page.goto(site.srv.base + '?preset=top-down-underflow');
    await page.waitForSelector('section.placement-pane');
    let ps = await placementPanes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['top-down', 'top-down-fixed']);
    for (const p of ps) {
      assert.match(p.verdict, /-EADDRNOTAVAIL: sanity_check_segment_list rule 1 \(wrap-around\).*segment 3 \(x\)/);
      assert.equal(p.placed.length, 4, 'purgatory, boot_params, kernel, x: still shown');
    }
    // 6.1's top-down underflow, and the later off-by-one fix's.
    assert.ok(ps[0].placed.some((r) => r.startsWith('x0xffffffffffff8000')), JSON.stringify(ps[0].placed));
    assert.ok(ps[1].placed.some((r) => r.startsWith('x0xffffffffffff9000')), JSON.stringify(ps[1].placed));
    const td = page.locator('section.placement-pane[data-variant="top-down"]');
    assert.match(await td.locator('table.placed tr.row-error').textContent(), /^x0x/);
    assert.equal(await page.locator('svg rect.refused-segment').count(), 2);
    // Nothing is loaded: no block holds a destination, and the load is refused with the same errno.
    assert.equal(await page.locator('rect.block.reload').count(), 0);
    for (const v of ['top-down', 'top-down-fixed']) {
      const pane = page.locator(`section.placement-pane[data-variant="${v}"]`);
      assert.ok(await pane.locator('button.load-kimage').isDisabled());
      assert.match(await pane.locator('.load-refused').textContent(), /kexec_file_load returns -EADDRNOTAVAIL \(sanity_check_segment_list rule 1/);
    }
    assert.match(await page.locator('#place-report').textContent(), /error: -EADDRNOTAVAIL: sanity_check_segment_list rule 1/);

    // The other reproducer: more than half of totalram_pages().
    await page.selectOption('#place-preset', 'kernel-over-half-of-ram');
    await page.locator('p.verdict', { hasText: '-EINVAL' }).first().waitFor();
    ps = await placementPanes(page);
    assert.deepEqual(ps.map((p) => p.variant), ['top-down', 'bottom-up']);
    for (const p of ps) {
      assert.match(p.verdict, /-EINVAL: sanity_check_segment_list rule 6 \(half of totalram_pages\).*segment 2 \(kernel\): 8192 pages is more than half of totalram_pages \(15616\)/);
      assert.equal(p.placed.length, 3);
    }
    assert.match(await page.locator('p.totalram').first().textContent(), /^totalram_pages\(\) 15616: 16128 pages of boot System RAM/);
    assert.equal(await page.locator('button.load-kimage:not([disabled])').count(), 0);
    assert.equal(await page.locator('#tab-placement').getAttribute('aria-pressed'), 'true');
    await page.screenshot({ path: shotPath('issue20-placement-refused-desktop'), fullPage: true });
    // At phone width the pane still shows the refusal and its table scrolls inside the pane.
    await page.setViewportSize({ width: 390, height: 844 });
    await page.locator('section.placement-pane .load-refused').first().scrollIntoViewIfNeeded();
    assert.ok(await page.locator('section.placement-pane[data-variant="top-down"] p.verdict').isVisible());
  }));
