// mailwire's web page: plain JavaScript, no build step, no library. It
// speaks the same Mailpit-compatible API as any client: /api/v1 for the
// list, the messages and changes, /api/events for live updates.
'use strict';

const PAGE_SIZE = 50;

const state = {
  start: 0,
  query: '',
  page: null, // the last MessagesSummary shown
  selected: 0, // index of the selected row
  message: null, // the Message open in the view
  tab: 'html', // the tab shown
  preferredTab: 'html', // the tab the user last chose
  remoteAllowed: new Set(), // IDs whose remote content the user asked for
  picked: new Set(), // IDs ticked in the list for a change to several at once
  total: 0,
  unread: 0,
};

const $ = (id) => document.getElementById(id);

/// Where the page is served (`/`, or `--webroot`'s `/PREFIX/`): every API
/// path is under it.
const ROOT = location.pathname.replace(/[^/]*$/, '');

/// The URL of an API path written from the server's root (`/api/v1/…`).
const at = (path) => ROOT + path.replace(/^\//, '');

/// Calls the API; JSON answers are parsed, others returned as text.
async function api(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(at(path), init);
  const type = response.headers.get('Content-Type') || '';
  if (!response.ok) {
    const text = (await response.text()).trim();
    throw new Error(`The server refused ${method} ${path} (${response.status}): ${text}`);
  }
  return type.startsWith('application/json') ? response.json() : response.text();
}

function showError(error) {
  const box = $('error');
  if (!error) {
    box.hidden = true;
    return;
  }
  box.textContent = error.message || String(error);
  box.hidden = false;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function address(a) {
  if (!a) return '';
  return a.Name ? `${a.Name} <${a.Address}>` : a.Address;
}

function shortAddress(a) {
  if (!a) return '(nobody)';
  return a.Name || a.Address || '(nobody)';
}

function size(octets) {
  if (octets < 1024) return `${octets} B`;
  if (octets < 1024 * 1024) return `${(octets / 1024).toFixed(1)} kB`;
  return `${(octets / 1024 / 1024).toFixed(1)} MB`;
}

function when(iso) {
  const date = new Date(iso);
  const now = new Date();
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }
  return date.toLocaleDateString([], { year: 'numeric', month: 'short', day: 'numeric' });
}

// ---------------------------------------------------------------- the list

function listPath() {
  const paging = `start=${state.start}&limit=${PAGE_SIZE}`;
  if (state.query) {
    return `/api/v1/search?query=${encodeURIComponent(state.query)}&${paging}&tz=${encodeURIComponent(timeZoneOffset())}`;
  }
  return `/api/v1/messages?${paging}`;
}

function timeZoneOffset() {
  const minutes = -new Date().getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

let loading = null;
// Counts live events, so a list that was asked for before an event arrived
// (and so may not show it) is asked for again.
let eventsSeen = 0;

/// Loads the current page of the list (or of the search) and shows it.
async function loadList() {
  const path = listPath();
  loading = path;
  const eventsBefore = eventsSeen;
  try {
    const page = await api('GET', path);
    if (loading !== path) return; // a newer request is under way
    // An event arrived while this request was under way: the answer may
    // predate it and would hide it, so show this one and ask again.
    if (eventsSeen !== eventsBefore) reloadSoon();
    state.page = page;
    state.total = page.total;
    state.unread = page.unread;
    if (state.start > 0 && page.messages.length === 0 && page.messages_count > 0) {
      state.start = Math.max(0, Math.floor((page.messages_count - 1) / PAGE_SIZE) * PAGE_SIZE);
      return loadList();
    }
    state.selected = Math.min(state.selected, Math.max(0, page.messages.length - 1));
    renderList();
    showError(null);
  } catch (error) {
    showError(error);
  }
}

let reloadTimer = null;

/// Loads the list again soon, once for a burst of events.
function reloadSoon() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(loadList, 250);
}

function row(summary, index) {
  const classes = ['row'];
  if (!summary.Read) classes.push('unread');
  if (state.picked.has(summary.ID)) classes.push('picked');
  if (index === state.selected) classes.push('selected');
  const line = el('div', { class: 'line' },
    el('span', { class: 'subject', text: summary.Subject || '(no subject)' }),
    el('span', { class: 'snippet', text: summary.Snippet }));
  const meta = el('div', { class: 'meta' },
    el('div', { text: when(summary.Created), title: new Date(summary.Created).toString() }),
    el('div', { text: (summary.Attachments ? `${summary.Attachments} attachment${summary.Attachments === 1 ? '' : 's'} · ` : '') + size(summary.Size) }));
  const to = summary.To.map(shortAddress).join(', ');
  const node = el('a', {
    class: classes.join(' '),
    href: `#view/${summary.ID}`,
    role: 'listitem',
    'data-id': summary.ID,
    'aria-label': `${summary.Read ? '' : 'Unread. '}From ${shortAddress(summary.From)}: ${summary.Subject}`,
  },
  el('span', {
    class: 'pick',
    role: 'checkbox',
    'aria-checked': String(state.picked.has(summary.ID)),
    'aria-label': `Select the message from ${shortAddress(summary.From)}: ${summary.Subject}`,
    title: 'Select (x)',
  }),
  el('span', { class: 'dot', title: summary.Read ? '' : 'unread' }),
  el('div', { class: 'from', text: shortAddress(summary.From), title: `${address(summary.From)} → ${to}` }),
  line,
  meta);
  return node;
}

function renderList() {
  const page = state.page;
  if (!page) return;
  const list = $('messages');
  list.replaceChildren(...page.messages.map(row));
  $('empty').hidden = page.messages.length > 0;
  $('empty').textContent = state.query ? 'No messages match this search.' : 'No messages yet.';
  const matching = page.messages_count;
  const first = matching === 0 ? 0 : page.start + 1;
  const last = page.start + page.messages.length;
  $('range').textContent = `${first}–${last} of ${matching.toLocaleString()}${state.query ? ' matching' : ''}`;
  $('prev-page').disabled = page.start === 0;
  $('next-page').disabled = last >= matching;
  $('delete-all').textContent = state.query ? 'Delete matching' : 'Delete all';
  $('mark-all-read').textContent = state.query ? 'Mark matching read' : 'Mark all read';
  $('delete-all').disabled = matching === 0;
  $('mark-all-read').disabled = (state.query ? page.messages_unread : page.unread) === 0;
  renderPicked();
  renderCounts();
}

// ------------------------------------------------------------ several at once

/// Shows the toolbar for the ticked messages (or the usual one when none is).
function renderPicked() {
  const count = state.picked.size;
  $('picked-tools').hidden = count === 0;
  $('all-tools').hidden = count > 0;
  $('picked-count').textContent = `${count.toLocaleString()} selected`;
  const page = state.page;
  const onPage = page ? page.messages.filter((m) => state.picked.has(m.ID)).length : 0;
  const box = $('pick-page');
  box.checked = page !== null && onPage > 0 && onPage === page.messages.length;
  box.indeterminate = onPage > 0 && !box.checked;
}

/// Ticks or unticks one message of the list.
function pick(id, on) {
  if (on) state.picked.add(id);
  else state.picked.delete(id);
  const node = $('messages').querySelector(`[data-id="${id}"]`);
  if (node) {
    node.classList.toggle('picked', on);
    node.querySelector('.pick').setAttribute('aria-checked', String(on));
  }
  renderPicked();
}

/// Ticks every message on this page, or unticks them all.
function pickPage(on) {
  if (!state.page) return;
  for (const m of state.page.messages) pick(m.ID, on);
}

/// Marks the ticked messages read or unread, or deletes them. Never sends an
/// empty list: the API reads a change without IDs as one to every message.
async function changePicked(kind) {
  const ids = Array.from(state.picked);
  if (ids.length === 0) return;
  try {
    if (kind === 'delete') {
      const noun = ids.length === 1 ? 'message' : 'messages';
      if (!confirm(`Delete ${ids.length.toLocaleString()} selected ${noun}? This cannot be undone.`)) return;
      await api('DELETE', '/api/v1/messages', { IDs: ids });
      state.picked.clear();
    } else {
      await api('PUT', '/api/v1/messages', { IDs: ids, Read: kind === 'read' });
    }
  } catch (error) {
    showError(error);
  }
  loadList();
}

function renderCounts() {
  const noun = state.total === 1 ? 'message' : 'messages';
  $('counts').textContent = `${state.total.toLocaleString()} ${noun}, ${state.unread.toLocaleString()} unread`;
  document.title = state.unread > 0 ? `(${state.unread}) mailwire` : 'mailwire';
}

function select(index) {
  const rows = $('messages').children;
  if (rows.length === 0) return;
  state.selected = Math.max(0, Math.min(rows.length - 1, index));
  for (const [i, r] of Array.from(rows).entries()) r.classList.toggle('selected', i === state.selected);
  const current = rows[state.selected];
  current.scrollIntoView({ block: 'nearest' });
  current.focus({ preventScroll: true });
}

function selectedId() {
  const rows = $('messages').children;
  return rows[state.selected] ? rows[state.selected].dataset.id : null;
}

function goPage(delta) {
  const page = state.page;
  if (!page) return;
  const next = state.start + delta * PAGE_SIZE;
  if (next < 0 || next >= page.messages_count) return;
  state.start = next;
  state.selected = 0;
  loadList();
}

async function changeAll(kind) {
  const searching = Boolean(state.query);
  if (kind === 'delete') {
    const what = searching ? 'every message that matches the search' : 'every message';
    if (!confirm(`Delete ${what}? This cannot be undone.`)) return;
    try {
      if (searching) {
        await api('DELETE', `/api/v1/search?query=${encodeURIComponent(state.query)}&tz=${encodeURIComponent(timeZoneOffset())}`);
      } else {
        await api('DELETE', '/api/v1/messages');
      }
    } catch (error) {
      showError(error);
    }
  } else {
    try {
      await api('PUT', '/api/v1/messages', searching ? { Read: true, Search: state.query } : { Read: true });
    } catch (error) {
      showError(error);
    }
  }
  state.start = 0;
  loadList();
}

// ------------------------------------------------------------ the message

/// The message's HTML, made safe to show: remote content blocked by a
/// policy of its own (until the user allows it for this message), inline
/// parts (cid:) pointed at the API, links opened in a new tab without
/// the opener. The frame it is shown in is sandboxed without scripts.
function safeHtml(message, allowRemote) {
  const doc = new DOMParser().parseFromString(message.HTML, 'text/html'); // inert: nothing loads or runs
  const parts = `${location.origin}${at(`/api/v1/message/${message.ID}/part/`)}`;
  const byCid = new Map();
  for (const part of [...message.Inline, ...message.Attachments]) {
    if (part.ContentID) byCid.set(part.ContentID.toLowerCase(), parts + encodeURIComponent(part.PartID));
  }
  let remote = false;
  const isRemote = (url) => /^\s*(https?:)?\/\//i.test(url || '');
  for (const node of doc.querySelectorAll('[src], [background], [poster], [srcset]')) {
    for (const name of ['src', 'background', 'poster']) {
      const value = node.getAttribute(name);
      if (value === null) continue;
      const cid = /^\s*cid:(.*)$/i.exec(value);
      if (cid) {
        const url = byCid.get(cid[1].trim().replace(/^<|>$/g, '').toLowerCase());
        if (url) node.setAttribute(name, url);
      } else if (isRemote(value)) {
        remote = true;
      }
    }
    if (node.hasAttribute('srcset')) remote = true;
  }
  for (const node of doc.querySelectorAll('link[href]')) {
    if (isRemote(node.getAttribute('href'))) remote = true;
  }
  for (const node of doc.querySelectorAll('[style], style')) {
    const css = node.tagName === 'STYLE' ? node.textContent : node.getAttribute('style');
    if (/url\(\s*['"]?\s*(https?:)?\/\//i.test(css) || /@import/i.test(css)) remote = true;
  }
  for (const node of doc.querySelectorAll('base, meta[http-equiv]')) node.remove();
  for (const link of doc.querySelectorAll('a[href], area[href]')) {
    link.setAttribute('target', '_blank');
    link.setAttribute('rel', 'noopener noreferrer');
  }
  const policy = allowRemote
    ? "default-src 'none'; img-src * data: blob:; style-src * 'unsafe-inline'; font-src * data:; media-src *"
    : `default-src 'none'; img-src data: ${parts}; style-src 'unsafe-inline'; font-src data:; media-src ${parts}`;
  const head = doc.head;
  const base = doc.createElement('base');
  base.setAttribute('target', '_blank');
  const referrer = doc.createElement('meta');
  referrer.setAttribute('name', 'referrer');
  referrer.setAttribute('content', 'no-referrer');
  const csp = doc.createElement('meta');
  csp.setAttribute('http-equiv', 'Content-Security-Policy');
  csp.setAttribute('content', policy);
  head.prepend(csp, referrer, base);
  return { html: `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`, remote };
}

function renderHtml() {
  const message = state.message;
  const frame = $('html-body');
  const hasHtml = Boolean(message.HTML);
  frame.hidden = !hasHtml;
  $('no-html').hidden = hasHtml;
  if (!hasHtml) {
    frame.srcdoc = '';
    $('remote-banner').hidden = true;
    return;
  }
  const allowed = state.remoteAllowed.has(message.ID);
  const { html, remote } = safeHtml(message, allowed);
  $('remote-banner').hidden = !remote || allowed;
  frame.srcdoc = html;
}

function fitFrame() {
  const frame = $('html-body');
  try {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) {
      frame.style.height = `${Math.max(300, doc.documentElement.scrollHeight + 20)}px`;
    }
  } catch (_) {
    // The frame's document is not readable: keep the default height.
  }
}

function showTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll('.tabs button')) {
    button.setAttribute('aria-selected', String(button.dataset.tab === tab));
  }
  for (const panel of document.querySelectorAll('.panel')) panel.hidden = panel.dataset.panel !== tab;
  const message = state.message;
  if (!message) return;
  if (tab === 'headers' && !$('headers-table').dataset.loaded) {
    api('GET', `/api/v1/message/${message.ID}/headers`).then((headers) => {
      if (state.message !== message) return;
      const rows = [];
      for (const [name, values] of Object.entries(headers)) {
        for (const value of values) rows.push(el('tr', {}, el('th', { text: name }), el('td', { text: value })));
      }
      $('headers-table').replaceChildren(...rows);
      $('headers-table').dataset.loaded = '1';
    }, showError);
  }
  if (tab === 'raw' && !$('raw-body').dataset.loaded) {
    api('GET', `/api/v1/message/${message.ID}/raw`).then((raw) => {
      if (state.message !== message) return;
      $('raw-body').textContent = raw;
      $('raw-body').dataset.loaded = '1';
    }, showError);
  }
}

async function openMessage(id) {
  let message;
  try {
    message = await api('GET', `/api/v1/message/${encodeURIComponent(id)}`);
  } catch (error) {
    showError(new Error('This message is not there any more (deleted?).'));
    location.hash = '';
    return;
  }
  showError(null);
  state.message = message;
  state.messageRead = true; // opening a message marks it read
  $('list-view').hidden = true;
  $('message-view').hidden = false;
  $('subject').textContent = message.Subject || '(no subject)';
  const fields = [
    ['From', [message.From]],
    ['To', message.To],
    ['Cc', message.Cc],
    ['Bcc', message.Bcc],
    ['Reply-To', message.ReplyTo],
  ];
  const items = [];
  for (const [name, list] of fields) {
    const present = list.filter(Boolean);
    if (present.length === 0) continue;
    items.push(el('dt', { text: name }), el('dd', { text: present.map(address).join(', ') }));
  }
  items.push(el('dt', { text: 'Date' }), el('dd', { text: new Date(message.Date).toString() }));
  items.push(el('dt', { text: 'Size' }), el('dd', { text: size(message.Size) }));
  $('addresses').replaceChildren(...items);
  $('attachments').replaceChildren(...message.Attachments.map((part) => el('li', {},
    el('a', {
      href: at(`/api/v1/message/${message.ID}/part/${encodeURIComponent(part.PartID)}`),
      download: part.FileName || `part-${part.PartID}`,
      class: 'attachment',
      title: `${part.ContentType}, ${size(part.Size)}`,
    }, `${part.FileName || part.PartID} (${size(part.Size)})`))));
  $('download-raw').href = at(`/api/v1/message/${message.ID}/raw?dl=1`);
  $('download-raw').setAttribute('download', `${message.ID}.eml`);
  $('toggle-read').textContent = 'Mark unread';
  delete $('headers-table').dataset.loaded;
  delete $('raw-body').dataset.loaded;
  $('headers-table').replaceChildren();
  $('raw-body').textContent = '';
  $('text-body').textContent = message.Text || '(This message has no text body.)';
  $('html-source').textContent = message.HTML || '(This message has no HTML body.)';
  $('tab-source').hidden = !message.HTML;
  renderHtml();
  const needsHtml = state.preferredTab === 'html' || state.preferredTab === 'source';
  showTab(needsHtml && !message.HTML ? 'text' : state.preferredTab);
  $('back').focus();
}

function closeMessage() {
  state.message = null;
  $('html-body').srcdoc = '';
  $('message-view').hidden = true;
  $('list-view').hidden = false;
  loadList().then(() => select(state.selected));
}

async function toggleRead(id, read) {
  try {
    await api('PUT', '/api/v1/messages', { IDs: [id], Read: read });
  } catch (error) {
    showError(error);
  }
}

async function deleteOne(id) {
  try {
    await api('DELETE', '/api/v1/messages', { IDs: [id] });
  } catch (error) {
    showError(error);
  }
}

/// The ID next to the open message in the list (+1 older, -1 newer).
function neighbour(delta) {
  const page = state.page;
  if (!page || !state.message) return null;
  const at = page.messages.findIndex((m) => m.ID === state.message.ID);
  const next = page.messages[at + delta];
  return at >= 0 && next ? next.ID : null;
}

// ------------------------------------------------------------ routing

function route() {
  const match = /^#view\/([A-Za-z0-9]+)$/.exec(location.hash);
  if (match) {
    const page = state.page;
    if (page) {
      const at = page.messages.findIndex((m) => m.ID === match[1]);
      if (at >= 0) state.selected = at;
    }
    openMessage(match[1]);
  } else if (state.message || $('list-view').hidden) {
    closeMessage();
  }
}

// ------------------------------------------------------------ live events

let socket = null;
let retry = 500;

function connect() {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  socket = new WebSocket(`${scheme}//${location.host}${at('/api/events')}`);
  socket.addEventListener('open', () => {
    retry = 500;
    $('live').textContent = 'live';
    $('live').className = 'live on';
    loadList(); // catch up on what happened while disconnected
  });
  socket.addEventListener('close', () => {
    $('live').textContent = 'reconnecting…';
    $('live').className = 'live off';
    setTimeout(connect, retry);
    retry = Math.min(retry * 2, 10000);
  });
  socket.addEventListener('message', (frame) => {
    let event;
    try {
      event = JSON.parse(frame.data);
    } catch (_) {
      return;
    }
    onEvent(event);
  });
}

function onEvent(event) {
  const data = event.Data;
  if (event.Type === 'new' || event.Type === 'delete') eventsSeen += 1;
  switch (event.Type) {
    case 'new':
      state.total += 1;
      if (!data.Read) state.unread += 1;
      renderCounts();
      if (!state.query && state.start === 0 && state.page) {
        const page = state.page;
        if (!page.messages.some((m) => m.ID === data.ID)) {
          page.messages.unshift(data);
          if (page.messages.length > PAGE_SIZE) page.messages.pop();
          page.messages_count += 1;
          page.total = state.total;
          if (!data.Read) page.unread += 1;
          if (state.selected > 0 || document.activeElement?.classList?.contains('row')) state.selected += 1;
          renderList();
        }
      } else {
        reloadSoon();
      }
      break;
    case 'update': {
      const page = state.page;
      const summary = page && page.messages.find((m) => m.ID === data.ID);
      if (summary) {
        summary.Read = data.Read;
        const node = $('messages').querySelector(`[data-id="${data.ID}"]`);
        if (node) node.replaceWith(row(summary, page.messages.indexOf(summary)));
      }
      if (state.message && state.message.ID === data.ID) {
        $('toggle-read').textContent = data.Read ? 'Mark unread' : 'Mark read';
        state.messageRead = data.Read;
      }
      if (state.query) reloadSoon();
      break;
    }
    case 'delete': {
      state.picked.delete(data.ID);
      const node = $('messages').querySelector(`[data-id="${data.ID}"]`);
      if (node) node.remove();
      if (state.message && state.message.ID === data.ID && location.hash === `#view/${data.ID}`) {
        showError(new Error('This message was deleted.'));
        location.hash = '';
      }
      reloadSoon();
      break;
    }
    case 'stats':
      state.total = data.Total;
      state.unread = data.Unread;
      renderCounts();
      break;
    case 'truncate':
    case 'prune':
      reloadSoon();
      break;
    default:
      break;
  }
}

// ------------------------------------------------------------ keyboard

function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement;
  if (typing) {
    if (event.key === 'Escape') event.target.blur();
    return;
  }
  const viewing = !$('message-view').hidden;
  const key = event.key;
  if (key === '/') {
    event.preventDefault();
    $('search').focus();
    $('search').select();
    return;
  }
  if (viewing) {
    const id = state.message && state.message.ID;
    if (key === 'Escape' || key === 'Backspace') {
      event.preventDefault();
      location.hash = '';
    } else if (key === 'j' || key === 'ArrowDown') {
      const next = neighbour(1);
      if (next) { event.preventDefault(); location.hash = `#view/${next}`; }
    } else if (key === 'k' || key === 'ArrowUp') {
      const next = neighbour(-1);
      if (next) { event.preventDefault(); location.hash = `#view/${next}`; }
    } else if (key === 'u' && id) {
      toggleRead(id, !state.messageRead);
    } else if ((key === 'Delete' || key === '#') && id) {
      $('delete-one').click();
    }
    return;
  }
  if (key === 'j' || key === 'ArrowDown') {
    event.preventDefault();
    select(state.selected + 1);
  } else if (key === 'k' || key === 'ArrowUp') {
    event.preventDefault();
    select(state.selected - 1);
  } else if (key === 'Enter' || key === 'o') {
    const id = selectedId();
    if (id) { event.preventDefault(); location.hash = `#view/${id}`; }
  } else if (key === 'ArrowRight') {
    goPage(1);
  } else if (key === 'ArrowLeft') {
    goPage(-1);
  } else if (key === 'u') {
    const id = selectedId();
    const summary = state.page && state.page.messages.find((m) => m.ID === id);
    if (summary) toggleRead(id, !summary.Read);
  } else if (key === 'Delete' || key === '#') {
    const id = selectedId();
    if (id) deleteOne(id);
  } else if (key === 'x') {
    const id = selectedId();
    if (id) pick(id, !state.picked.has(id));
  } else if (key === 'Home') {
    select(0);
  } else if (key === 'End') {
    select(Number.MAX_SAFE_INTEGER);
  }
}

// ------------------------------------------------------------ wiring

function init() {
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    state.query = $('search').value.trim();
    state.start = 0;
    state.selected = 0;
    $('clear-search').hidden = !state.query;
    if (location.hash) location.hash = '';
    loadList();
  });
  $('clear-search').addEventListener('click', () => {
    $('search').value = '';
    $('search-form').requestSubmit();
  });
  $('home').addEventListener('click', (event) => {
    event.preventDefault();
    $('search').value = '';
    state.query = '';
    state.start = 0;
    $('clear-search').hidden = true;
    if (location.hash) location.hash = '';
    loadList();
  });
  $('prev-page').addEventListener('click', () => goPage(-1));
  $('next-page').addEventListener('click', () => goPage(1));
  $('mark-all-read').addEventListener('click', () => changeAll('read'));
  $('pick-page').addEventListener('change', (event) => pickPage(event.target.checked));
  $('picked-read').addEventListener('click', () => changePicked('read'));
  $('picked-unread').addEventListener('click', () => changePicked('unread'));
  $('picked-delete').addEventListener('click', () => changePicked('delete'));
  $('picked-clear').addEventListener('click', () => {
    state.picked.clear();
    renderList();
  });
  // A tick is not a click on the row's link: it toggles, and nothing opens.
  $('messages').addEventListener('click', (event) => {
    const box = event.target.closest('.pick');
    if (!box) return;
    event.preventDefault();
    event.stopPropagation();
    const id = box.closest('.row').dataset.id;
    pick(id, !state.picked.has(id));
  });
  $('delete-all').addEventListener('click', () => changeAll('delete'));
  $('back').addEventListener('click', () => { location.hash = ''; });
  $('older').addEventListener('click', () => { const id = neighbour(1); if (id) location.hash = `#view/${id}`; });
  $('newer').addEventListener('click', () => { const id = neighbour(-1); if (id) location.hash = `#view/${id}`; });
  $('toggle-read').addEventListener('click', () => {
    if (state.message) toggleRead(state.message.ID, !state.messageRead);
  });
  $('delete-one').addEventListener('click', async () => {
    if (!state.message) return;
    const id = state.message.ID;
    const next = neighbour(1) || neighbour(-1);
    await deleteOne(id);
    location.hash = next ? `#view/${next}` : '';
  });
  $('show-remote').addEventListener('click', () => {
    if (!state.message) return;
    state.remoteAllowed.add(state.message.ID);
    renderHtml();
  });
  for (const button of document.querySelectorAll('.tabs button')) {
    button.addEventListener('click', () => {
      state.preferredTab = button.dataset.tab;
      showTab(button.dataset.tab);
    });
  }
  $('html-body').addEventListener('load', fitFrame);
  $('messages').addEventListener('focusin', (event) => {
    const node = event.target.closest('.row');
    if (!node) return;
    const at = Array.from($('messages').children).indexOf(node);
    if (at >= 0 && at !== state.selected) select(at);
  });
  document.addEventListener('keydown', onKey);
  window.addEventListener('hashchange', route);
  showTab('html');
  loadList().then(route);
  connect();
}

init();
