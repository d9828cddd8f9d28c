#!/usr/bin/env node
// The baseline a user would otherwise pick: ajv 8 (strict mode, allErrors, draft-07) with the DFS
// schemas flowguard uses (schemas/dfs, read at start-up with the "x-*" annotations stripped), plus
// hand-written JS checks equivalent to flowguard's DFS rules (rules/dfs).
//
//   node bench.js FILE... [--type T] [--schema-only] [--iterations N] [--warmup W] [--schemas DIR]
//   node bench.js --ndjson FILE [--type T] [--schema-only]     (one pass, streamed line by line)
//
// Each measurement is warm: the schema is compiled and the file read into memory once, then every
// iteration does JSON.parse + validate (+ the rule checks) on the text. One JSON line per file:
//   {"tool":"ajv","mode":"schema+rules","type":...,"records":...,"median_s":...,"records_per_s":...}
// records_per_s = records / median iteration time. The type comes from --type or from a file name
// like dfs.bid-submission.valid.json.
'use strict';

const fs = require('fs');
const path = require('path');
const readline = require('readline');
const Ajv = require('ajv');

// ---- arguments -----------------------------------------------------------------------------------

function parseArgs(argv) {
  const o = { files: [], type: '', schemaOnly: false, iterations: 20, warmup: 3, ndjson: false,
              schemas: path.join(__dirname, '..', '..', 'schemas') };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--type') o.type = value();
    else if (a === '--schema-only') o.schemaOnly = true;
    else if (a === '--iterations') o.iterations = Math.max(1, parseInt(value(), 10));
    else if (a === '--warmup') o.warmup = Math.max(0, parseInt(value(), 10));
    else if (a === '--schemas') o.schemas = value();
    else if (a === '--ndjson') o.ndjson = true;
    else if (a === '--by-rule') o.byRule = true;  // findings per rule (to compare with flowguard's)
    else if (a === '--help' || a === '-h') usage();
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else o.files.push(a);
  }
  if (o.files.length === 0) usage('no FILE given');
  return o;
}

function usage(problem) {
  const text = 'usage: node bench.js FILE... [--type T] [--schema-only] [--iterations N] [--warmup W] [--schemas DIR] [--ndjson]\n';
  if (problem) {
    process.stderr.write(`bench.js: ${problem}\n${text}`);
    process.exit(2);
  }
  process.stdout.write(text);
  process.exit(0);
}

function typeOf(file, given) {
  if (given) return given;
  const m = /(dfs\.[a-z-]+?)\.(valid|faulty|json|ndjson)/.exec(path.basename(file));
  if (!m) usage(`cannot tell the type of ${file}; pass --type`);
  return m[1];
}

// ---- schemas -------------------------------------------------------------------------------------

// Drops flowguard's "x-*" annotations (ajv's strict mode rejects unknown keywords). Property names
// under "properties" are data, not keywords, and are kept whatever they look like.
function stripAnnotations(schema) {
  if (Array.isArray(schema)) return schema.map(stripAnnotations);
  if (schema === null || typeof schema !== 'object') return schema;
  const out = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-')) continue;
    if ((k === 'properties' || k === 'patternProperties' || k === 'definitions') && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([name, sub]) => [name, stripAnnotations(sub)]));
    } else if (k === 'enum' || k === 'const' || k === 'required' || k === 'examples' || k === 'default') {
      out[k] = v;
    } else {
      out[k] = stripAnnotations(v);
    }
  }
  return out;
}

function loadSchema(dir, type) {
  const [family, name] = type.split('.');
  const file = path.join(dir, family, `${name}.schema.json`);
  return stripAnnotations(JSON.parse(fs.readFileSync(file, 'utf8')));
}

// ---- rule checks (the JS equivalent of rules/dfs) -------------------------------------------------

const LAUNCH = dayNumber(2022, 11, 1);  // DFS began in winter 2022/23
const MPAN_WEIGHTS = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43];

function isLeap(y) { return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0; }
function daysInMonth(y, m) { return m === 2 ? (isLeap(y) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]; }
function dayNumber(y, m, d) {  // days since 1970-01-01
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}
function isDigits(s, from, to) {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
function num2(s, i) { return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48; }
// dd-mm-yyyy -> day number, or undefined when it is not a date that exists.
function parseDmy(s) {
  if (s.length !== 10 || s[2] !== '-' || s[5] !== '-' || !isDigits(s, 0, 2) || !isDigits(s, 3, 5) || !isDigits(s, 6, 10)) return undefined;
  const d = num2(s, 0), m = num2(s, 3), y = num2(s, 6) * 100 + num2(s, 8);
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return dayNumber(y, m, d);
}
// The shapes the schemas' patterns accept; a value of another shape is the schema's finding.
function dmyShape(s) { return s.length === 10 && s[2] === '-' && s[5] === '-' && isDigits(s, 0, 2) && isDigits(s, 3, 5) && isDigits(s, 6, 10); }
function timeShape(s) { return s.length === 5 && s[2] === ':' && isDigits(s, 0, 2) && isDigits(s, 3, 5); }
function dateTimeShape(s) { return s.length === 16 && s[10] === ' ' && dmyShape(s.slice(0, 10)) && timeShape(s.slice(11)); }
// yyyy-mm-dd -> day number, or undefined.
function parseIso(s) {
  if (s.length !== 10 || s[4] !== '-' || s[7] !== '-' || !isDigits(s, 0, 4) || !isDigits(s, 5, 7) || !isDigits(s, 8, 10)) return undefined;
  const y = num2(s, 0) * 100 + num2(s, 2), m = num2(s, 5), d = num2(s, 8);
  if (y < 1900 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return undefined;
  return dayNumber(y, m, d);
}
// HH:MM -> minutes, or undefined.
function parseTime(s) {
  if (s.length !== 5 || s[2] !== ':' || !isDigits(s, 0, 2) || !isDigits(s, 3, 5)) return undefined;
  const h = num2(s, 0), m = num2(s, 3);
  return h <= 23 && m <= 59 ? h * 60 + m : undefined;
}
function mpanOk(s) {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (s.charCodeAt(i) - 48) * MPAN_WEIGHTS[i];
  return sum % 11 % 10 === s.charCodeAt(12) - 48;
}
const isStr = (v) => typeof v === 'string';
const isNum = (v) => typeof v === 'number';
const isInt = (v) => Number.isInteger(v);
const ALL = ['dfs.*'];
const DMY_TYPES = ['dfs.unit-meter-point-schedule', 'dfs.bid-submission', 'dfs.weekly-settlement', 'dfs.mpan-forecast',
  'dfs.mpan-portfolio', 'dfs.bid-results', 'dfs.absvd-domestic', 'dfs.absvd-non-domestic'];

// Field checks skip what the schema already reports (wrong type, wrong shape), as flowguard does.
const RECORD_RULES = [
  { id: 'DFS-MPAN-CHECK-DIGIT', types: ALL, fields: ['Import MPAN', 'Export MPAN', 'MPAN', 'Import Mpan', 'Export Mpan'],
    check: (v) => !(isStr(v) && v.length === 13 && isDigits(v, 0, 13)) || mpanOk(v) ? null : `MPAN ${v}: wrong check digit` },
  { id: 'DFS-DATE-DMY', types: DMY_TYPES,
    fields: ['Submission Date', 'Delivery Date', 'MPANs Effective From', 'MPANs Effective To', 'Consent Effective From', 'Consent Effective To'],
    check: (v) => !isStr(v) || !dmyShape(v) || parseDmy(v) !== undefined ? null : `${v} is not a date that exists` },
  { id: 'DFS-TIME-HHMM', types: ALL, fields: ['From_Local', 'To_Local', 'From_UTC', 'To_UTC'],
    check: (v) => !isStr(v) || !timeShape(v) || parseTime(v) !== undefined ? null : `${v} is not a time in HH:MM` },
  { id: 'DFS-HALF-HOUR', types: ALL, fields: ['From_Local', 'To_Local', 'From_UTC', 'To_UTC'],
    check: (v) => { const t = isStr(v) ? parseTime(v) : undefined; return t === undefined || t % 30 === 0 ? null : `${v} is not on a half hour`; } },
  { id: 'DFS-DATETIME', types: ALL,
    fields: ['Timestamp Subscribed', 'ConflictStart_local', 'ConflictEnd_local', 'ConflictStart_UTC', 'ConflictEnd_UTC'],
    check: (v) => !isStr(v) || !dateTimeShape(v) ||
      (parseDmy(v.slice(0, 10)) !== undefined && parseTime(v.slice(11)) !== undefined) ? null : `${v} is not a date-time that exists` },
  { id: 'DFS-ZONE-SUFFIX', types: ['dfs.unit-meter-point-schedule', 'dfs.mpan-portfolio'],
    record: (r, add) => {
      const unit = r['DFS Unit ID'], zone = r.Zone;
      if (!isStr(unit) || !isInt(zone)) return;
      const m = /-[Zz](\d+)$/.exec(unit);
      if (m && +m[1] !== zone) add('DFS Unit ID', `DFS Unit ID ${unit} ends in zone ${m[1]} but Zone is ${zone}`);
    } },
  { id: 'DFS-DELIVERED-KWH', types: ['dfs.weekly-settlement'],
    record: (r, add) => {
      if (r['Event Type'] !== 'Upwards') return;
      const b = r['Baseline kWh'], m = r['Metered kWh'], d = r['Delivered kWh'];
      if (!isNum(b) || !isNum(m) || !isNum(d)) return;
      if (Math.abs(d - (b - m)) > 0.01 + 1e-9) add('Delivered kWh', `Delivered kWh ${d} is not Baseline kWh ${b} minus Metered kWh ${m}`);
    } },
  { id: 'DFS-DATE-TOO-EARLY', types: ALL,
    record: (r, add) => {
      for (const key of ['Submission Date', 'Delivery Date']) {
        const v = r[key];
        const day = isStr(v) ? parseDmy(v) : undefined;
        if (day !== undefined && day < LAUNCH) add(key, `${key} ${v} is before DFS began`);
      }
    } },
  { id: 'DFS-VOLUME-POSITIVE', types: ['dfs.bid-submission'],
    record: (r, add) => { const v = r['DFS Volume MW']; if (isNum(v) && v <= 0) add('DFS Volume MW', `DFS Volume MW is ${v}`); } },
  { id: 'DFS-WINDOW-ORDER', types: ALL,
    record: (r, add) => {
      for (const [fk, tk] of [['From_Local', 'To_Local'], ['From_UTC', 'To_UTC']]) {
        const f = r[fk], t = r[tk];
        if (!isStr(f) || !isStr(t)) continue;
        const from = parseTime(f);
        let to = parseTime(t);
        if (to === 0) to = 1440;  // "00:00" as an end is midnight at the end of the day
        if (from !== undefined && to !== undefined && to <= from) add(tk, `${tk} ${t} is not after ${fk} ${f}`);
      }
    } },
  { id: 'DFS-EFFECTIVE-ORDER', types: ['dfs.unit-meter-point-schedule', 'dfs.mpan-portfolio'],
    record: (r, add) => {
      for (const [fk, tk] of [['MPANs Effective From', 'MPANs Effective To'], ['Consent Effective From', 'Consent Effective To']]) {
        const f = r[fk], t = r[tk];
        if (!isStr(f) || !isStr(t)) continue;
        const from = parseDmy(f), to = parseDmy(t);
        if (from !== undefined && to !== undefined && to < from) add(tk, `${tk} ${t} is before ${fk} ${f}`);
      }
    } },
];

// Key-order independent fingerprint of a (flat) record, like flowguard's rec:fingerprint(): the
// record as JSON with its keys in a canonical order (the first record's order, then any other keys
// sorted). Records that already have that order (nearly all: one producer writes them) take
// JSON.stringify's fast path; sorting every record's keys would cost ~5x more.
function makeFingerprint() {
  let ref = null;
  return function fingerprint(rec) {
    const keys = Object.keys(rec);
    if (ref === null) ref = keys;
    if (keys.length === ref.length) {
      let same = true;
      for (let i = 0; i < keys.length && same; i++) same = keys[i] === ref[i];
      if (same) return JSON.stringify(rec);
    }
    const inRef = new Set(ref);
    const order = ref.filter((k) => Object.prototype.hasOwnProperty.call(rec, k))
      .concat(keys.filter((k) => !inRef.has(k)).sort());
    return '{' + order.map((k) => JSON.stringify(k) + ':' + JSON.stringify(rec[k])).join(',') + '}';
  };
}

const DOCUMENT_RULES = [
  { id: 'DFS-DUPLICATE-RECORD', types: ALL,
    start: () => ({ seen: new Map(), fingerprint: makeFingerprint() }),
    record: (st, r, i, add) => {
      const fp = st.fingerprint(r);
      const first = st.seen.get(fp);
      if (first !== undefined) add(i, null, `record ${i + 1} repeats record ${first + 1}`);
      else st.seen.set(fp, i);
    } },
  { id: 'DFS-EVENT-CONSISTENT', types: ['dfs.bid-submission', 'dfs.weekly-settlement', 'dfs.bid-results', 'dfs.settlement-report',
    'dfs.absvd-domestic', 'dfs.absvd-non-domestic'],
    // Compares well-formed values only (event types as text, dates as days); malformed ones are
    // the schema's or the format checks' findings.
    start: () => new Map(),
    record: (first, r, i, add) => {
      const idKey = r.EventID !== undefined ? 'EventID' : 'Event ID';
      const typeKey = idKey === 'EventID' ? 'EventType' : 'Event Type';
      const id = r[idKey];
      if (!isInt(id)) return;
      let f = first.get(id);
      if (!f) first.set(id, f = {});
      const t = r[typeKey];
      if (t === 'Upwards' || t === 'Downwards') {
        if (!f.type) f.type = { v: t, i };
        else if (f.type.v !== t) add(i, typeKey, `${typeKey} is ${t} but record ${f.type.i + 1} of the same ${idKey} ${id} has ${f.type.v}`);
      }
      const d = r['Delivery Date'];
      const day = isStr(d) ? (parseDmy(d) ?? parseIso(d)) : undefined;
      if (day !== undefined) {
        if (!f.date) f.date = { v: d, i, day };
        else if (f.date.day !== day) add(i, 'Delivery Date', `Delivery Date is ${d} but record ${f.date.i + 1} of the same ${idKey} ${id} has ${f.date.v}`);
      }
    } },
  { id: 'DFS-PARTICIPANT-CONSISTENT', types: ALL,
    start: () => ({ first: undefined, index: 0 }),
    record: (st, r, i, add) => {
      const p = r['Registered DFS Participant'];
      if (!isStr(p) || p === '') return;
      if (st.first === undefined) { st.first = p; st.index = i; } else if (p !== st.first) add(i, 'Registered DFS Participant', `participant differs from record ${st.index + 1}`);
    } },
];

const DECIMAL_LIMITS = [
  { types: ['dfs.weekly-settlement', 'dfs.mpan-forecast'], fields: ['Baseline kWh', 'Metered kWh', 'Delivered kWh'], places: 2 },
  { types: ['dfs.weekly-settlement', 'dfs.bid-submission'], fields: ['Accepted Utilisation Price GBP per MWh', 'Utilisation price GBP per MWh'], places: 1 },
  { types: ['dfs.bid-submission'], fields: ['DFS Volume MW'], places: 1 },
];

function applies(types, type) {
  return types.some((t) => t === type || (t.endsWith('.*') && type.startsWith(t.slice(0, -1))));
}

function escapeRegExp(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }

// The checks for one type, selected once (as flowguard selects the rules that apply to a type).
function makeChecker(type) {
  const fieldRules = RECORD_RULES.filter((r) => r.fields && applies(r.types, type));
  const recordRules = RECORD_RULES.filter((r) => r.record && applies(r.types, type));
  const documentRules = DOCUMENT_RULES.filter((r) => applies(r.types, type));
  // Decimal places are counted in the source text (JSON.parse turns 1.10 into 1.1): one scan of the
  // text for the limited keys, "key": number.
  const limits = new Map();
  for (const d of DECIMAL_LIMITS) if (applies(d.types, type)) for (const f of d.fields) limits.set(f, d.places);
  const decimalsRe = limits.size
    ? new RegExp(`"(${[...limits.keys()].map(escapeRegExp).join('|')})"\\s*:\\s*-?\\d+(?:\\.(\\d+))?`, 'g') : null;

  // One document: record(rec, i) for each record in order, then text(source) for the decimal scan.
  return function begin(findings) {
    const state = documentRules.map((r) => r.start());
    return {
      record(rec, i) {
        if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) return;
        for (const rule of fieldRules) {
          for (const field of rule.fields) {
            const v = rec[field];
            if (v === undefined || v === '') continue;
            const problem = rule.check(v);
            if (problem) findings.push({ rule: rule.id, record: i, field, message: problem });
          }
        }
        for (const rule of recordRules) rule.record(rec, (field, message) => findings.push({ rule: rule.id, record: i, field, message }));
        for (let d = 0; d < documentRules.length; d++) {
          const rule = documentRules[d];
          rule.record(state[d], rec, i, (index, field, message) => findings.push({ rule: rule.id, record: index, field, message }));
        }
      },
      text(source) {
        if (!decimalsRe) return;
        decimalsRe.lastIndex = 0;
        let m;
        while ((m = decimalsRe.exec(source)) !== null) {
          if (m[2] && m[2].length > limits.get(m[1])) {
            findings.push({ rule: 'DFS-DECIMALS', offset: m.index, field: m[1],
                            message: `${m[1]} has ${m[2].length} decimal places; expected at most ${limits.get(m[1])}` });
          }
        }
      },
    };
  };
}

// ---- measurement ---------------------------------------------------------------------------------

function median(xs) { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

function benchFile(opts, file) {
  const type = typeOf(file, opts.type);
  const ajv = new Ajv({ strict: true, allErrors: true });
  const validate = ajv.compile(loadSchema(opts.schemas, type));
  const check = opts.schemaOnly ? null : makeChecker(type);
  const text = fs.readFileSync(file, 'utf8');

  let records = 0, schemaFindings = 0, ruleFindings = 0, byRule = null;
  const once = () => {
    const data = JSON.parse(text);
    schemaFindings = validate(data) ? 0 : validate.errors.length;
    records = Array.isArray(data) ? data.length : 1;
    if (check) {
      const findings = [];
      const doc = check(findings);
      if (Array.isArray(data)) for (let i = 0; i < data.length; i++) doc.record(data[i], i);
      else doc.record(data, 0);
      doc.text(text);
      ruleFindings = findings.length;
      if (opts.byRule) {
        byRule = {};
        for (const e of validate.errors || []) byRule[`schema.${e.keyword}`] = (byRule[`schema.${e.keyword}`] || 0) + 1;
        for (const f of findings) byRule[f.rule] = (byRule[f.rule] || 0) + 1;
      }
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
  return { tool: 'ajv', mode: opts.schemaOnly ? 'schema' : 'schema+rules', type, file, records, bytes,
           iterations: opts.iterations, median_s: med, mean_s: times.reduce((a, b) => a + b, 0) / times.length,
           min_s: Math.min(...times), records_per_s: records / med, mb_per_s: bytes / 1e6 / med,
           findings: schemaFindings + ruleFindings, schema_findings: schemaFindings, rule_findings: ruleFindings,
           ...(byRule ? { by_rule: byRule } : {}) };
}

// NDJSON: one pass, streamed; each line is one record, validated against the schema's "items".
async function benchNdjson(opts, file) {
  const type = typeOf(file, opts.type);
  const ajv = new Ajv({ strict: true, allErrors: true });
  const schema = loadSchema(opts.schemas, type);
  const validate = ajv.compile(schema.items || schema);
  const check = opts.schemaOnly ? null : makeChecker(type);
  const t0 = process.hrtime.bigint();
  let records = 0, schemaFindings = 0, ruleFindings = 0, bytes = 0, peakRss = 0;
  const findings = [];
  const doc = check ? check(findings) : null;  // the whole file is one document
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    bytes += line.length + 1;
    if (line.length === 0) continue;
    const rec = JSON.parse(line);
    if (!validate(rec)) schemaFindings += validate.errors.length;
    if (doc) {
      doc.record(rec, records);
      doc.text(line);
      ruleFindings += findings.length;
      findings.length = 0;
    }
    if (++records % 65536 === 0) peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { tool: 'ajv', mode: (opts.schemaOnly ? 'schema' : 'schema+rules') + ',ndjson', type, file, records, bytes,
           iterations: 1, median_s: s, records_per_s: records / s, mb_per_s: bytes / 1e6 / s, peak_rss_mb: peakRss / 1e6,
           findings: schemaFindings + ruleFindings, schema_findings: schemaFindings, rule_findings: ruleFindings };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  let status = 0;
  for (const file of opts.files) {
    try {
      const result = opts.ndjson ? await benchNdjson(opts, file) : benchFile(opts, file);
      process.stdout.write(JSON.stringify(result) + '\n');
    } catch (e) {
      process.stderr.write(`bench.js: ${file}: ${e.message || e}\n`);
      process.stdout.write(JSON.stringify({ tool: 'ajv', mode: opts.schemaOnly ? 'schema' : 'schema+rules', file, error: String(e.message || e) }) + '\n');
      status = 1;
    }
  }
  process.exitCode = status;
}

main();
