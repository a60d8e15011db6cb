#!/usr/bin/env node
// The bundler matrix: the packed siglip-web tarball installed into a fresh app per bundler
// (pinned versions below), built or served by its dev server, and driven in Chromium: no
// request may fail, the element must load, and classify() through the element and through
// createClassifier() must give the reference scores of the tiny fixture model. Built apps are
// served cross-origin isolated, so that the element runs the threads build (its pool workers
// are emitted by the bundler too); dev servers are not (the relaxed build); the API call forces
// simd128 everywhere (examples/app/main.js).
//
//   node examples/run.mjs [FILTER]      (./build.sh examples; FILTER picks entries by name)
//
// Apps are assembled in target/examples/<bundler>/ from examples/app/ (the page and main.js)
// plus the bundler's files from examples/<bundler>/. Prints the matrix and bundle sizes and
// writes target/examples/matrix.json.

import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, launch, packedModel, reference, startServer, watch } from '../tests/web/harness.mjs';

const WORK = path.join(ROOT, 'target/examples');
const EXAMPLES = path.join(ROOT, 'examples');
const ref = reference('tiny-p14');
const IMAGE = 'gray.png';
const want = ref.images.find((i) => i.file === IMAGE).scores;

// Each bundler: the packages to install, pinned, and how it is used. `how` says whether the
// entry works as is or with the recipe in examples/README.md.
const viteDev = (dir, port) => devServer(dir, ['node_modules/vite/bin/vite.js', '--port', port, '--strictPort', '--host', '127.0.0.1']);
const viteBuild = ['node_modules/vite/bin/vite.js', 'build'];
// (The plugin, siglip-web/vite, is no longer needed by any Vite: its entries check that it
// still works for apps that use it.)
const vite = (version) => ({
  deps: { vite: version },
  files: ['vite/ssr.js'],
  modes: [
    { mode: 'dev', how: 'as is', config: false, serve: viteDev },
    { mode: 'dev', how: 'plugin', config: true, serve: viteDev },
    { mode: 'build', how: 'as is', config: false, build: viteBuild },
    { mode: 'build', how: 'plugin', config: true, build: viteBuild },
    { mode: 'ssr build', how: 'as is', config: false, ssr: [...viteBuild, '--ssr', 'ssr.js', '--outDir', 'dist-ssr'] },
  ],
});
const BUNDLERS = {
  importmap: { deps: {}, files: ['importmap/index.html'], modes: [{ mode: 'no build', how: 'as is', dist: '.' }] },
  vite5: vite('5.4.21'),
  vite7: vite('7.3.8'),
  vite8: vite('8.4.0'),
  webpack5: {
    // (webpack-dev-server 6 needs Node 22.15+; 5.2 runs on Node 18+.)
    deps: { webpack: '5.113.0', 'webpack-dev-server': '5.2.7' },
    files: ['webpack/webpack.config.mjs', 'webpack/build.mjs', 'webpack/serve.mjs'],
    modes: [
      { mode: 'build', how: 'as is', build: ['build.mjs'] },
      { mode: 'dev', how: 'as is', serve: (dir, port) => devServer(dir, ['serve.mjs', '--port', port]) },
    ],
  },
  esbuild: {
    deps: { esbuild: '0.28.2' },
    files: ['esbuild/build.mjs'],
    modes: [
      { mode: 'build', how: 'as is', build: ['build.mjs', '--no-copy'], expectFail: /WorkerError: .*npx siglip-web copy-worker DIST.*siglip-worker\.js/ },
      { mode: 'build', how: 'recipe (npx siglip-web copy-worker dist)', build: ['build.mjs'] },
    ],
  },
  rollup: {
    deps: { rollup: '4.68.8', '@rollup/plugin-node-resolve': '16.0.3' },
    files: ['rollup/build.mjs'],
    modes: [
      { mode: 'build', how: 'as is', build: ['build.mjs', '--no-copy'], expectFail: /WorkerError: .*npx siglip-web copy-worker DIST.*siglip-worker\.js/ },
      { mode: 'build', how: 'recipe (npx siglip-web copy-worker dist)', build: ['build.mjs'] },
    ],
  },
};

function log(msg) {
  console.log(`[examples] ${msg}`);
}

function run(cmd, args, cwd) {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, NO_COLOR: '1' } });
}

/** Starts a dev server; resolves to {url, stop} once it answers. */
async function devServer(dir, args) {
  const port = args[args.indexOf('--port') + 1];
  const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}/`;
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.on('exit', resolve);
      child.kill();
    });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`dev server exited (${child.exitCode}):\n${output}`);
    if (await fetch(url).then((r) => r.ok, () => false)) return { url, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`dev server did not answer on ${url}:\n${output}`);
}

let nextPort = 47310;

/**
 * Loads the app in Chromium; returns null when it works, else what went wrong.
 * @param {string[]} builds the wasm builds the element and the API call must run
 */
async function check(browser, url, builds) {
  const page = await browser.newPage();
  const problems = watch(page);
  try {
    await page.goto(url);
    await page.waitForFunction(() => typeof window.siglipCheck === 'function', null, { timeout: 30000 });
    let timer;
    const out = await Promise.race([
      page.evaluate(({ image, labels }) => window.siglipCheck(image, labels).catch((e) => ({ error: `${e.name}: ${e.message}` })), { image: IMAGE, labels: ref.labels }),
      new Promise((resolve) => (timer = setTimeout(() => resolve({ error: 'timed out after 60 s' }), 60000))),
    ]).finally(() => clearTimeout(timer)); // (a timer left running kept the process up to 60 s after the matrix)
    if (out.error) return [out.error, ...problems].join('; ');
    if (out.builds.join() !== builds.join()) return `ran the ${out.builds.join(' and ')} builds, not ${builds.join(' and ')}`;
    for (const results of [out.viaElement, out.viaApi]) {
      if (results.length !== ref.labels.length) return `got ${results.length} results`;
      for (const r of results) {
        const expected = want[ref.labels.indexOf(r.label)];
        if (!(Math.abs(r.score - expected) <= 1e-4)) return `${r.label}: ${r.score} vs reference ${expected}`;
      }
    }
    return problems.length ? problems.join('; ') : null;
  } catch (err) {
    return [err.message.split('\n')[0], ...problems].join('; ');
  } finally {
    await page.close();
  }
}

/**
 * Runs the server build's render() in Node (dist-ssr/ssr.js, from examples/vite/ssr.js): null
 * when it renders the element with the package's exports, else what went wrong.
 */
function checkSsr(dir) {
  const script = "const m = await import('./dist-ssr/ssr.js'); process.stdout.write(m.render());";
  let html;
  try {
    html = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    return `render() in Node failed: ${String(err.stderr || err.message).split('\n').slice(0, 4).join(' ')}`;
  }
  const want = `<siglip-classifier src="model.safetensors" template="This is a photo of {}." data-api="function,function,function"></siglip-classifier>`;
  return html === want ? null : `rendered ${html}`;
}

/** Bytes of the built output by kind, and how many .wasm files: {js, wasm, wasmFiles, total}. */
function sizes(dir) {
  const out = { js: 0, wasm: 0, wasmFiles: 0, total: 0 };
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
        continue;
      }
      if (e.name === 'model.safetensors' || e.name === IMAGE) continue;
      const n = statSync(p).size;
      out.total += n;
      if (/\.m?js$/.test(e.name)) out.js += n;
      if (e.name.endsWith('.wasm')) {
        out.wasm += n;
        out.wasmFiles += 1;
      }
    }
  };
  walk(dir);
  return out;
}

const filter = process.argv[2];
mkdirSync(WORK, { recursive: true });
const tarball = path.join(
  WORK,
  JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', WORK], { cwd: path.join(ROOT, 'www'), encoding: 'utf8' }))[0].filename,
);
const model = packedModel('tiny-p14', 'f32');
const browser = await launch();
const matrix = [];
try {
  for (const [name, bundler] of Object.entries(BUNDLERS)) {
    if (filter && !name.includes(filter)) continue;
    const dir = path.join(WORK, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(path.join(dir, 'public'), { recursive: true });
    cpSync(path.join(EXAMPLES, 'app'), dir, { recursive: true });
    for (const f of bundler.files) copyFileSync(path.join(EXAMPLES, f), path.join(dir, path.basename(f)));
    copyFileSync(model, path.join(dir, 'public/model.safetensors'));
    copyFileSync(path.join(ROOT, 'tests/fixtures/images', IMAGE), path.join(dir, 'public', IMAGE));
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `siglip-${name}-example`, private: true, type: 'module' }, null, 2));
    const started = Date.now();
    const deps = Object.entries(bundler.deps).map(([p, v]) => `${p}@${v}`);
    run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, ...deps], dir);
    log(`${name}: installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (name === 'importmap') {
      // Served as is: the page, main.js and node_modules; public/ files at the root.
      cpSync(path.join(dir, 'public'), dir, { recursive: true });
    }
    for (const m of bundler.modes) {
      const entry = `${name} ${m.mode}${m.config ? ' (plugin)' : ''}`;
      if (m.config !== undefined) {
        rmSync(path.join(dir, 'vite.config.js'), { force: true });
        if (m.config) copyFileSync(path.join(EXAMPLES, 'vite/vite.config.js'), path.join(dir, 'vite.config.js'));
        rmSync(path.join(dir, 'node_modules/.vite'), { recursive: true, force: true });
      }
      let server;
      let error = null;
      let size = null;
      const t0 = Date.now();
      try {
        if (m.ssr) {
          run(process.execPath, m.ssr, dir);
          error = checkSsr(dir);
        } else if (m.serve) {
          server = await m.serve(dir, String(nextPort++));
        } else {
          if (m.build) run(process.execPath, m.build, dir);
          const dist = path.join(dir, m.dist ?? 'dist');
          size = sizes(dist);
          server = await startServer({ root: dist, args: ['--coi'] });
        }
        // Threads where the page is cross-origin isolated (served built), else relaxed.
        if (server) error = await check(browser, server.url, [m.serve ? 'relaxed' : 'threads', 'simd128']);
      } catch (err) {
        error = err.message.split('\n').slice(0, 6).join(' ');
      } finally {
        await server?.stop();
      }
      // An entry that must fail (no setup where setup is needed) must fail the way expected.
      const works = error === null;
      const ok = m.expectFail ? !works && m.expectFail.test(error) : works;
      const row = { entry, bundler: name, mode: m.mode, how: m.how, works, ok, error, size, seconds: (Date.now() - t0) / 1000 };
      matrix.push(row);
      log(`${entry}, ${m.how}: ${works ? 'works' : `fails: ${error}`}${ok ? '' : ' -- NOT AS EXPECTED'} (${row.seconds.toFixed(1)} s)`);
    }
  }
} finally {
  await browser.close();
}

const mb = (n) => (n / 1e6).toFixed(2);
console.log('\n| bundler | mode | setup | works | JS (MB) | wasm (MB, files) |\n|---|---|---|---|---|---|');
for (const r of matrix) {
  const works = r.works ? 'yes' : `no: ${r.error.slice(0, 160)}`;
  const size = r.size && r.mode !== 'no build' ? `${mb(r.size.js)} | ${mb(r.size.wasm)} (${r.size.wasmFiles})` : '– | –';
  console.log(`| ${r.bundler} | ${r.mode} | ${r.how} | ${works}${r.ok ? '' : ' (NOT AS EXPECTED)'} | ${size} |`);
}
writeFileSync(path.join(WORK, 'matrix.json'), JSON.stringify(matrix, null, 2));
const failed = matrix.filter((r) => !r.ok);
if (failed.length) {
  console.error(`\n${failed.length} of ${matrix.length} entries failed`);
  process.exit(1);
}
console.log(`\nall ${matrix.length} entries as expected (every bundler works, as is or with its recipe)`);
