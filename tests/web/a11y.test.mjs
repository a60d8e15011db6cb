// Accessibility of both demo pages, as axe-core (wcag2a, wcag2aa, best-practice) sees them with
// a model loaded and results shown, inside the elements' shadow roots too; and what a screen
// reader is told: results announced politely, long labels readable in full; and the question
// the elements ask before a download (focusable, named with the size, described).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { FIXTURES, packedModel, serverAndBrowser, urlPath, watch } from './harness.mjs';

const model = urlPath(packedModel('tiny-p14', 'f32'));
// Served by the test server (same origin), so the pages' CSP (script-src 'self') allows it.
const AXE = '/tests/web/node_modules/axe-core/axe.min.js';
const LONG = 'a very long label that goes on and on about a small grey cat sitting on a windowsill in the afternoon sun';
const env = serverAndBrowser();


/** Runs axe on the page; prints and returns the violations as `rule: n nodes (targets)`. */
async function axe(page, name) {
  await page.addScriptTag({ url: AXE });
  const result = await page.evaluate(() =>
    window.axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice'] }, resultTypes: ['violations'] }),
  );
  const violations = result.violations.map((v) => `${v.id}: ${v.nodes.length} node(s) (${v.nodes.map((n) => JSON.stringify(n.target)).join(', ')}) ${v.help}`);
  console.log(`# axe on ${name}: ${result.violations.length} violations, ${result.passes.length} rules passed, ${result.incomplete.length} to review`);
  for (const v of violations) console.log(`#   ${v}`);
  return violations;
}

test('the classifier page: no axe violations with results shown; results announced politely; long labels readable', async () => {
  const page = await env.browser.newPage();
  const problems = watch(page);
  await page.goto(`${env.server.url}www/index.html?load=eager&no-sw&model=${model}&labels=${encodeURIComponent(`cat,dog,${LONG}`)}`);
  const el = page.locator('siglip-classifier');
  await el.evaluate((e) => e.ready);
  await el.locator('input[type=file]').setInputFiles(path.join(FIXTURES, 'images/gray.png'));
  await page.waitForFunction(() => document.querySelector('siglip-classifier').shadowRoot.querySelectorAll('.result').length === 3);
  assert.deepEqual(await axe(page, 'index.html'), []);
  const a11y = await el.evaluate((e, long) => {
    const root = e.shadowRoot;
    // role=status is a polite live region unless aria-live says otherwise.
    const live = [...root.querySelectorAll('[aria-live], [role=status]')].map((n) => ({
      polite: n.getAttribute('aria-live') ?? (n.getAttribute('role') === 'status' ? 'polite' : 'off'),
      text: n.textContent,
    }));
    const name = [...root.querySelectorAll('.result .name')].find((n) => n.textContent === long);
    const chip = [...root.querySelectorAll('.chip, [part~="label-chip"]')].find((n) => n.textContent.includes(long.slice(0, 20)));
    // Readable in full: the whole text fits its box (wrapping), nothing clipped or elided.
    const whole = (n) => n && n.textContent === long && n.scrollWidth <= n.clientWidth + 1 && n.scrollHeight <= n.clientHeight + 1;
    return { live, resultWhole: whole(name), chipWhole: whole(chip?.querySelector('span') ?? chip) };
  }, LONG);
  assert.ok(a11y.live.some((l) => l.polite === 'polite' && /Best: (cat|dog|a very long)/.test(l.text)), `a polite live region announces the results: ${JSON.stringify(a11y.live)}`);
  assert.ok(a11y.resultWhole, 'the long label in the results is readable in full');
  assert.ok(a11y.chipWhole, 'the long label chip is readable in full');
  assert.deepEqual(problems, []);
  await page.close();
});

test('the search page: no axe violations with a ranked gallery', async () => {
  const page = await env.browser.newPage();
  const problems = watch(page);
  await page.goto(`${env.server.url}www/search.html?load=eager&no-sw&model=${model}`);
  const el = page.locator('siglip-search');
  await el.evaluate((e) => e.ready);
  await el.evaluate(async (e) => {
    await e.addImages(['/tests/fixtures/images/gray.png', '/tests/fixtures/images/alpha.png']);
    e.query = 'a photo of a cat';
    await e.rank();
  });
  assert.deepEqual(await axe(page, 'search.html'), []);
  assert.deepEqual(problems, []);
  await page.close();
});

test('the question before a download, on both pages: no axe violations; its button is focusable and named with the size', async () => {
  for (const [file, tag] of [['index.html', 'siglip-classifier'], ['search.html', 'siglip-search']]) {
    const page = await env.browser.newPage(); // a fresh context: nothing cached
    const problems = watch(page);
    await page.goto(`${env.server.url}www/${file}?no-sw&model=${model}`);
    const el = page.locator(tag);
    await page.waitForFunction((tag) => !document.querySelector(tag).shadowRoot.querySelector('.ask').hidden, tag);
    assert.deepEqual(await axe(page, `${file}, asking`), []);
    const button = el.getByRole('button', { name: /^Download the model \(\d+(\.\d)? (kB|MB)\)$/ });
    await button.focus();
    const out = await el.evaluate((e) => {
      const active = e.shadowRoot.activeElement;
      const described = e.shadowRoot.getElementById(active.getAttribute('aria-describedby'));
      return { focused: active.classList.contains('ask-button'), description: described.textContent };
    });
    assert.ok(out.focused, 'the button takes focus');
    // Nothing pretends to load meanwhile (the search gallery waits for images).
    if (tag === 'siglip-search') assert.equal(await el.locator('.gallery').textContent(), 'Drop images here, or add some above');
    assert.match(out.description, new RegExp(`^${path.basename(model).replace(/\./g, '\\.')} from 127\\.0\\.0\\.1:\\d+: `));
    await page.keyboard.press('Enter');
    await el.evaluate((e) => e.ready);
    assert.deepEqual(problems, []);
    await page.close();
  }
});
