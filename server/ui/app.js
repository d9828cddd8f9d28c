// The checker page (docs/ui.md): sends a dropped file to POST /v1/check on this server and shows
// the report's findings beside the lines they point at. No framework and nothing from elsewhere:
// the Content-Security-Policy allows this server only. File contents and messages are only ever
// set as text (textContent), never parsed as HTML.
'use strict';

(() => {
  const $ = (id) => document.getElementById(id);
  // Beyond this many lines the source shows only the lines with findings and a little context.
  const kFullSourceLines = 5000;
  const kContext = 3;

  const state = { name: '', lines: [], rowLine: null, findings: [], file: null, sequence: 0 };

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function setStatus(text, kind) {
    const s = $('status');
    s.textContent = text;
    s.dataset.state = kind;
  }

  // Splits text into lines as the engine counts them (LF, CRLF); the last empty line is kept so
  // a finding at end of input has a line to sit on.
  function splitLines(text) {
    return text.split(/\r\n|\n|\r/);
  }

  // CSV findings name a row (the header is row 1), and a quoted cell may span lines: the line
  // each row starts on, counting newlines outside quotes only.
  function csvRowStarts(text) {
    const starts = [0, 1];  // row 1 starts on line 1
    let line = 1, quoted = false;
    for (let i = 0; i < text.length; ++i) {
      const c = text[i];
      if (c === '"') quoted = !quoted;
      else if (c === '\n' || c === '\r') {
        if (c === '\r' && text[i + 1] === '\n') ++i;
        ++line;
        if (!quoted) starts.push(line);
      }
    }
    return starts;
  }

  function isCsv(file) {
    return /\.csv$/i.test(file.name) || file.type === 'text/csv';
  }

  // The line of the file a finding sits on (0: the whole file).
  function lineOf(f) {
    if (!f.line) return 0;
    if (state.rowLine) return state.rowLine[f.line] || 0;
    return f.line;
  }

  function whereOf(f) {
    if (!f.line) return 'whole file';
    if (f.column_name) return 'row ' + f.line + ', ' + f.column_name;
    return f.column ? f.line + ':' + f.column : 'line ' + f.line;
  }

  async function check(file) {
    // A file dropped while another is being checked wins: the older answer is dropped.
    const sequence = ++state.sequence;
    const type = $('type').value.trim();
    const key = $('key').value;
    const headers = { 'Content-Type': isCsv(file) ? 'text/csv' : 'application/json' };
    if (key) headers['X-API-Key'] = key;
    setStatus('Checking ' + file.name + ' …', 'busy');
    let text;
    let res, body;
    try {
      text = await file.text();
      // The bytes as they are (not the decoded text), so the server judges what would be sent.
      res = await fetch('/v1/check' + (type ? '?type=' + encodeURIComponent(type) : ''),
                        { method: 'POST', headers, body: file, credentials: 'omit', cache: 'no-store' });
      body = await res.text();
    } catch (e) {
      setStatus('Could not reach the flowguard server: ' + e.message, 'error');
      return;
    }
    if (sequence !== state.sequence) return;
    let json = null;
    try { json = JSON.parse(body); } catch (e) { /* an answer that is not JSON is reported below */ }
    if (res.status === 401) {
      $('result').hidden = true;
      setStatus('The server needs an API key (' + (json && json.error ? json.error.message : 'unauthorised') +
                '): type it in the "API key" field and drop the file again.', 'error');
      $('key').focus();
      return;
    }
    if (res.status === 413) {
      $('result').hidden = true;
      setStatus(file.name + ' is larger than this server accepts (limits.max_body_kb); check it with `flowguard check` instead.',
                'error');
      return;
    }
    if (!json || !Array.isArray(json.files) || !json.files.length) {
      $('result').hidden = true;
      const why = json && json.error ? json.error.message : body.slice(0, 300);
      setStatus('The server answered ' + res.status + ': ' + why, 'error');
      return;
    }
    show(file, text, json.files[0], res.headers.get('X-Flowguard-Verdict'));
  }

  function show(file, text, report, verdict) {
    state.file = file;
    state.name = file.name;
    state.lines = splitLines(text);
    state.rowLine = isCsv(file) ? csvRowStarts(text) : null;
    state.findings = report.findings.slice();
    // An input the engine could not read (not JSON, bad UTF-8): its message starts "body:LINE:COL: ".
    if (report.error) {
      const m = /^body:(\d+):(\d+): (.*)$/s.exec(report.error.message);
      state.findings.unshift({ rule: 'input', severity: 'error', path: '', line: m ? +m[1] : 0, column: m ? +m[2] : 0,
                               message: m ? m[3] : report.error.message });
    }
    state.findings.forEach((f, i) => { f.index = i; });

    const summary = $('summary');
    summary.replaceChildren();
    summary.append(el('span', 'file', file.name));
    const v = verdict || (report.error ? 'input-error' : report.findings.some((f) => f.severity === 'error') ? 'fail' : 'pass');
    const badge = el('span', 'verdict ' + v, v === 'input-error' ? 'not checked' : v);
    badge.id = 'verdict';
    summary.append(badge);
    const counts = { error: 0, warning: 0, info: 0 };
    for (const f of state.findings) counts[f.severity] = (counts[f.severity] || 0) + 1;
    const what = report.type ? 'checked as ' + report.type + (report.recognised ? ' (recognised from content)' : '') : 'not checked';
    summary.append(el('span', 'what', what + ', ' + plural(report.records, 'record') + ': ' +
                                      plural(counts.error, 'error') + ', ' + plural(counts.warning, 'warning')));
    if (report.findings_not_shown)
      summary.append(el('span', 'note', plural(report.findings_not_shown, 'more finding') +
                                        ' not shown: the server keeps at most limits.max_findings per request.'));

    for (const c of document.querySelectorAll('[data-count]')) c.textContent = '(' + (counts[c.dataset.count] || 0) + ')';
    const rules = new Map();
    for (const f of state.findings) rules.set(f.rule, (rules.get(f.rule) || 0) + 1);
    const select = $('rule');
    const keep = select.value;
    select.replaceChildren(new Option('all rules', ''));
    for (const [rule, n] of [...rules].sort((a, b) => a[0].localeCompare(b[0])))
      select.append(new Option(rule + ' (' + n + ')', rule));
    select.value = rules.has(keep) ? keep : '';

    $('result').hidden = false;
    render();
    setStatus(file.name + ' checked: ' + plural(state.findings.length, 'finding') + '.', 'done');
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  function visible() {
    const severities = new Set([...document.querySelectorAll('input[name=severity]:checked')].map((c) => c.value));
    const rule = $('rule').value;
    return state.findings.filter((f) => severities.has(f.severity) && (!rule || f.rule === rule));
  }

  function render() {
    const shown = visible();
    $('shown').textContent = 'showing ' + shown.length + ' of ' + plural(state.findings.length, 'finding');
    renderList(shown);
    renderSource(shown);
  }

  function renderList(shown) {
    const list = $('findings');
    list.replaceChildren();
    if (!shown.length) {
      list.append(el('li', 'empty', state.findings.length ? 'No finding matches the filter.' : 'No findings: the file passes.'));
      return;
    }
    for (const f of shown) {
      const li = el('li', 'finding ' + f.severity);
      li.tabIndex = 0;
      li.dataset.rule = f.rule;
      li.dataset.severity = f.severity;
      li.dataset.line = String(f.line);
      const head = el('div', 'head');
      head.append(el('span', 'sev ' + f.severity, f.severity), ' ', el('span', 'rule', f.rule), ' ',
                  el('span', 'where', whereOf(f)));
      li.append(head, el('div', 'msg', f.message));
      if (f.path) li.append(el('div', 'ptr', f.path));
      const go = () => jumpTo(f);
      li.addEventListener('click', go);
      li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
      list.append(li);
    }
  }

  function worst(findings) {
    if (findings.some((f) => f.severity === 'error')) return 'error';
    if (findings.some((f) => f.severity === 'warning')) return 'warning';
    return 'info';
  }

  function renderSource(shown) {
    const source = $('source');
    source.replaceChildren();
    const byLine = new Map();
    for (const f of shown) {
      const n = lineOf(f);
      if (!byLine.has(n)) byLine.set(n, []);
      byLine.get(n).push(f);
    }
    for (const f of byLine.get(0) || []) source.append(note(f, 'whole'));
    const lines = state.lines;
    let wanted = null;  // null: every line
    if (lines.length > kFullSourceLines) {
      wanted = new Set();
      for (const n of byLine.keys())
        for (let k = Math.max(1, n - kContext); k <= Math.min(lines.length, n + kContext); ++k) wanted.add(k);
    }
    let skipped = false;
    for (let n = 1; n <= lines.length; ++n) {
      if (wanted && !wanted.has(n)) {
        if (!skipped) source.append(el('div', 'gap', '…'));
        skipped = true;
        continue;
      }
      skipped = false;
      const here = byLine.get(n) || [];
      const row = el('div', 'line' + (here.length ? ' ' + worst(here) : ''));
      row.id = 'line-' + n;
      row.append(el('span', 'ln', String(n)));
      row.append(code(lines[n - 1], state.rowLine ? [] : here.map((f) => f.column)));
      source.append(row);
      for (const f of here) source.append(note(f, 'note'));
    }
  }

  // A line's text with the characters findings point at underlined (columns count code points).
  function code(text, columns) {
    const span = el('span', 'code');
    const chars = Array.from(text);
    const marks = new Set(columns.filter((c) => c >= 1 && c <= chars.length));
    if (!marks.size) {
      span.textContent = text || ' ';
      return span;
    }
    let run = '';
    chars.forEach((ch, i) => {
      if (marks.has(i + 1)) {
        if (run) span.append(run);
        run = '';
        span.append(el('span', 'mark', ch));
      } else {
        run += ch;
      }
    });
    if (run) span.append(run);
    return span;
  }

  function note(f, cls) {
    const n = el('div', cls);
    n.dataset.finding = String(f.index);
    n.append(el('span', 'sev ' + f.severity, f.severity), el('span', 'rule', f.rule), el('span', 'msg', f.message));
    return n;
  }

  function jumpTo(f) {
    const n = lineOf(f);
    const target = n ? $('line-' + n) : $('source');
    if (!target) return;
    target.scrollIntoView({ block: 'center' });
    target.classList.add('flash');
    setTimeout(() => target.classList.remove('flash'), 1200);
  }

  function take(files) {
    if (!files || !files.length) return;
    check(files[0]);
  }

  document.addEventListener('DOMContentLoaded', () => {
    const drop = $('drop');
    // A file dropped anywhere on the page is checked, not opened by the browser in place of the page.
    document.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    document.addEventListener('dragleave', (e) => { if (!e.relatedTarget) drop.classList.remove('over'); });
    document.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      take(e.dataTransfer && e.dataTransfer.files);
    });
    $('file').addEventListener('change', (e) => { take(e.target.files); e.target.value = ''; });
    drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); } });
    $('settings').addEventListener('submit', (e) => e.preventDefault());
    $('filters').addEventListener('change', () => { if (state.file) render(); });
    // The key stays in this tab only, so a reload does not ask again and nothing outlives the tab.
    try {
      $('key').value = sessionStorage.getItem('flowguard-api-key') || '';
      $('key').addEventListener('change', () => sessionStorage.setItem('flowguard-api-key', $('key').value));
    } catch (e) { /* storage disabled: the key is typed again after a reload */ }
  });
})();
