'use strict';
// The ```js blocks of the documents below run against the fresh library, and every answer they
// show is checked: a statement line `expr;  // -> literal` must evaluate to the literal (a
// string, number, BigInt, boolean or null; text after it is commentary). The blocks are read
// from the .md files at test time, so a document that stops matching the code fails here.
// tests/docs/check-snippets.py reads DOCS: a ```js block in any other document fails it.
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const Module = require('node:module');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const DOCS = ['bindings/node/README.md', 'docs/coming-from.md'];
const FENCE = /^([ \t]*)```js[ \t]*\n([\s\S]*?)^\1```[ \t]*$/gm;
const LITERAL = /^('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?n?|true|false|null)/;
const ANSWER = /^(\s*)(.+?);?\s*\/\/\s*->\s*(.*)$/;

function blocks(rel) {
  const text = fs.readFileSync(path.join(ROOT, rel), 'utf8');
  const out = [];
  for (const m of text.matchAll(FENCE)) {
    const first = text.slice(0, m.index).split('\n').length + 1;
    const body = m[2].split('\n').map((l) => l.slice(m[1].length)).join('\n');
    out.push({ first, body });
  }
  return out;
}

// Turns each answered line into an assertion; returns the source and the number of answers.
function instrument(body, where) {
  let answers = 0;
  const lines = body.split('\n').map((line, i) => {
    const m = ANSWER.exec(line);
    if (!m) return line;
    const lit = LITERAL.exec(m[3].trim());
    if (!lit) throw new Error(`${where}+${i}: '// ->' without a literal: ${line.trim()}`);
    answers++;
    return `${m[1]}__expect__((${m[2]}), ${lit[1]}, ${JSON.stringify(`${where}+${i}`)});`;
  });
  return { src: lines.join('\n'), answers };
}

function expect(got, want, where) {
  assert.deepStrictEqual(got, want, `${where}: the document shows ${String(want)}, the code gives ${String(got)}`);
}

async function runBlock(src, where) {
  // `require('openfault')` in a snippet means this package.
  const req = Module.createRequire(path.join(ROOT, 'bindings', 'node', 'index.js'));
  const snippetRequire = (id) => (id === 'openfault' ? req('..' + path.sep + 'node') : req(id));
  const fn = new Function('require', '__expect__', `return (async () => {\n${src}\n})();`);
  const opened = [];
  await fn((id) => {
    const mod = snippetRequire(id);
    if (id === 'openfault') opened.push(mod);
    return mod;
  }, expect).catch((e) => { e.message = `${where}: ${e.message}`; throw e; });
}

for (const rel of DOCS) {
  test(`doc snippets of ${rel} run and show the code's answers`, async () => {
    const found = blocks(rel);
    assert.ok(found.length > 0, `${rel} has no \`\`\`js block`);
    let answers = 0;
    for (const { first, body } of found) {
      const where = `${rel}:${first}`;
      const { src, answers: n } = instrument(body, where);
      answers += n;
      await runBlock(src, where);
    }
    assert.ok(answers > 0, `${rel}: no answer is checked`);
  });
}

test('the doc checker catches a wrong answer', async () => {
  const { src, answers } = instrument("const x = [1, 2];\nx.length;  // -> 3  (wrong)", 't');
  assert.equal(answers, 1);
  await assert.rejects(runBlock(src, 't'), /shows 3, the code gives 2/);
  assert.throws(() => instrument('x.length;  // -> three', 't'), /without a literal/);
});
