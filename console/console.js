// raftq console: reads /api/v1 of the node that served it (which sends
// leader-only requests on to the leader) and drives resets through the
// same API. No framework, nothing fetched from elsewhere.
'use strict';

const $ = (id) => document.getElementById(id);
const state = { group: null, describe: null, topics: {}, previewBody: null };

// ---- HTTP ----

function token() { return sessionStorage.getItem('raftq-token'); }

async function api(method, path, body) {
  const headers = {};
  if (token()) headers.Authorization = 'Bearer ' + token();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status === 403 && !token()) $('token-box').hidden = false;
  if (!res.ok) {
    const err = new Error((json.error_code || res.status) + ': ' + (json.error_msg || res.statusText));
    err.status = res.status;
    throw err;
  }
  return json;
}

// ---- Small DOM helpers ----

function cell(text, cls) {
  const td = document.createElement('td');
  td.textContent = text === null || text === undefined ? '-' : String(text);
  if (cls) td.className = cls;
  return td;
}

function row(tbody, cells, data) {
  const tr = document.createElement('tr');
  cells.forEach((c) => tr.appendChild(c instanceof Node ? c : cell(c)));
  Object.assign(tr.dataset, data || {});
  tbody.appendChild(tr);
  return tr;
}

function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

function fmtTime(ms) { return ms > 0 ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-'; }

function status(text, isError) {
  const s = $('reset-status');
  s.textContent = text;
  s.className = isError ? 'error' : '';
}

// ---- Cluster, topics, groups ----

async function loadCluster() {
  const c = await api('GET', '/api/v1/cluster');
  const tb = $('nodes').tBodies[0];
  clear(tb);
  c.nodes.forEach((n) => row(tb, [n.id, n.name, n.listen, n.role, n.term, n.applied_index]));
  const leader = c.nodes.find((n) => n.id === c.leader_id);
  $('cluster-line').textContent = leader
    ? `${c.nodes.length} nodes, leader ${leader.name}`
    : `${c.nodes.length} nodes, no leader right now`;
}

async function loadTopics() {
  const list = await api('GET', '/api/v1/topics');
  const tb = $('topics').tBodies[0];
  clear(tb);
  for (const name of list.topics) {
    const t = await api('GET', '/api/v1/topics/' + encodeURIComponent(name));
    state.topics[name] = t;
    const msgs = t.queues.reduce((a, q) => a + (q.max_offset - q.min_offset), 0);
    const last = Math.max(0, ...t.queues.map((q) => q.last_store_time));
    row(tb, [name, t.queues.length, cell(msgs, 'num'), fmtTime(last)]);
  }
}

async function loadGroups() {
  const list = await api('GET', '/api/v1/groups');
  const ul = $('groups');
  clear(ul);
  for (const g of list.groups) {
    const li = document.createElement('li');
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = g;
    b.dataset.group = g;
    b.setAttribute('aria-pressed', String(g === state.group));
    b.addEventListener('click', () => showGroup(g));
    li.appendChild(b);
    ul.appendChild(li);
  }
}

function lagTable(t) {
  const table = document.createElement('table');
  table.className = 'lag';
  const cap = table.createCaption();
  cap.textContent = `Topic ${t.topic} (epoch ${t.epoch})`;
  const head = table.createTHead().insertRow();
  ['Broker', 'Queue', 'Consumer offset', 'Max offset', 'Lag'].forEach((h) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.appendChild(th);
  });
  const tb = table.createTBody();
  t.queues.forEach((q) => row(tb, [q.broker_name, q.queue_id,
    cell(q.consumer_offset, 'num consumer-offset'), cell(q.max_offset, 'num'),
    cell(q.lag, 'num')], { topic: t.topic, broker: q.broker_name, queue: String(q.queue_id) }));
  return table;
}

async function showGroup(g) {
  state.group = g;
  const d = await api('GET', '/api/v1/groups/' + encodeURIComponent(g));
  state.describe = d;
  $('group-view').hidden = false;
  $('group-name').textContent = g;
  $('group-mode').textContent = `(${d.mode})`;
  $('group-members').textContent = `${d.members.length} online member(s)`;
  const box = $('group-topics');
  clear(box);
  d.topics.forEach((t) => box.appendChild(lagTable(t)));
  document.querySelectorAll('#groups button').forEach((b) =>
    b.setAttribute('aria-pressed', String(b.dataset.group === g)));
  await loadHistory(d);
  $('group-view').dataset.loaded = String(Date.now());
}

async function loadHistory(d) {
  const tb = $('history').tBodies[0];
  clear(tb);
  const all = [];
  for (const t of d.topics) {
    const h = await api('GET', `/api/v1/groups/${encodeURIComponent(d.group)}/history?topic=${encodeURIComponent(t.topic)}`);
    all.push(...h.resets);
  }
  all.sort((a, b) => b.reset_id - a.reset_id);
  for (const r of all) {
    const undo = document.createElement('button');
    undo.type = 'button';
    undo.textContent = 'Undo';
    undo.setAttribute('aria-label', `Undo reset ${r.reset_id}`);
    undo.addEventListener('click', () => undoReset(r.reset_id));
    const td = document.createElement('td');
    td.appendChild(undo);
    row(tb, [r.reset_id, fmtTime(r.time), r.topic, r.target, r.requester, r.queues.length, td]);
  }
}

async function undoReset(id) {
  if (!window.confirm(`Undo reset ${id}? The group's offsets go back to where they were before it.`)) return;
  try {
    await api('POST', `/api/v1/resets/${id}/undo`);
    await showGroup(state.group);
  } catch (e) {
    window.alert(e.message);
  }
}

// ---- The reset dialog ----

function tzOptions() {
  const sel = $('reset-tz');
  const local = -new Date().getTimezoneOffset();
  const opts = [['local', `Browser time zone (${offsetText(local)})`], ['+00:00', 'UTC']];
  for (let m = -12 * 60; m <= 14 * 60; m += 30) if (m !== 0) opts.push([offsetText(m), 'UTC' + offsetText(m)]);
  opts.forEach(([v, label]) => {
    const o = document.createElement('option');
    o.value = v;
    o.textContent = label;
    sel.appendChild(o);
  });
}

function offsetText(min) {
  const s = min < 0 ? '-' : '+';
  const a = Math.abs(min);
  return s + String(Math.floor(a / 60)).padStart(2, '0') + ':' + String(a % 60).padStart(2, '0');
}

// Minutes east of UTC for the chosen zone (at @ms for the browser's own).
function zoneMinutes(ms) {
  const v = $('reset-tz').value;
  if (v === 'local') return -new Date(ms).getTimezoneOffset();
  const m = /^([+-])(\d\d):(\d\d)$/.exec(v);
  return (m[1] === '-' ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3]));
}

// "YYYY-MM-DDTHH:MM[:SS]" in the chosen zone -> epoch ms (NaN if bad).
function pickedMs() {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d))?$/.exec($('reset-time').value);
  if (!m) return NaN;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  let ms = wall - zoneMinutes(wall) * 60000;
  ms = wall - zoneMinutes(ms) * 60000; // the browser zone's offset at that time
  return ms;
}

function wallText(ms) {
  return new Date(ms + zoneMinutes(ms) * 60000).toISOString().slice(0, 19);
}

function selectedTopics() {
  return Array.from($('reset-topic').selectedOptions).map((o) => o.value);
}

// The time picker's range: the first and last message stored in the
// chosen topics (the ApsaraMQ console's rule).
function timeRange() {
  let lo = Infinity;
  let hi = 0;
  for (const t of selectedTopics()) {
    for (const q of (state.topics[t] || { queues: [] }).queues) {
      if (q.first_store_time > 0) lo = Math.min(lo, q.first_store_time);
      hi = Math.max(hi, q.last_store_time);
    }
  }
  const input = $('reset-time');
  if (hi === 0) {
    input.removeAttribute('min');
    input.removeAttribute('max');
    $('time-range').textContent = 'The topics hold no message yet.';
    return;
  }
  lo = Math.floor(lo / 1000) * 1000;
  input.min = wallText(lo);
  input.max = wallText(Math.ceil(hi / 1000) * 1000);
  $('time-range').textContent = `Messages from ${input.min.replace('T', ' ')} to ${input.max.replace('T', ' ')} in this time zone.`;
}

function method() { return document.querySelector('input[name="method"]:checked').value; }

function methodChanged() {
  $('time-fields').hidden = method() !== 'time';
  $('offset-fields').hidden = method() !== 'offset';
  resetPreview();
  if (method() === 'time') timeRange();
}

function resetPreview() {
  state.previewBody = null;
  $('reset-confirm').disabled = true;
  $('reset-preview-table').hidden = true;
}

// The request body for the dialog's choices, or null after saying why.
function resetBody() {
  const topics = selectedTopics();
  if (topics.length === 0) { status('Choose at least one topic.', true); return null; }
  const body = topics.length === 1 ? { topic: topics[0] } : { topics };
  const m = method();
  body.target = m;
  if (m === 'time') {
    const input = $('reset-time');
    const ms = pickedMs();
    if (Number.isNaN(ms)) { status('Give a date and time.', true); return null; }
    if (!input.checkValidity()) { status('The time must lie between the first and the last message: ' + $('time-range').textContent, true); return null; }
    body.value = ms;
  } else if (m === 'offset') {
    const v = $('reset-offset').value;
    if (!/^\d+$/.test(v)) { status('Give an offset (a whole number, 0 or more).', true); return null; }
    body.value = Number(v);
  }
  return body;
}

// [{topic, queues}] from a reset answer (one topic or several).
function resultTopics(r, body) {
  return r.topics ? r.topics : [{ topic: body.topic, queues: r.queues }];
}

async function preview() {
  const body = resetBody();
  if (!body) return;
  status('Previewing…');
  try {
    const current = await api('GET', '/api/v1/groups/' + encodeURIComponent(state.group));
    const r = await api('POST', `/api/v1/groups/${encodeURIComponent(state.group)}/reset`, { ...body, dry_run: true });
    const before = {};
    current.topics.forEach((t) => t.queues.forEach((q) => { before[`${t.topic}/${q.broker_name}/${q.queue_id}`] = q.consumer_offset; }));
    const tb = $('reset-preview-table').tBodies[0];
    clear(tb);
    for (const t of resultTopics(r, body)) {
      for (const q of t.queues) {
        const prev = before[`${t.topic}/${q.broker_name}/${q.queue_id}`];
        row(tb, [t.topic, q.broker_name, q.queue_id, cell(prev, 'num'),
          cell(q.timestamp_offset, prev === q.timestamp_offset ? 'num' : 'num changed')]);
      }
    }
    $('reset-preview-table').hidden = false;
    state.previewBody = body;
    $('reset-confirm').disabled = false;
    status('Preview ready: nothing has changed yet. Confirm to apply.');
  } catch (e) {
    status(e.message, true);
  }
}

async function confirmReset() {
  const body = state.previewBody;
  if (!body) return;
  $('reset-confirm').disabled = true;
  status('Resetting…');
  try {
    const r = await api('POST', `/api/v1/groups/${encodeURIComponent(state.group)}/reset`, body);
    const tb = $('reset-result-table').tBodies[0];
    clear(tb);
    for (const t of resultTopics(r, body)) {
      for (const q of t.queues) {
        row(tb, [t.topic, q.broker_name, q.queue_id, cell(q.timestamp_offset, 'num')],
          { topic: t.topic, broker: q.broker_name, queue: String(q.queue_id), offset: String(q.timestamp_offset) });
      }
    }
    $('reset-result-table').hidden = false;
    $('reset-preview-table').hidden = true;
    status(`Reset ${r.reset_id} applied.`);
    state.previewBody = null;
    await showGroup(state.group);
  } catch (e) {
    status(e.message, true);
    $('reset-confirm').disabled = false;
  }
}

function openDialog() {
  const sel = $('reset-topic');
  clear(sel);
  const names = state.describe.topics.map((t) => t.topic);
  Object.keys(state.topics).forEach((t) => { if (!names.includes(t)) names.push(t); });
  names.forEach((t, i) => {
    const o = document.createElement('option');
    o.value = t;
    o.textContent = t;
    o.selected = i === 0;
    sel.appendChild(o);
  });
  $('reset-group').textContent = state.group;
  $('reset-result-table').hidden = true;
  status('');
  resetPreview();
  methodChanged();
  $('reset-dialog').showModal();
  sel.focus();
}

// ---- Start ----

async function refresh() {
  try {
    await loadCluster();
    await loadTopics();
    await loadGroups();
    if (state.group) await showGroup(state.group);
    document.body.dataset.ready = 'true';
  } catch (e) {
    $('cluster-line').textContent = e.message;
    $('cluster-line').className = 'error';
  }
}

function init() {
  tzOptions();
  $('token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    sessionStorage.setItem('raftq-token', $('token-input').value);
    $('token-box').hidden = true;
    refresh();
  });
  $('reset-open').addEventListener('click', openDialog);
  $('reset-cancel').addEventListener('click', () => $('reset-dialog').close());
  $('reset-preview').addEventListener('click', preview);
  $('reset-confirm').addEventListener('click', confirmReset);
  document.querySelectorAll('input[name="method"]').forEach((r) => r.addEventListener('change', methodChanged));
  ['reset-topic', 'reset-tz'].forEach((id) => $(id).addEventListener('change', () => { resetPreview(); if (method() === 'time') timeRange(); }));
  ['reset-time', 'reset-offset'].forEach((id) => $(id).addEventListener('input', resetPreview));
  refresh();
}

init();
