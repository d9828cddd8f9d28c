#!/usr/bin/env node
// The ajv 8 side of the DIP benchmark: every per-variant schema of schemas/dip (index.json, 146
// variants) compiled once with ajv 8 (allErrors, draft-07, strict: false: strict mode rejects these
// generated schemas -- strictTypes: "missing type "object" for keyword "required"", and without
// ajv-formats: unknown format "email" (REP schemas); with strict: false ajv ignores "format"), then,
// per warm iteration, JSON.parse of the whole file and, per message, the validator picked by
// CommonBlock.S0.interfaceID + eventCode (exact, case-sensitive match). ajv has no equivalent of the
// DIP rules (rules/dip): schema only. A message with no matching variant counts as failing.
//
//   node bench-dip.js FILE... [--iterations N] [--warmup W] [--schemas DIR] [--strict]
//
// FILE is a DIPMessageArray body ([{"payload": message}, ...]); a bare message or a bare array of
// messages is accepted too. One JSON line per file, like bench.js:
//   {"tool":"ajv","mode":"schema","type":"dip","records":...,"failing":...,"records_per_s":...}
// records = messages; failing = messages that fail their schema; findings = ajv errors (allErrors).
'use strict';

const fs = require('fs');
const path = require('path');
const Ajv = require('ajv');

function parseArgs(argv) {
  const o = { files: [], iterations: 20, warmup: 3, strict: false, schemas: path.join(__dirname, '..', '..', 'schemas') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--iterations') o.iterations = Math.max(1, parseInt(value(), 10));
    else if (a === '--warmup') o.warmup = Math.max(0, parseInt(value(), 10));
    else if (a === '--schemas') o.schemas = value();
    else if (a === '--strict') o.strict = true;  // fails on these schemas (see above)
    else if (a === '--schema-only' || a === '--type') { if (a === '--type') value(); }  // accepted for symmetry with bench.js
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (o.files.length === 0) usage('no FILE given');
  return o;
}

function usage(problem) {
  const text = 'usage: node bench-dip.js FILE... [--iterations N] [--warmup W] [--schemas DIR] [--strict]\n';
  if (problem) { process.stderr.write(`bench-dip.js: ${problem}\n${text}`); process.exit(2); }
  process.stdout.write(text);
  process.exit(0);
}

// Compiles every variant; key "interfaceID eventCode" -> validate function.
function compileAll(opts) {
  const dir = path.join(opts.schemas, 'dip');
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const ajv = new Ajv({ strict: opts.strict, allErrors: true, logger: false });
  const validators = new Map();
  const t0 = process.hrtime.bigint();
  for (const v of index.variants) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, v.schema), 'utf8'));
    validators.set(`${v.interface} ${v.eventCode}`, ajv.compile(schema));
  }
  return { validators, variants: index.variants.length, compile_s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

function benchFile(opts, compiled, file) {
  const { validators } = compiled;
  const text = fs.readFileSync(file, 'utf8');
  let records = 0, failing = 0, findings = 0, unknown = 0;
  const one = (msg) => {
    records++;
    const s0 = msg && msg.CommonBlock && msg.CommonBlock.S0;
    const validate = s0 ? validators.get(`${s0.interfaceID} ${s0.eventCode}`) : undefined;
    if (!validate) { failing++; findings++; unknown++; return; }
    if (!validate(msg)) { failing++; findings += validate.errors.length; }
  };
  const once = () => {
    records = failing = findings = unknown = 0;
    const data = JSON.parse(text);
    const items = Array.isArray(data) ? data : [data];
    for (const item of items) {
      const msg = item && typeof item === 'object' && !Array.isArray(item) && 'payload' in item ? item.payload : item;
      one(msg);
    }
  };
  for (let w = 0; w < opts.warmup; w++) once();
  const times = [];
  for (let k = 0; k < opts.iterations; k++) {
    const t0 = process.hrtime.bigint();
    once();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const med = median(times);
  const bytes = Buffer.byteLength(text);
  return { tool: 'ajv', mode: 'schema', type: 'dip', file, ajv_options: opts.strict ? 'strict: true' : 'strict: false', variants: compiled.variants,
           compile_s: compiled.compile_s, records, bytes, iterations: opts.iterations, median_s: med,
           mean_s: times.reduce((a, b) => a + b, 0) / times.length, min_s: Math.min(...times),
           records_per_s: records / med, mb_per_s: bytes / 1e6 / med, failing, findings, unknown_variant: unknown };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  const compiled = compileAll(opts);
  let status = 0;
  for (const file of opts.files) {
    try {
      process.stdout.write(JSON.stringify(benchFile(opts, compiled, file)) + '\n');
    } catch (e) {
      process.stderr.write(`bench-dip.js: ${file}: ${e.message || e}\n`);
      process.stdout.write(JSON.stringify({ tool: 'ajv', mode: 'schema', type: 'dip', file, error: String(e.message || e) }) + '\n');
      status = 1;
    }
  }
  process.exitCode = status;
}

main();
