#!/usr/bin/env node
// The baseline of bench/server/run.sh: the DIP validation server a user would write without
// flowguard, fastify 5 + ajv 8 over the same generated DIP schemas (schemas/dip/index.json, 146
// variants), compiled the way bench/ajv/bench-dip.js compiles them (draft-07, allErrors,
// strict: false; without ajv-formats ajv ignores "format"). Schema only: ajv has no DIP rules.
//
//   node server.js [--port P] [--workers N] [--body-limit BYTES] [--schemas DIR]
//
//   POST /v1/validate/:interface/:event   body: a DIPMessageArray, [{"payload": message}, ...]
//        :event is the eventCode without its brackets (InitialRegistration), as flowguard serve
//        takes it; "[InitialRegistration]" (percent-encoded or not) is accepted too.
//        Every item's payload is validated with the variant the path names, and its
//        CommonBlock.S0 interfaceID/eventCode must name that variant too.
//        201 {"messageArray":[...], "timestamp"}: every message passed (message "MSG0000 - Success")
//        400 the same shape, all or nothing like the DIP's level-1 validation: each failing message
//            has its first ajv error in "message" and all of them in "errors"; the others are
//            "MSG0001 - Not accepted: ...". A body that is not a DIPMessageArray is a 400 too.
//        404 unknown interface/event; 413 body over the limit; 415 not application/json.
//   GET /readyz   200 {"status":"ready","variants":146} once every schema is compiled.
//
// Listens on 127.0.0.1 only. Port: --port, else $PORT, else 0 (ephemeral; the bound port is printed
// on stdout as {"listening":"127.0.0.1:PORT"}). Node runs JavaScript on one thread: --workers N
// (node:cluster, N processes sharing the listening socket; each compiles the schemas) lets the
// comparison be at equal cores. Default 1 = this process alone. Logging off (fastify's default).
'use strict';

const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');

function parseArgs(argv) {
  const o = {
    port: process.env.PORT !== undefined ? parseInt(process.env.PORT, 10) : 0,
    workers: 1,
    bodyLimit: 16 * 1024 * 1024,
    schemas: path.join(__dirname, '..', '..', '..', 'schemas'),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => { if (i + 1 >= argv.length) usage(`${a} needs a value`); return argv[++i]; };
    if (a === '--port') o.port = parseInt(value(), 10);
    else if (a === '--workers') o.workers = Math.max(1, parseInt(value(), 10));
    else if (a === '--body-limit') o.bodyLimit = Math.max(1, parseInt(value(), 10));
    else if (a === '--schemas') o.schemas = value();
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) usage('--port must be 0..65535');
  return o;
}

function usage(problem) {
  const text = 'usage: node server.js [--port P] [--workers N] [--body-limit BYTES] [--schemas DIR]\n';
  if (problem) { process.stderr.write(`server.js: ${problem}\n${text}`); process.exit(2); }
  process.stdout.write(text);
  process.exit(0);
}

// The same loading as bench/ajv/bench-dip.js: every variant of index.json compiled once.
// Key "IF-001 [InitialRegistration]" -> validate function.
function compileAll(schemasDir) {
  const Ajv = require('ajv');
  const dir = path.join(schemasDir, 'dip');
  const index = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8'));
  const ajv = new Ajv({ strict: false, allErrors: true, logger: false });
  const validators = new Map();
  for (const v of index.variants) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, v.schema), 'utf8'));
    validators.set(`${v.interface} ${v.eventCode}`, ajv.compile(schema));
  }
  return validators;
}

// The StandardResponse fields, filled the way flowguard's --format dip fills them
// (core/engine/report.cpp): a value that does not fit its DIP data type is null.
const fit = (v, min, max) => (typeof v === 'string' && v.length >= min && v.length <= max ? v : null);
const clip = (s, max) => (s.length <= max ? s : s.slice(0, max - 3) + '...');

function responseItem(msg, now, message, help) {
  const cb = msg && typeof msg === 'object' ? msg.CommonBlock : undefined;
  const s1 = cb && typeof cb === 'object' && cb.S1 && typeof cb.S1 === 'object' ? cb.S1 : {};
  const sur = fit(s1.senderUniqueReference, 1, 200);
  const ts = fit(s1.senderTimestamp, 25, 25);
  return {
    transactionID: null,
    senderUniqueReference: sur && sur.startsWith('S-') ? sur : null,
    correlationID: fit(s1.senderCorrelationID, 1, 60),
    sentTimestamp: ts || now,
    senderID: '0000000000',
    recipientID: fit(s1.senderDIPID, 10, 10),
    DIPConnectionProviderID: fit(s1.DIPConnectionProviderID, 10, 10),
    message,
    help,
    serviceTicketURL: null,
  };
}

function nowText() {
  // yyyy-mm-ddThh:mm:ss+00:00, 25 characters (DT-003-DateTime).
  return new Date().toISOString().slice(0, 19) + '+00:00';
}

function ajvMessage(e) {
  return clip(`${e.keyword} - ${e.instancePath || '/'} ${e.message}`, 200);
}

async function startServer(opts) {
  const validators = compileAll(opts.schemas);
  const fastify = require('fastify')({ logger: false, bodyLimit: opts.bodyLimit });

  fastify.get('/readyz', async () => ({ status: 'ready', variants: validators.size }));

  fastify.post('/v1/validate/:interface/:event', async (request, reply) => {
    const iface = request.params.interface;
    let event = request.params.event;
    if (!(event.startsWith('[') && event.endsWith(']'))) event = `[${event}]`;
    const validate = validators.get(`${iface} ${event}`);
    if (!validate) {
      return reply.code(404).send({ error: 'unknown variant', interface: iface, eventCode: event });
    }
    const now = nowText();
    const body = request.body;
    if (!Array.isArray(body) || body.length === 0) {
      return reply.code(400).send({
        messageArray: [responseItem(null, now, 'MSG1001 - the body is not a DIPMessageArray (a non-empty array of {"payload": message})', null)],
        timestamp: now,
      });
    }
    const results = new Array(body.length);
    let failed = 0;
    for (let i = 0; i < body.length; i++) {
      const item = body[i];
      const msg = item && typeof item === 'object' && !Array.isArray(item) ? item.payload : undefined;
      if (msg === undefined || msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        results[i] = { msg, errors: [{ instancePath: `/${i}`, keyword: 'required', message: 'an item of a DIPMessageArray needs an object "payload"' }] };
        failed++;
        continue;
      }
      const s0 = msg.CommonBlock && msg.CommonBlock.S0;
      if (!s0 || s0.interfaceID !== iface || s0.eventCode !== event) {
        results[i] = { msg, errors: [{ instancePath: '/CommonBlock/S0', keyword: 'variant',
          message: `interfaceID/eventCode ${s0 ? `${s0.interfaceID} ${s0.eventCode}` : '(none)'} do not match the path ${iface} ${event}` }] };
        failed++;
        continue;
      }
      if (validate(msg)) results[i] = { msg, errors: null };
      else { results[i] = { msg, errors: validate.errors }; failed++; }
    }
    const messageArray = results.map(({ msg, errors }) => {
      if (errors) {
        const item = responseItem(msg, now, ajvMessage(errors[0]), clip(`ajv ${errors.length} error(s); first at ${errors[0].instancePath || '/'}`, 500));
        item.errors = errors;
        return item;
      }
      return responseItem(msg, now, failed ? 'MSG0001 - Not accepted: another message in this submission failed validation' : 'MSG0000 - Success', null);
    });
    return reply.code(failed ? 400 : 201).send({ messageArray, timestamp: now });
  });

  fastify.setErrorHandler((err, request, reply) => {
    // Body parser errors (not JSON, too large, wrong content type) arrive here with their status.
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    reply.code(status).send({ error: err.code || 'error', message: err.message });
  });

  const address = await fastify.listen({ host: '127.0.0.1', port: opts.port });
  return { fastify, address };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.workers > 1 && cluster.isPrimary) {
    // The primary only forks and reports; the workers share the listening socket (round robin).
    let ready = 0;
    const workers = [];
    for (let i = 0; i < opts.workers; i++) {
      const w = cluster.fork({ FG_BENCH_WORKER: String(i) });
      workers.push(w);
      w.on('message', (m) => {
        if (m && m.listening && ++ready === opts.workers) {
          process.stdout.write(JSON.stringify({ listening: m.listening, workers: opts.workers, pid: process.pid }) + '\n');
        }
      });
    }
    let stopping = false;
    const stop = () => {
      stopping = true;
      for (const w of workers) { try { w.process.kill('SIGTERM'); } catch (_) { /* already gone */ } }
      setTimeout(() => process.exit(0), 2000).unref();
    };
    cluster.on('exit', (w, code, signal) => {
      if (!stopping) {
        process.stderr.write(`server.js: worker ${w.process.pid} exited (${signal || code}); stopping\n`);
        stop();
        process.exitCode = 1;
      } else if (workers.every((x) => x.isDead())) process.exit(process.exitCode || 0);
    });
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const { fastify } = await startServer(opts);
  const addr = fastify.server.address();
  const listening = `${addr.address}:${addr.port}`;
  if (cluster.isWorker) {
    process.send({ listening });
    process.on('disconnect', () => process.exit(0));  // the primary went away
  } else {
    process.stdout.write(JSON.stringify({ listening, workers: 1, pid: process.pid }) + '\n');
  }
  const stop = () => { fastify.close().finally(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => { process.stderr.write(`server.js: ${e.stack || e}\n`); process.exit(1); });
