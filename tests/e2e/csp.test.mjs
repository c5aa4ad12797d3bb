// The Content-Security-Policy (issue 17): index.html and embed.html carry a
// policy that allows only the site's own scripts, wasm compilation and
// workers (no eval, no inline script but the hashed ones, no remote
// origin); every view (helpers.mjs VIEWS), the model worker, the explorer's
// workers and the kernel worker run under it with no violation reported
// (securitypolicyviolation events in every frame, console errors).
//
//   node --test tests/e2e/csp.test.mjs   (after cargo xtask dist)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { DIST } from './server.mjs';
import { settled, useSite, VIEWS } from './helpers.mjs';

const TEST_TIMEOUT = 180_000;
const site = useSite();

/** The policy of a built page's meta tag, as { directive: [sources] }. */
function policyOf(file) {
  const html = fs.readFileSync(path.join(DIST, file), 'utf8');
  // Any attribute order, quoted or not (the built index.html is minified).
  const tag = html.match(/<meta\b[^>]*http-equiv="?Content-Security-Policy"?[^>]*>/i);
  assert.ok(tag, `${file} has a Content-Security-Policy meta tag`);
  const m = tag[0].match(/content="([^"]*)"/);
  const policy = {};
  for (const d of m[1].split(';').map((s) => s.trim()).filter(Boolean)) {
    const [name, ...sources] = d.split(/\s+/);
    policy[name] = sources;
  }
  const inline = [...html.matchAll(/<script(?![^>]*\ssrc=)[^>]*>([\s\S]*?)<\/script>/g)].map((x) => x[1]);
  return { policy, inline };
}

const sha256 = (text) => `'sha256-${crypto.createHash('sha256').update(text, 'utf8').digest('base64')}'`;

for (const file of ['index.html', 'embed.html']) {
  test(`${file}: the policy allows only the site's own scripts, wasm and workers`, () => {
    const { policy, inline } = policyOf(file);
    assert.deepEqual(policy['default-src'], ["'self'"]);
    assert.deepEqual(policy['worker-src'], ["'self'"]);
    assert.deepEqual(policy['object-src'], ["'none'"]);
    const script = policy['script-src'];
    assert.ok(script.includes("'self'") && script.includes("'wasm-unsafe-eval'"), `script-src: ${script}`);
    for (const s of script) {
      assert.ok(["'self'", "'wasm-unsafe-eval'"].includes(s) || /^'sha256-[A-Za-z0-9+/=]+'$/.test(s), `script-src allows only own scripts: ${s}`);
    }
    for (const [name, sources] of Object.entries(policy)) {
      for (const s of sources) {
        assert.ok(!/^(https?:|wss?:|\*|data:|blob:)/.test(s) && s !== "'unsafe-eval'", `${name} allows no remote origin or eval: ${s}`);
      }
    }
    // Every inline script has its hash in the policy, and nothing else is hashed.
    assert.deepEqual(
      script.filter((s) => s.startsWith("'sha256-")).sort(),
      inline.map(sha256).sort(),
      'the hashes are those of the inline scripts',
    );
    if (file === 'index.html') assert.equal(inline.length, 1, "Trunk's loader of the main module");
    else assert.equal(inline.length, 0);
  });
}

/**
 * A page whose CSP violations (in any frame) and console errors are
 * collected; `fn(page)` runs, then none may have been reported.
 */
async function underPolicy(fn) {
  const context = await site.browser.newContext({ viewport: { width: 1280, height: 800 } });
  context.setDefaultTimeout(60_000);
  await context.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__csp.push(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile}:${e.lineNumber})`),
    );
  });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || /Content[- ]Security[- ]Policy/i.test(m.text())) problems.push(`console ${m.type()}: ${m.text()} (${m.location().url})`);
  });
  context.on('weberror', (e) => problems.push(`weberror: ${e.error().message}`));
  try {
    await fn(page);
    for (const f of page.frames()) {
      const v = await f.evaluate(() => window.__csp ?? []).catch(() => []);
      problems.push(...v.map((x) => `${f.url()}: ${x}`));
    }
    assert.deepEqual(problems, [], 'no CSP violation, no console error');
  } finally {
    await context.close();
  }
}

for (const view of VIEWS) {
  test(`${view.name} runs under the policy`, { timeout: TEST_TIMEOUT }, () =>
    underPolicy(async (page) => {
      await page.goto(site.srv.base + view.path);
      await view.ready(page);
    }),
  );
}

test('the explorer\'s workers and the kernel worker run under the policy', { timeout: TEST_TIMEOUT }, () =>
  underPolicy(async (page) => {
    await page.goto(site.srv.base + '?preset=swap-path');
    await settled(page);
    // The explorer: one worker per core, a short random search.
    await page.click('#explore summary');
    await page.selectOption('#explore-goal', 'verdict');
    await page.selectOption('#explore-a', 'pointer');
    await page.selectOption('#explore-b', 'rfc-fixed');
    await page.fill('#explore-budget', '200');
    await page.click('#explore-start');
    await page.waitForFunction(() => /no candidate among 200/.test(document.querySelector('#explore-status')?.textContent ?? ''));
    // The kernel worker: the shipped kernel build (wasmi, in its own module).
    await page.selectOption('#variant-0', 'pointer');
    await settled(page);
    await page.selectOption('#variant-1', '@shipped');
    await page.waitForFunction(
      () => [...document.querySelectorAll('main.panes h2.variant')].some((h) => h.textContent.trim() === 'kernel:6.1'),
    );
    await settled(page, 120_000);
  }),
);
