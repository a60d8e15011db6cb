// The docs say what the code does, both ways. The tables of the package README (www/README.md)
// and the CLI synopsis of README.md are parsed and compared with what the code declares:
// - each element's attribute table with its `observedAttributes` (the modules are imported here:
//   the package is SSR-safe) and with the properties of its class in index.d.ts;
// - each element's event table with the events its class chain dispatches and with its event map
//   in index.d.ts;
// - the error table with every name `namedError(...)` is called with across www/, the Rust
//   error kinds the wasm build can raise (src/error.rs), and the names index.d.ts lists;
// - each `fn({a, b?})` signature with the options interface of `fn` in index.d.ts;
// - the CLI synopsis with `siglip --help` and `siglip SUB --help`;
// - the wasm builds: BUILDS in www/protocol.js with VARIANTS, both READMEs' build tables,
//   build.sh's default variants, the package's files and the service worker's cache list.
// Nothing is listed here: a row, an attribute, an event, an error, an option or a flag added on
// one side only fails. No browser; a second or two (the CLI is built first unless SIGLIP_CLI).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { ROOT, cli } from './harness.mjs';

const WWW = path.join(ROOT, 'www');
const read = (file) => readFileSync(path.join(ROOT, file), 'utf8');
const PACKAGE_README = read('www/README.md');
const README = read('README.md');

// ---- Markdown ----

/**
 * Every table of a markdown text, with the heading it is under; cells trimmed, `\|` kept in
 * its cell.
 * @returns {{heading: string, header: string[], rows: string[][]}[]}
 */
function tables(markdown) {
  const found = [];
  let heading = '';
  let table = null;
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    if (fence) continue;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, '');
    if (!line.trim().startsWith('|')) {
      table = null;
      continue;
    }
    const cells = line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim());
    if (!table) found.push((table = { heading, header: cells, rows: [] }));
    else if (!cells.every((c) => /^:?-+:?$/.test(c))) table.rows.push(cells);
  }
  return found;
}

/** The `code` spans of a markdown fragment. */
const spans = (text) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

const camel = (kebab) => kebab.replace(/-(\w)/g, (_, c) => c.toUpperCase());

/** The sorted difference a − b. */
const minus = (a, b) => [...a].filter((x) => !new Set(b).has(x)).sort();

/**
 * Adds to `drifts` what each side lacks when two sets of names differ. The tests collect every
 * drift before they fail, so one run names them all.
 */
function sameNames(drifts, documented, actual, what, docName, codeName) {
  [documented, actual] = [[...documented], [...actual]];
  const undocumented = minus(actual, documented);
  const stale = minus(documented, actual);
  if (undocumented.length) drifts.push(`${what}: in ${codeName} but not in ${docName}: ${undocumented.join(', ')}`);
  if (stale.length) drifts.push(`${what}: in ${docName} but not in ${codeName}: ${stale.join(', ')}`);
}

// ---- index.d.ts ----

const DTS_FILE = path.join(WWW, 'index.d.ts');
const dts = ts.createSourceFile(DTS_FILE, readFileSync(DTS_FILE, 'utf8'), ts.ScriptTarget.Latest, true);

/**
 * The interfaces and classes of index.d.ts: own members (properties and methods apart), what
 * they extend (with the keys an `Omit<…>` leaves out), the `keyof` event map of a class's
 * `addEventListener`, each member's node; the exported functions' first parameter types; the
 * `HTMLElementTagNameMap` (tag → class).
 */
function declarations() {
  const types = new Map();
  const functions = new Map();
  const tags = new Map();
  const typeName = (node) => (node && ts.isTypeReferenceNode(node) ? node.typeName.getText(dts) : undefined);
  const literals = (node) =>
    ts.isUnionTypeNode(node) ? node.types.flatMap(literals) : ts.isLiteralTypeNode(node) && ts.isStringLiteral(node.literal) ? [node.literal.text] : [];
  const visit = (node) => {
    if (ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) {
      const name = node.name.text;
      const entry = { properties: new Map(), methods: new Set(), bases: [], eventMap: undefined };
      for (const clause of node.heritageClauses ?? []) {
        if (clause.token !== ts.SyntaxKind.ExtendsKeyword) continue;
        for (const t of clause.types) {
          const base = t.expression.getText(dts);
          if (base === 'Omit' && t.typeArguments) entry.bases.push({ name: typeName(t.typeArguments[0]), omit: new Set(literals(t.typeArguments[1])) });
          else entry.bases.push({ name: base, omit: new Set() });
        }
      }
      for (const m of node.members) {
        if (!m.name || ts.isConstructorDeclaration(m)) continue;
        const key = m.name.getText(dts).replace(/^['"]|['"]$/g, '');
        if (ts.isMethodDeclaration(m) || ts.isMethodSignature(m)) {
          entry.methods.add(key);
          const constraint = m.typeParameters?.[0]?.constraint;
          if (key === 'addEventListener' && constraint && ts.isTypeOperatorNode(constraint)) entry.eventMap = typeName(constraint.type);
        } else if (!m.modifiers?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword)) entry.properties.set(key, m);
      }
      if (name === 'HTMLElementTagNameMap') for (const [tag, m] of entry.properties) tags.set(tag, typeName(m.type));
      types.set(name, entry);
    } else if (ts.isFunctionDeclaration(node) && node.name) {
      functions.set(node.name.text, typeName(node.parameters[0]?.type));
    }
    ts.forEachChild(node, visit);
  };
  visit(dts);
  /** Properties of a type with those it extends (within index.d.ts), as name → node. */
  const properties = (name, omit = new Set()) => {
    const entry = types.get(name);
    if (!entry) return new Map();
    const all = new Map();
    for (const base of entry.bases) for (const [k, v] of properties(base.name, base.omit)) all.set(k, v);
    for (const [k, v] of entry.properties) all.set(k, v);
    for (const k of omit) all.delete(k);
    return all;
  };
  const eventMapOf = (name) => {
    const entry = types.get(name);
    return entry?.eventMap ?? entry?.bases.map((b) => eventMapOf(b.name)).find(Boolean);
  };
  return { types, functions, tags, properties, eventMapOf };
}
const DTS = declarations();

// ---- www/*.js ----

const WWW_FILES = readdirSync(WWW).filter((f) => f.endsWith('.js'));
const parsed = new Map(
  WWW_FILES.map((f) => [f, ts.createSourceFile(f, readFileSync(path.join(WWW, f), 'utf8'), ts.ScriptTarget.Latest, true, ts.ScriptKind.JS)]),
);

/** Calls every node of a source file. */
function walk(source, fn) {
  const visit = (node) => {
    fn(node);
    ts.forEachChild(node, visit);
  };
  visit(source);
}

/** The strings an expression can evaluate to, where it says them: a literal, either side of `?:`, `??` or `||`. */
function outcomes(node) {
  if (ts.isStringLiteralLike(node)) return [node.text];
  if (ts.isParenthesizedExpression(node)) return outcomes(node.expression);
  if (ts.isConditionalExpression(node)) return [...outcomes(node.whenTrue), ...outcomes(node.whenFalse)];
  const or = [ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.BarBarToken];
  if (ts.isBinaryExpression(node) && or.includes(node.operatorToken.kind)) return [...outcomes(node.left), ...outcomes(node.right)];
  return [];
}

/** Every error name `namedError(...)` is called with in www/, by name: the files. */
function thrownInWww() {
  const names = new Map();
  for (const [file, source] of parsed)
    walk(source, (node) => {
      if (!ts.isCallExpression(node) || node.expression.getText(source) !== 'namedError' || !node.arguments.length) return;
      for (const name of outcomes(node.arguments[0]).filter((n) => /^\w+Error$/.test(n) && n !== 'Error')) names.set(name, [...(names.get(name) ?? []), file]);
    });
  return names;
}

/**
 * The error kinds of the Rust core (`Error::kind` in src/error.rs) that reach the browser: every
 * variant but those its doc comment says are native CLI only.
 */
function rustKinds() {
  const text = read('src/error.rs');
  const enumBody = /pub enum Error \{([\s\S]*?)\n\}/.exec(text)[1];
  const nativeOnly = new Set();
  for (const m of enumBody.matchAll(/((?:[ \t]*\/\/\/[^\n]*\n)+)(?:[ \t]*#\[[^\n]*\n)*[ \t]*(\w+)/g)) if (/native CLI only/.test(m[1])) nativeOnly.add(m[2]);
  const kinds = [...text.matchAll(/Error::(\w+)\s*(?:\([^)]*\)|\{[^}]*\})?\s*=>\s*"(\w+)"/g)];
  assert.ok(kinds.length > 5, 'Error::kind not found in src/error.rs');
  return kinds.filter(([, variant]) => !nativeOnly.has(variant)).map(([, , kind]) => kind);
}

/** The file of www/ that declares class `name`. */
function fileOfClass(name) {
  for (const [file, source] of parsed) if (source.statements.some((s) => ts.isClassDeclaration(s) && s.name?.text === name)) return file;
  return undefined;
}

/**
 * The events an element class dispatches (`new CustomEvent('name', …)`), in its module and the
 * modules of the classes it extends.
 */
function dispatched(className) {
  const events = new Set();
  for (let name = className, file = fileOfClass(name); file; ) {
    const source = parsed.get(file);
    walk(source, (node) => {
      if (!ts.isNewExpression(node) || !/^(Custom)?Event$/.test(node.expression.getText(source))) return;
      const type = node.arguments?.[0];
      if (type && ts.isStringLiteralLike(type)) events.add(type.text);
    });
    const cls = source.statements.find((s) => ts.isClassDeclaration(s) && s.name?.text === name);
    const base = cls.heritageClauses?.[0]?.types[0]?.expression.getText(source);
    const from = source.statements.find(
      (s) => ts.isImportDeclaration(s) && s.importClause?.namedBindings?.elements?.some((e) => e.name.text === base),
    );
    name = base;
    file = from && path.basename(from.moduleSpecifier.text);
  }
  return events;
}

// ---- The package README's element sections ----

/**
 * What an element's section documents. An attribute row names the attribute and, when it is
 * not the camelCase of it, the property (`text-masking` / `textMasking`, `page-size`
 * (`pageSize`)); a row marked `(property)` a property with no attribute; a row whose meaning
 * is "as above" names rows of the previous element's table.
 */
function elementDocs(tag, previous, drifts) {
  const section = tables(PACKAGE_README).filter((t) => t.heading.includes(`<${tag}>`));
  const attributeTable = section.find((t) => /^attribute/.test(t.header[0]));
  const eventTable = section.find((t) => t.header[0] === 'event');
  assert.ok(attributeTable, `www/README.md has no attribute table under a heading naming <${tag}>`);
  assert.ok(eventTable, `www/README.md has no event table under a heading naming <${tag}>`);
  const attributes = new Map();
  const properties = new Set();
  for (const [first, ...rest] of attributeTable.rows) {
    const names = spans(first);
    if (rest.some((c) => /^as above\b/i.test(c))) {
      for (const n of names) {
        if (!previous?.attributes.has(n) && !previous?.properties.has(n)) drifts.push(`<${tag}>: \`${n}\` is "as above", but no table above has it`);
        if (previous?.attributes.has(n)) attributes.set(n, previous.attributes.get(n));
        properties.add(previous?.attributes.get(n) ?? n);
      }
    } else if (/\(propert(y|ies)\)/.test(first)) {
      for (const n of names) properties.add(n);
    } else {
      const [attribute, property = camel(attribute)] = names;
      attributes.set(attribute, property);
      properties.add(property);
    }
  }
  const events = new Set(eventTable.rows.flatMap(([first]) => spans(first)));
  return { attributes, properties, events };
}

const ELEMENTS = [...DTS.tags].map(([tag, className]) => ({ tag, className }));

test('index.d.ts types the elements, and www/ defines them', () => {
  assert.ok(ELEMENTS.length >= 2, 'HTMLElementTagNameMap in index.d.ts lists the elements');
  for (const { tag, className } of ELEMENTS) assert.ok(fileOfClass(className), `no www/ module declares ${className} (<${tag}>)`);
});

test('each element: the attribute table is its observedAttributes, and index.d.ts has each property', async () => {
  const drifts = [];
  let previous;
  for (const { tag, className } of ELEMENTS) {
    const docs = elementDocs(tag, previous, drifts);
    const module = await import(pathToFileURL(path.join(WWW, fileOfClass(className))).href);
    const observed = module[className]?.observedAttributes;
    assert.ok(Array.isArray(observed), `${className} has no static observedAttributes`);
    sameNames(drifts, docs.attributes.keys(), observed, `<${tag}> attributes`, 'www/README.md', `${className}.observedAttributes`);
    const declared = DTS.properties(className);
    sameNames(drifts, docs.properties, declared.keys(), `<${tag}> properties`, 'www/README.md', `index.d.ts ${className}`);
    for (const [attribute, property] of docs.attributes) {
      if (!declared.has(property)) continue; // reported above
      const doc = ts.getJSDocCommentsAndTags(declared.get(property)).map((d) => d.getText(dts)).join('\n');
      if (!doc.includes(`attribute \`${attribute}\``))
        drifts.push(`index.d.ts ${className}.${property}: its doc comment does not say "(attribute \`${attribute}\`…)"`);
    }
    previous = docs;
  }
  assert.deepEqual(drifts, [], 'the docs and the code disagree');
});

test('each element: the event table is what it dispatches and its event map in index.d.ts', () => {
  const drifts = [];
  let previous;
  for (const { tag, className } of ELEMENTS) {
    const docs = elementDocs(tag, previous, []); // the attribute tables' drifts are the test above's
    sameNames(drifts, docs.events, dispatched(className), `<${tag}> events`, 'www/README.md', `${fileOfClass(className)} (and the classes it extends)`);
    const map = DTS.eventMapOf(className);
    assert.ok(map, `index.d.ts: ${className}.addEventListener<K extends keyof …EventMap> names its event map`);
    sameNames(drifts, docs.events, DTS.properties(map).keys(), `<${tag}> events`, 'www/README.md', `index.d.ts ${map}`);
    previous = docs;
  }
  assert.deepEqual(drifts, [], 'the docs and the code disagree');
});

test('error names: the package README, index.d.ts and the code name the same errors', () => {
  const drifts = [];
  const thrown = thrownInWww();
  assert.ok(thrown.size > 5, 'namedError calls found in www/');
  const code = new Set([...thrown.keys(), ...rustKinds()]);
  const table = tables(PACKAGE_README).find((t) => t.heading === 'Errors');
  assert.ok(table, 'www/README.md has an "Errors" section with a table of error names');
  const documented = table.rows.flatMap(([first]) => spans(first));
  sameNames(drifts, documented, code, 'error names', 'www/README.md (Errors)', 'the code (namedError in www/, Error::kind in src/error.rs)');
  // index.d.ts: the doc comment of the `error` event's detail.
  const errorEvent = ELEMENTS.map(({ className }) => DTS.properties(DTS.eventMapOf(className)).get('error')).find(Boolean);
  const detailType = errorEvent?.type?.typeArguments?.[0]?.getText(dts);
  assert.ok(detailType, 'index.d.ts types the `error` event as CustomEvent<SomeDetail>');
  const comments = [...DTS.types.get(detailType).properties.values()].flatMap((m) => ts.getJSDocCommentsAndTags(m).map((d) => d.getText(dts)));
  const listed = new Set(comments.flatMap((c) => [...c.matchAll(/\b(\w+Error)\b/g)].map((m) => m[1])));
  sameNames(drifts, listed, code, 'error names', `index.d.ts ${detailType}`, 'the code (namedError in www/, Error::kind in src/error.rs)');
  assert.deepEqual(drifts, [], 'the docs and the code disagree');
});

test('options: each `fn({a, b?})` of the package README is the options interface of fn in index.d.ts', () => {
  const drifts = [];
  const signatures = [...PACKAGE_README.matchAll(/`(\w+)\(\{([^}`]*)\}\)`/g)].filter(([, fn]) => DTS.functions.has(fn));
  assert.ok(signatures.length >= 1, 'www/README.md gives the options of the exported functions as `fn({a, b?, ...})`');
  for (const [, fn, list] of signatures) {
    const options = DTS.functions.get(fn);
    assert.ok(options, `index.d.ts: ${fn}'s first parameter is an options interface`);
    const documented = list.split(',').map((s) => s.trim().replace(/\?$/, '')).filter(Boolean);
    sameNames(drifts, documented, DTS.properties(options).keys(), `${fn} options`, 'www/README.md', `index.d.ts ${options}`);
    // Optional in one, optional in the other.
    for (const name of list.split(',').map((s) => s.trim()).filter(Boolean)) {
      const member = DTS.properties(options).get(name.replace(/\?$/, ''));
      if (member && name.endsWith('?') !== Boolean(member.questionToken))
        drifts.push(`${fn}({${name}}): www/README.md and index.d.ts ${options} disagree on whether it is optional`);
    }
  }
  assert.deepEqual(drifts, [], 'the docs and the code disagree');
});

// ---- The CLI ----

/** The synopsis of README.md's CLI section: subcommand → the flags its lines show (`-o` as given). */
function synopsis() {
  const section = README.slice(README.indexOf('## The command-line tool'));
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'README.md: "The command-line tool" has a ```sh synopsis');
  const commands = new Map();
  let current;
  for (const line of block.split('\n')) {
    const text = line.replace(/\s#\s.*$/, '');
    const head = /^siglip\s+([\w-]+)/.exec(text);
    if (head) commands.set((current = head[1]), new Set());
    else if (!/^\s/.test(text)) current = undefined; // a line of its own (cargo build ...)
    if (!current) continue;
    for (const m of text.matchAll(/(?<![\w-])(--?[A-Za-z][\w-]*)/g)) commands.get(current).add(m[1]);
  }
  return commands;
}

function help(...args) {
  return execFileSync(cli(), [...args, '--help'], { encoding: 'utf8' });
}

/** `siglip SUB --help`: long flags, and the short ones as their long names. */
function flags(sub) {
  const long = new Set();
  const short = new Map();
  for (const m of help(sub).matchAll(/^\s+(?:(-\w), )?(--[\w-]+)/gm)) {
    if (m[2] === '--help' || m[2] === '--version') continue;
    long.add(m[2]);
    if (m[1]) short.set(m[1], m[2]);
  }
  return { long, short };
}

test('CLI: the README synopsis has every subcommand and flag of `siglip --help`, and no other', () => {
  const drifts = [];
  const documented = synopsis();
  const commands = [...help().split(/^Commands:$/m)[1].split(/^\S/m)[0].matchAll(/^ {2}([\w-]+)\s/gm)].map((m) => m[1]).filter((c) => c !== 'help');
  assert.ok(commands.length >= 5, 'siglip --help lists its subcommands');
  sameNames(drifts, documented.keys(), commands, 'subcommands', 'README.md', 'siglip --help');
  for (const sub of commands) {
    const { long, short } = flags(sub);
    const shown = [...(documented.get(sub) ?? [])].map((f) => {
      if (f.startsWith('--')) return f;
      if (!short.has(f)) drifts.push(`README.md: siglip ${sub} ${f}: siglip ${sub} --help has no ${f}`);
      return short.get(f) ?? f;
    });
    sameNames(drifts, shown, long, `siglip ${sub} flags`, 'README.md', `siglip ${sub} --help`);
  }
  assert.deepEqual(drifts, [], 'the docs and the code disagree');
});

test('wasm builds: BUILDS in protocol.js is what VARIANTS, the READMEs, build.sh, the package files and the service worker list', async () => {
  const { BUILDS, VARIANTS } = await import(pathToFileURL(path.join(ROOT, 'www/protocol.js')).href);
  const drifts = [];
  const variants = BUILDS.map((b) => b.variant);
  sameNames(drifts, VARIANTS.filter((v) => v !== 'auto'), variants, 'variants', 'VARIANTS', 'BUILDS');
  const pkgTable = tables(PACKAGE_README).find((t) => t.header[0] === '`variant`');
  assert.ok(pkgTable, 'www/README.md has the builds table');
  sameNames(drifts, pkgTable.rows.map((r) => `${spans(r[0])[0]} ${spans(r[1])[0]}`), BUILDS.map((b) => `${b.variant} ${b.dir}/`), 'builds', 'www/README.md', 'BUILDS');
  const rootTable = tables(README).find((t) => t.header[0] === 'variant' && t.header[1] === 'output');
  assert.ok(rootTable, 'README.md has the builds table');
  sameNames(drifts, rootTable.rows.map((r) => `${spans(r[0])[0]} ${spans(r[1])[0]}`), BUILDS.map((b) => `${b.variant} www/${b.dir}/`), 'builds', 'README.md', 'BUILDS');
  const buildSh = read('build.sh');
  sameNames(drifts, buildSh.match(/^VARIANTS="\$\{SIGLIP_VARIANTS:-([^}]*)\}"$/m)[1].split(' '), variants, 'variants', 'build.sh', 'BUILDS');
  const files = JSON.parse(read('www/package.json')).files;
  const sw = read('www/sw.js');
  for (const { dir, threads } of BUILDS) {
    for (const f of [`${dir}/siglip.js`, `${dir}/siglip_bg.wasm`, ...(threads ? [`${dir}/snippets/`] : [])]) {
      if (!files.includes(f)) drifts.push(`www/package.json files lacks ${f}`);
    }
    if (!sw.includes(`'./${dir}/siglip.js'`)) drifts.push(`sw.js does not cache ${dir}/siglip.js`);
    if (threads && !sw.includes(`'./${dir}/'`)) drifts.push(`sw.js does not cache ${dir}'s pool-worker script`);
  }
  assert.deepEqual(drifts, []);
});
