#!/usr/bin/env node
// Sends every request of bench/out/server (make-bodies.js) once, in order, one at a time, and checks
// the status: valid/ must answer 201 and faulty/ 400, with a JSON body. bench/server/run.sh runs it
// against each server before measuring, so a server that answers wrongly is seen before its
// throughput is believed.
//
//   node bench/server/probe.js --url http://127.0.0.1:PORT [--dir DIR] [--label NAME] [--header 'Name: value']
//
// The FGREF markers of the references are replaced by a token unique to this probe (as wrk.lua does
// with unique=1). Prints one line per wrong answer; then sends some edge cases (a body whose S0
// names another variant than the path, an unknown variant, a body that is not JSON, an empty
// array, an object, a 24 MB body) and prints what each answered (only a 5xx, a dropped connection
// or a body that is not JSON counts as wrong there); then a JSON line prefixed "probejson ":
//   {"label":..,"valid":{"201":N,...},"faulty":{"400":N,...},"wrong":N,"not_json":N,"edges":{..}}
// Exit status 0 when every answer is as expected, 1 otherwise, 2 when the server cannot be reached.
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const o = { url: null, dir: path.join(__dirname, '..', 'out', 'server'), label: '', headers: {} };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--url') o.url = argv[++i];
  else if (a === '--dir') o.dir = argv[++i];
  else if (a === '--label') o.label = argv[++i];
  else if (a === '--header') { const [k, ...v] = argv[++i].split(':'); o.headers[k.trim()] = v.join(':').trim(); }
  else { process.stderr.write(`probe.js: unknown argument ${a}\n`); process.exit(2); }
}
if (!o.url) { process.stderr.write('probe.js: --url is needed\n'); process.exit(2); }
const base = new URL(o.url);
if (base.hostname !== '127.0.0.1' && base.hostname !== 'localhost') { process.stderr.write('probe.js: loopback only\n'); process.exit(2); }
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const nonce = (Date.now() % 36 ** 5).toString(36).toUpperCase().padStart(5, '0');
let counter = 0;

function post(p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: base.hostname, port: base.port, path: p, method: 'POST', agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...o.headers } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), type: res.headers['content-type'] || '' }));
    });
    req.setTimeout(30000, () => req.destroy(new Error('timeout after 30 s')));
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const manifest = JSON.parse(fs.readFileSync(path.join(o.dir, 'manifest.json'), 'utf8'));
  const result = { label: o.label, valid: {}, faulty: {}, wrong: 0, not_json: 0 };
  for (const [set, expect] of [['valid', 201], ['faulty', 400]]) {
    for (const name of manifest[set]) {
      const [p, raw] = fs.readFileSync(path.join(o.dir, name), 'utf8').split('\n');
      const body = raw.replace(/FGREF\d{11}/g, () => nonce + 'PR' + String(++counter).padStart(9, '0'));
      let r;
      try {
        r = await post(p, body);
      } catch (e) {
        process.stderr.write(`probe.js: ${name}: ${e.message}\n`);
        if (counter <= 1) process.exit(2);
        r = { status: 'error', body: String(e.message), type: '' };
      }
      result[set][r.status] = (result[set][r.status] || 0) + 1;
      let json = true;
      try { JSON.parse(r.body); } catch (_) { json = false; result.not_json++; }
      if (r.status !== expect || !json) {
        result.wrong++;
        if (result.wrong <= 20) process.stdout.write(`wrong: ${name} ${p} -> ${r.status}${json ? '' : ' (not JSON)'}: ${r.body.slice(0, 400).replace(/\n/g, ' ')}\n`);
      }
    }
  }
  // Edge cases: what each server answers is reported (result.edges), and counted wrong only when it
  // is a 5xx, a dropped connection or a body that is not JSON.
  const [p0, b0] = fs.readFileSync(path.join(o.dir, manifest.valid[0]), 'utf8').split('\n');
  const [p1] = fs.readFileSync(path.join(o.dir, manifest.valid[1]), 'utf8').split('\n');
  const fresh = (b) => b.replace(/FGREF\d{11}/g, () => nonce + 'PR' + String(++counter).padStart(9, '0'));
  const big = '[' + Array.from({ length: 12000 }, () => fresh(b0).slice(1, -1)).join(',') + ']';  // ~24 MB
  const edges = [
    ['path-mismatch', p1, fresh(b0), '400'],
    ['unknown-variant', '/v1/validate/IF-999/NoSuchEvent', fresh(b0), '404'],
    ['not-json', p0, '[{"payload": {', '400'],
    ['empty-array', p0, '[]', '400'],
    ['not-an-array', p0, '{"payload": {}}', '400'],
    ['big-body-24MB', p0, big, '413'],
  ];
  result.edges = {};
  for (const [name, p, body, expect] of edges) {
    let r;
    try { r = await post(p, body); } catch (e) { r = { status: 'error: ' + e.message, body: '', type: '' }; }
    let json = true;
    try { JSON.parse(r.body); } catch (_) { json = false; }
    result.edges[name] = String(r.status);
    const bad = typeof r.status !== 'number' || r.status >= 500 || !json;
    if (bad) result.wrong++;
    process.stdout.write(`edge: ${name} -> ${r.status} (expected about ${expect})${bad ? ' WRONG' : ''}${json ? '' : ' (not JSON)'}: ${r.body.slice(0, 300).replace(/\n/g, ' ')}\n`);
  }
  process.stdout.write('probejson ' + JSON.stringify(result) + '\n');
  agent.destroy();
  process.exitCode = result.wrong ? 1 : 0;
}

main().catch((e) => { process.stderr.write(`probe.js: ${e.stack || e}\n`); process.exit(2); });
