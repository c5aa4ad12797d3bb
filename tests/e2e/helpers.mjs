// Shared helpers of the e2e tests and the bench: page probes and DOM reads.

import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { start, launch } from './server.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
/** Screenshots of the tests' final states. */
export const SHOT_DIR = path.resolve(here, '../../target/e2e');

/** The screenshot path of a test. */
export function shotPath(name) {
  fs.mkdirSync(SHOT_DIR, { recursive: true });
  return path.join(SHOT_DIR, `${name}.png`);
}

/**
 * Installed with page.addInitScript before navigation: records main-thread
 * long tasks (PerformanceObserver 'longtask'), the progress bar (when it first
 * shows, the largest value it shows) and when both verdicts of a finished,
 * non-stale result are first on screen. Times are performance.now() (ms since
 * navigation start). Everything lands in window.__e2e.
 */
export function installProbes() {
  const e2e = (window.__e2e = {
    longtasks: [],
    longtaskError: null,
    progressShownAt: null,
    progressGoneAt: null,
    progressMax: 0,
    progressSamples: 0,
    // The progress label's texts as they changed (the last 200).
    progressTexts: [],
    verdictsAt: null,
  });
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) e2e.longtasks.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
  } catch (err) {
    e2e.longtaskError = String(err);
  }
  const check = () => {
    const p = document.querySelector('div.progress, main.embed p.progress');
    const now = performance.now();
    if (p) {
      if (e2e.progressShownAt === null) e2e.progressShownAt = now;
      const bar = p.querySelector('progress');
      const v = bar ? Number(bar.value) : 0;
      e2e.progressSamples += 1;
      if (v > e2e.progressMax) e2e.progressMax = v;
      const text = p.textContent.trim();
      if (text !== e2e.progressTexts.at(-1)) e2e.progressTexts = [...e2e.progressTexts.slice(-199), text];
    } else if (e2e.progressShownAt !== null && e2e.progressGoneAt === null) {
      e2e.progressGoneAt = now;
    }
    const main = document.querySelector('main.panes, main.embed');
    if (
      e2e.verdictsAt === null &&
      !p &&
      main &&
      !main.classList.contains('stale') &&
      main.querySelectorAll('section.pane p.verdict').length === 2
    ) {
      e2e.verdictsAt = now;
    }
  };
  new MutationObserver(check).observe(document, {
    subtree: true,
    childList: true,
    attributes: true,
    characterData: true,
  });
}

/** Wait until the full playground shows a finished, current result in both panes. */
export async function settled(page, timeout = 30_000) {
  await page.waitForFunction(
    () => {
      const m = document.querySelector('main.panes');
      return (
        m &&
        !m.classList.contains('stale') &&
        m.getAttribute('aria-busy') === 'false' &&
        !document.querySelector('div.progress') &&
        m.querySelectorAll('section.pane p.verdict').length === 2
      );
    },
    null,
    { timeout },
  );
}

/** Wait until the URL fragment holds a scenario (`#s=1.`) other than `not`. */
export async function fragmentSettled(page, not = null, timeout = 10_000) {
  await page.waitForFunction(
    (not) => location.hash.startsWith('#s=1.') && location.hash !== not,
    not,
    { timeout },
  );
  return page.evaluate(() => location.hash);
}

/** Each pane: variant, verdict class list, data-kind, verdict text. */
export function panes(page, scope = 'main') {
  return page.$$eval(`${scope} section.pane`, (ps) =>
    ps.map((p) => {
      const v = p.querySelector('p.verdict');
      return {
        side: p.classList.contains('left') ? 'left' : p.classList.contains('right') ? 'right' : null,
        variant: p.querySelector('h2.variant')?.textContent.trim(),
        classes: v ? [...v.classList] : [],
        kind: v?.getAttribute('data-kind') ?? null,
        verdict: v?.textContent.trim(),
        counters: p.querySelector('dl.counters')?.textContent.replace(/\s+/g, ' ').trim() ?? null,
      };
    }),
  );
}

/** Every field of the scenario bar, keyed by id / data-field. */
export function scenarioInputs(page) {
  return page.$$eval('form.scenario-bar input, form.scenario-bar select, form.scenario-bar textarea', (els) => {
    const out = {};
    for (const el of els) {
      if (el.type === 'checkbox') continue;
      out[el.id || el.dataset.field || el.getAttribute('aria-label')] = el.value;
    }
    return out;
  });
}

/** A `s=1.…` fragment (no `#`) holding this scenario JSON text, as the app's codec writes it. */
export function fragmentFor(jsonText) {
  return 's=1.' + zlib.deflateRawSync(Buffer.from(jsonText)).toString('base64url');
}

/** Median of numbers. */
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The set-up every e2e test file shares: registers node:test's `before`
 * (serve dist/ under /play/, launch Chromium) and `after` (close both) and
 * returns the object they fill, `{ srv, browser }` (see server.mjs).
 *
 *   const site = useSite();
 *   test('…', async () => { const ctx = await site.browser.newContext(); … site.srv.base … });
 */
export function useSite() {
  const site = { srv: null, browser: null };
  before(async () => {
    site.srv = await start();
    site.browser = await launch();
  });
  after(async () => {
    await site.browser?.close();
    await site.srv?.close();
  });
  return site;
}

/**
 * Run `fn(page, context)` in a fresh browser context of the site
 * (`options`: playwright's context options: viewport, colorScheme, …),
 * with `timeout` for every wait; fail on any uncaught error in the page;
 * close the context whatever happens.
 */
export async function withContext(site, options, fn, timeout = 60_000) {
  const context = await site.browser.newContext(options);
  context.setDefaultTimeout(timeout);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await fn(page, context);
    assert.deepEqual(problems, [], 'no uncaught errors in the page');
  } finally {
    await context.close();
  }
}

/**
 * The site's views, each a path under the site and how to wait until it is
 * ready: the e2e tests that check every view (the phone width, the
 * accessibility audit, the Content-Security-Policy) take this list, so a
 * new view (e.g. findings) is one line here.
 */
export const VIEWS = [
  // Lists that differ (highlighted rows), and a fault with a long step log.
  { name: 'kimage', path: '?preset=highmem-retry', ready: (page) => settled(page) },
  { name: 'kimage rfc fault', path: '?preset=rfc-i386-pae', ready: (page) => settled(page) },
  {
    name: 'explore',
    path: '?preset=swap-path',
    ready: async (page) => {
      await settled(page);
      await page.click('#explore summary');
      await page.waitForSelector('#explore-start');
    },
  },
  { name: 'placement lab', path: '?preset=movable-node-top', ready: (page) => page.waitForSelector('section.placement-pane') },
  { name: 'hotplug lab', path: '?preset=hotplug-rfc-10g', ready: (page) => page.waitForSelector('section.hotplug-pane') },
  { name: 'page tables lab', path: '?preset=pgtable-stale-pde', ready: (page) => page.waitForSelector('section.pt-pane') },
  { name: 'findings', path: '?finding=stale-pde', ready: (page) => page.waitForSelector('#finding-write-up') },
  { name: 'import a capture', path: '?import', ready: (page) => page.waitForSelector('#capture-import') },
  {
    name: 'embed',
    path: '?embed=1&preset=swap-path',
    ready: (page) => page.waitForFunction(() => document.querySelectorAll('main.embed p.verdict').length === 2),
  },
  {
    name: 'embed.html',
    path: 'embed.html',
    ready: (page) =>
      page.waitForFunction(() =>
        [...document.querySelectorAll('iframe')].every(
          (f) => f.contentDocument?.querySelectorAll('main.embed p.verdict').length === 2,
        ),
      ),
  },
];

/** axe-core's browser script (node_modules/axe-core), read once. */
let axeSource = null;

/**
 * Run axe-core on the page (and its same-origin frames) and return its
 * violations of impact `serious` or `critical`, each as
 * `{ id, impact, help, nodes: [selector…] }`.
 */
export async function axeViolations(page) {
  if (axeSource === null) {
    axeSource = fs.readFileSync(path.resolve(here, '../../node_modules/axe-core/axe.min.js'), 'utf8');
  }
  const frames = page.frames();
  for (const f of frames) await f.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/**
 * Open the scenario editor when it is folded into its summary (a phone
 * opens a link with the scenario as a one-line summary); a no-op when it
 * is open (always at desktop width).
 */
export async function openScenario(page) {
  const closed = await page.$eval('details.scenario', (d) => !d.open).catch(() => false);
  if (closed) await page.click('details.scenario > summary');
}

/**
 * The visible elements wider than the viewport or reaching past its sides
 * (their tag, class and width), ignoring what a clipping or scrolling
 * ancestor that fits keeps inside it; and whether the document scrolls
 * sideways.
 */
export function overflowing(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const clipped = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const ox = getComputedStyle(a).overflowX;
        if (ox !== 'visible') {
          const r = a.getBoundingClientRect();
          if (r.left >= -1 && r.right <= vw + 1) return true;
        }
      }
      return false;
    };
    const bad = [];
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (r.left >= -1 && r.right <= vw + 1) continue;
      if (clipped(el)) continue;
      bad.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}.${[...el.classList].join('.')} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
    const doc = document.documentElement;
    return { bad: bad.slice(0, 20), scrollsSideways: doc.scrollWidth > doc.clientWidth };
  });
}
