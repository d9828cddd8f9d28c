#!/usr/bin/env node
// DIP benchmark input: a DIPMessageArray body ([{"payload": message}, ...]) of N messages cycling
// through the valid corpus message of every DIP variant (schemas/dip/index.json, 146 variants;
// tests/corpus/dip/<IF>/<Event>/valid.json), in index order.
//
//   node bench/dip/generate.js [--records N] [--out-dir DIR] [--fault-rate R]
//
// Writes DIR/dip.valid.json (N messages, no findings expected) and DIR/dip.faulty.json (the same
// messages, every 10th one broken: alternately a removed required CommonBlock.S1 field and a wrong
// type; the list of faults in dip.faulty.faults.tsv). Defaults: N = 5000, DIR = bench/out.
//
// Every message gets its own senderUniqueReference (the DIP rules flag repeated references): only
// the trailing alphanumeric part of S-[IF-]nnn-<10 hex>-<ROLE>-yyyymmdd-<ref> changes, to "00" plus
// the message number in base 36 (at least 4 digits), so the reference still matches the schema's
// pattern. The leading "00" of that part is left for fg_bench_engine --fresh-dip-references, which
// rewrites those two characters on every iteration so a warm run of the same file does not see the
// references of its previous iteration as repeated (the rule remembers references for the whole run).
// Output is deterministic.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const o = { records: 5000, outDir: path.join(ROOT, 'bench', 'out'), every: 10 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--records') o.records = Math.max(1, parseInt(argv[++i], 10));
  else if (a === '--out-dir') o.outDir = argv[++i];
  else if (a === '--help' || a === '-h') { process.stdout.write('usage: node generate.js [--records N] [--out-dir DIR]\n'); process.exit(0); }
  else { process.stderr.write(`generate.js: unknown argument ${a}\n`); process.exit(2); }
}

const index = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'dip', 'index.json'), 'utf8'));
const corpus = index.variants.map((v) => {
  const file = path.join(ROOT, 'tests', 'corpus', 'dip', v.schema.replace(/\.schema\.json$/, ''), 'valid.json');
  return { type: v.type, text: fs.readFileSync(file, 'utf8') };
});

const REF = /^(S-(?:(?:IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-)[a-zA-Z0-9]+$/;
const width = Math.max(4, (o.records - 1).toString(36).length);

function message(i) {
  const c = corpus[i % corpus.length];
  const m = JSON.parse(c.text);
  const s1 = m.CommonBlock.S1;
  const r = REF.exec(s1.senderUniqueReference);
  if (!r) throw new Error(`${c.type}: senderUniqueReference ${s1.senderUniqueReference} has an unexpected shape`);
  s1.senderUniqueReference = r[1] + '00' + i.toString(36).toUpperCase().padStart(width, '0');
  return { type: c.type, m };
}

// The faults: [description, apply(message)]; S0 (interfaceID/eventCode) is never touched, so each
// message is still checked against its own variant.
const REMOVE = ['senderTimestamp', 'senderCorrelationID', 'senderRoleID', 'senderDIPID', 'environmentTag'];
const RETYPE = [
  ['S1', 'senderDIPID', (v) => Number(v)],
  ['S0', 'schemaVersion', (v) => Number(v)],
  ['S1', 'senderTimestamp', () => 1742231294],
  ['S1', 'senderRoleID', (v) => [v]],
];
function breakMessage(m, n) {
  const k = Math.floor(n / 2);
  if (n % 2 === 0) {
    const field = REMOVE[k % REMOVE.length];
    delete m.CommonBlock.S1[field];
    return ['missing-required', `/CommonBlock/S1/${field}`];
  }
  const [block, field, to] = RETYPE[k % RETYPE.length];
  m.CommonBlock[block][field] = to(m.CommonBlock[block][field]);
  return ['wrong-type', `/CommonBlock/${block}/${field}`];
}

fs.mkdirSync(o.outDir, { recursive: true });
const valid = [], faulty = [], faults = ['index\ttype\tfault\tpointer'];
let broken = 0;
for (let i = 0; i < o.records; i++) {
  const { type, m } = message(i);
  valid.push(JSON.stringify({ payload: m }));
  if (i % o.every === o.every - 1) {
    const [kind, pointer] = breakMessage(m, broken++);
    faults.push(`${i}\t${type}\t${kind}\t/${i}/payload${pointer}`);
  }
  faulty.push(JSON.stringify({ payload: m }));
}
const write = (name, lines) => {
  const file = path.join(o.outDir, name);
  fs.writeFileSync(file, '[\n' + lines.join(',\n') + '\n]\n');
  return file;
};
write('dip.valid.json', valid);
write('dip.faulty.json', faulty);
fs.writeFileSync(path.join(o.outDir, 'dip.faulty.faults.tsv'), faults.join('\n') + '\n');
process.stderr.write(`generate.js: ${o.records} DIP messages (${corpus.length} variants), ${broken} faulty, into ${o.outDir}\n`);
