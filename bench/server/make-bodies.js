#!/usr/bin/env node
// The requests of the server benchmark (bench/server/run.sh): one file per DIP variant, from the
// same source as bench/dip/generate.js, the valid corpus message of every variant of
// schemas/dip/index.json (tests/corpus/dip/<IF>/<Event>/valid.json), in index order.
//
//   node bench/server/make-bodies.js [--out-dir DIR] [--batch N]
//
// Writes, under DIR (default bench/out/server):
//   valid/NNN-<IF>-<Event>.req    146 requests that should pass (201)
//   faulty/NNN-<IF>-<Event>.req   the same 146, each with one fault (400): alternately a removed
//                                 required CommonBlock.S1 field and a wrong type, the faults of
//                                 generate.js in its order; S0 is never touched, so every message
//                                 is still checked against its own variant
//   faulty.faults.tsv             which fault each faulty request carries
//   manifest.json                 the lists, for wrk.lua and probe.js
// A .req file is two lines: the request path (/v1/validate/IF-001/InitialRegistration, the
// eventCode without brackets), then the body on one line: a DIPMessageArray of N messages of that
// variant (--batch, default 1: one message per request, as DIP senders mostly post).
//
// senderUniqueReference: only the trailing alphanumeric part of S-[IF-]nnn-<10 hex>-<ROLE>-yyyymmdd-
// <ref> changes (as in generate.js), to "FGREF" plus 11 decimal digits (request file and message
// number): unique within the set, matching the schema's pattern, and a fixed 16-character marker
// that wrk.lua replaces, per request sent, with a token unique for the run (see wrk.lua).
// Output is deterministic.
'use strict';

const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..', '..');
const o = { outDir: path.join(ROOT, 'bench', 'out', 'server'), batch: 1 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--out-dir') o.outDir = argv[++i];
  else if (a === '--batch') o.batch = Math.max(1, parseInt(argv[++i], 10));
  else if (a === '--help' || a === '-h') { process.stdout.write('usage: node make-bodies.js [--out-dir DIR] [--batch N]\n'); process.exit(0); }
  else { process.stderr.write(`make-bodies.js: unknown argument ${a}\n`); process.exit(2); }
}

// The corpus, read as generate.js reads it.
const index = JSON.parse(fs.readFileSync(path.join(ROOT, 'schemas', 'dip', 'index.json'), 'utf8'));
const corpus = index.variants.map((v) => {
  const file = path.join(ROOT, 'tests', 'corpus', 'dip', v.schema.replace(/\.schema\.json$/, ''), 'valid.json');
  return { v, text: fs.readFileSync(file, 'utf8') };
});

const REF = /^(S-(?:(?:IF|REP)-)?\d{3,4}-[0-9a-fA-F]{10}-[A-Z]{3,5}-\d{8}-)[a-zA-Z0-9]+$/;
const MARK = 'FGREF';  // + 11 digits: 16 characters; wrk.lua looks for MARK followed by 11 digits

// The faults of generate.js, in its order.
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

function message(c, fileNo, k) {
  const m = JSON.parse(c.text);
  const s1 = m.CommonBlock.S1;
  const r = REF.exec(s1.senderUniqueReference);
  if (!r) throw new Error(`${c.v.type}: senderUniqueReference ${s1.senderUniqueReference} has an unexpected shape`);
  s1.senderUniqueReference = r[1] + MARK + String(fileNo * 1000 + k).padStart(11, '0');
  return m;
}

const eventOf = (v) => v.eventCode.replace(/^\[/, '').replace(/\]$/, '');
const urlPath = (v) => `/v1/validate/${encodeURIComponent(v.interface)}/${encodeURIComponent(eventOf(v))}`;

for (const set of ['valid', 'faulty']) {
  const dir = path.join(o.outDir, set);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}
const manifest = { batch: o.batch, variants: corpus.length, valid: [], faulty: [] };
const faults = ['file\ttype\tfault\tpointer'];
let broken = 0;
corpus.forEach((c, n) => {
  const name = `${String(n).padStart(3, '0')}-${c.v.interface}-${eventOf(c.v)}.req`;
  const valid = [], faulty = [];
  for (let k = 0; k < o.batch; k++) {
    valid.push({ payload: message(c, n, k) });
    const m = message(c, n, k);
    if (k === 0) {  // one broken message per request: the whole request is rejected (400)
      const [kind, pointer] = breakMessage(m, broken++);
      faults.push(`faulty/${name}\t${c.v.type}\t${kind}\t/0/payload${pointer}`);
    }
    faulty.push({ payload: m });
  }
  const p = urlPath(c.v);
  fs.writeFileSync(path.join(o.outDir, 'valid', name), `${p}\n${JSON.stringify(valid)}\n`);
  fs.writeFileSync(path.join(o.outDir, 'faulty', name), `${p}\n${JSON.stringify(faulty)}\n`);
  manifest.valid.push(`valid/${name}`);
  manifest.faulty.push(`faulty/${name}`);
});
fs.writeFileSync(path.join(o.outDir, 'faulty.faults.tsv'), faults.join('\n') + '\n');
fs.writeFileSync(path.join(o.outDir, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
// A plain list per set too: wrk.lua reads these (LuaJIT has no JSON parser).
fs.writeFileSync(path.join(o.outDir, 'valid.list'), manifest.valid.join('\n') + '\n');
fs.writeFileSync(path.join(o.outDir, 'faulty.list'), manifest.faulty.join('\n') + '\n');
process.stderr.write(`make-bodies.js: ${corpus.length} variants x ${o.batch} message(s) per request, valid/ and faulty/ (${broken} faults), into ${o.outDir}\n`);
