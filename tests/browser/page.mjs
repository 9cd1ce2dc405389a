// Drives the system Chromium (headless) against `mailwire serve`'s web
// page. Run by cli/tests/serve_page.rs, which owns the server and SMTP:
// this script asks it for mail with lines on stdout (`SEND <kind> ...`)
// and waits for `SENT` on stdin. Logs go to stderr.
//
// Environment: MAILWIRE_URL (the page), MODE (`full`, `big` or `auth`:
// a short run, also used under --webroot), AUTH (`USER:PASS` for `auth`),
// SCREENSHOTS (optional: a folder to save pictures of the list and of
// the message view in, as list.png and message.png),
// CHROMIUM (optional: the browser, /usr/bin/chromium by default).
import assert from 'node:assert/strict';
import http from 'node:http';
import readline from 'node:readline';
import { chromium } from 'playwright-core';

const URL_ = process.env.MAILWIRE_URL;
const MODE = process.env.MODE || 'full';
const log = (...args) => console.error('[browser]', ...args);

setTimeout(() => {
  console.error('[browser] the browser test took longer than 150 s');
  process.exit(2);
}, 150_000).unref();

// ------------------------------------------------ talking to the Rust test
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
async function ask(command) {
  process.stdout.write(`${command}\n`);
  const { value, done } = await lines.next();
  if (done) throw new Error(`the test stopped answering after ${command}`);
  return value;
}

// ------------------------------------------------ the "remote" web server
// Stands for every remote host a mail's HTML may name: it records each
// request and answers with a 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);
const hits = [];
const remote = http.createServer((req, res) => {
  hits.push(req.url);
  res.writeHead(200, { 'Content-Type': 'image/png', 'Access-Control-Allow-Origin': '*' });
  res.end(PNG);
});
await new Promise((resolve) => remote.listen(0, '127.0.0.1', resolve));
const remoteHost = `127.0.0.1:${remote.address().port}`;

/// The attachment the Rust test sends: 10240 octets, i % 256.
const ATTACHMENT = Buffer.from(Array.from({ length: 10240 }, (_, i) => i % 256));

async function screenshot(page, name) {
  if (!process.env.SCREENSHOTS) return;
  const path = `${process.env.SCREENSHOTS}/${name}`;
  await page.screenshot({ path });
  log(`screenshot: ${path}`);
}

async function until(what, check, timeout = 10_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeout} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const errors = [];
try {
  const options = { acceptDownloads: true, viewport: { width: 1280, height: 860 } };
  if (process.env.AUTH) {
    const [username, password] = process.env.AUTH.split(':');
    options.httpCredentials = { username, password };
  }
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (dialog) => dialog.accept());
  if (MODE === 'big') await big(page);
  else if (MODE === 'auth') await auth(page);
  else await full(page);
  assert.deepEqual(errors, [], 'the page threw no error');
} finally {
  await browser.close();
  remote.close();
}
process.stdout.write('DONE\n');
process.exit(0);

// ------------------------------------------------ 100,000 messages
async function big(page) {
  const began = Date.now();
  await page.goto(URL_);
  await page.locator('.row').first().waitFor();
  const firstPage = Date.now() - began;
  await until('counts shown', async () => /100,000 messages/.test(await page.textContent('#counts')));
  assert.equal(await page.locator('.row').count(), 50);
  log(`first page of 100,000 rendered in ${firstPage} ms`);
  process.stdout.write(`FIRSTPAGE ${firstPage}\n`);
  const pagingBegan = Date.now();
  await page.click('#next-page');
  await until('second page', async () => (await page.textContent('#range')).startsWith('51–100 of 100,000'));
  log(`next page in ${Date.now() - pagingBegan} ms`);
  await page.keyboard.press('ArrowLeft');
  await until('back a page with ←', async () => (await page.textContent('#range')).startsWith('1–50 of 100,000'));
  await page.keyboard.press('ArrowRight');
  await until('on a page with →', async () => (await page.textContent('#range')).startsWith('51–100 of 100,000'));
  assert.equal(await page.locator('.row .subject').first().textContent(), 'Bulk message 99949', 'the 51st newest');
  const searchBegan = Date.now();
  await page.fill('#search', 'from:sender7@bulk.test');
  await page.press('#search', 'Enter');
  await until('search', async () => / matching$/.test(await page.textContent('#range')));
  log(`search over 100,000 in ${Date.now() - searchBegan} ms: ${await page.textContent('#range')}`);
  await page.click('#home');
  await until('back to all', async () => (await page.textContent('#range')).startsWith('1–50 of'));
  await page.evaluate(() => { window.noReload = true; });
  assert.equal(await ask('SEND plain Arrived among many'), 'SENT');
  await page.locator('.row', { hasText: 'Arrived among many' }).first().waitFor({ timeout: 5000 });
  assert.equal(await page.evaluate(() => window.noReload), true, 'no reload');
  await until('count follows', async () => /100,001 messages/.test(await page.textContent('#counts')));
}

// ------------------------------------------------ behind --http-auth (and under --webroot)
async function auth(page) {
  const response = await page.goto(URL_);
  assert.equal(response.status(), 200, 'the page with the credentials');
  await page.locator('#live.on').waitFor();
  assert.equal(await ask('SEND plain Behind a password'), 'SENT');
  await page.locator('.row', { hasText: 'Behind a password' }).waitFor({ timeout: 5000 });
  await page.locator('.row', { hasText: 'Behind a password' }).click();
  await page.locator('#text-body', { hasText: 'A plain message: Behind a password.' }).waitFor();
  // The attachment-free message's raw source, fetched by the page itself
  // under the same root.
  await page.click('#tab-raw');
  await page.locator('#raw-body', { hasText: 'Behind a password' }).waitFor();
  if (!process.env.AUTH) return;
  const without = await page.evaluate(async (url) => {
    // A request that carries other credentials is refused.
    const r = await fetch(url, { headers: { Authorization: `Basic ${btoa('dev:wrong')}` } });
    return r.status;
  }, `${URL_}api/v1/messages`);
  assert.equal(without, 401);
}

// ------------------------------------------------ everything the issue lists
async function full(page) {
  await page.goto(URL_);
  await page.locator('#live.on').waitFor();
  await page.locator('#empty', { hasText: 'No messages yet.' }).waitFor();
  // A reload would drop this marker.
  await page.evaluate(() => { window.noReload = true; });

  // Live arrival.
  assert.equal(await ask('SEND plain Hello number one'), 'SENT');
  const hello = page.locator('.row', { hasText: 'Hello number one' });
  await hello.waitFor({ timeout: 5000 });
  assert.match(await hello.getAttribute('class'), /\bunread\b/, 'a new message is unread');
  assert.equal(await page.evaluate(() => window.noReload), true, 'the message came without a reload');
  log('live arrival: ok');

  assert.equal(await ask(`SEND html ${remoteHost}`), 'SENT');
  assert.equal(await ask('SEND invoice'), 'SENT');
  await page.locator('.row', { hasText: 'Invoice 7 from Acme' }).waitFor({ timeout: 5000 });
  await until('three rows', async () => (await page.locator('.row').count()) === 3);
  const subjects = await page.locator('.row .subject').allTextContents();
  assert.deepEqual(subjects, ['Invoice 7 from Acme', 'Your weekly newsletter', 'Hello number one'], 'newest first');
  await until('counts', async () => (await page.textContent('#counts')) === '3 messages, 3 unread');
  assert.equal(await page.evaluate(() => window.noReload), true, 'still no reload');
  assert.equal(await page.title(), '(3) mailwire');
  await screenshot(page, 'list.png');

  // Keyboard: down one row, open it.
  await page.locator('body').click({ position: { x: 5, y: 840 } });
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.locator('#subject', { hasText: 'Your weekly newsletter' }).waitFor();
  assert.match(page.url(), /#view\/[A-Za-z0-9]{22}$/);
  log('keyboard open: ok');

  // The HTML body, in a sandboxed frame without scripts.
  const sandbox = await page.getAttribute('#html-body', 'sandbox');
  assert.ok(sandbox !== null && !/allow-scripts/.test(sandbox), `sandboxed without scripts: ${sandbox}`);
  const frameState = () => page.evaluate(() => {
    const doc = document.getElementById('html-body').contentDocument;
    const img = (id) => doc.getElementById(id);
    return {
      text: doc.body ? doc.body.textContent : '',
      ran: doc.body ? doc.body.getAttribute('data-ran') : null,
      onerror: doc.body ? doc.body.getAttribute('data-onerror') : null,
      inline: img('inline') ? img('inline').naturalWidth : -1,
      remote: img('remote') ? img('remote').naturalWidth : -1,
      remoteComplete: img('remote') ? img('remote').complete : false,
      linkTarget: doc.getElementById('link')?.getAttribute('target'),
      linkRel: doc.getElementById('link')?.getAttribute('rel'),
      title: document.title,
    };
  });
  // The inline (cid:) image loads, so images in the frame do load...
  await until('the HTML body with its inline image', async () => {
    const s = await frameState();
    return s.text.includes('Hello from the newsletter') && s.inline > 0;
  });
  await until('the remote image settled', async () => (await frameState()).remoteComplete);
  await page.waitForTimeout(500);
  let s = await frameState();
  // ... but the remote one did not, and no script ran.
  assert.deepEqual(hits, [], 'no request reached the remote server before it was allowed');
  assert.equal(s.remote, 0, 'the remote image is not shown');
  assert.equal(s.ran, null, 'the <script> in the mail did not run');
  assert.equal(s.onerror, null, 'the onerror handler in the mail did not run');
  assert.notEqual(s.title, 'script ran');
  assert.equal(s.linkTarget, '_blank');
  assert.match(s.linkRel, /\bnoopener\b/);
  await page.locator('#remote-banner').waitFor();
  log('sandbox, scripts, remote content blocked, links: ok');
  await screenshot(page, 'message.png');

  // Asked for: the remote image loads; scripts still do not run.
  await page.click('#show-remote');
  await until('the remote image requested', async () => hits.includes('/remote.png'));
  await until('the remote image shown', async () => (await frameState()).remote > 0);
  s = await frameState();
  assert.equal(s.ran, null, 'the <script> did not run after remote content was allowed');
  assert.equal(s.onerror, null);
  assert.ok(!hits.includes('/script-ran'), 'no script reached the remote server');
  assert.ok(await page.locator('#remote-banner').isHidden());
  log('remote content on request: ok');

  // Text, headers, raw source.
  await page.click('#tab-source');
  await page.locator('#html-source', { hasText: '<script>document.body.setAttribute' }).waitFor();
  await page.click('#tab-text');
  await page.locator('#text-body', { hasText: 'Hello from the newsletter, in plain text.' }).waitFor();
  await page.click('#tab-headers');
  await page.locator('#headers-table th', { hasText: 'Subject' }).first().waitFor();
  await page.click('#tab-raw');
  await page.locator('#raw-body', { hasText: 'Content-Type: multipart/mixed' }).waitFor();
  await page.click('#tab-html');

  // The attachment, byte for byte.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('a.attachment')]);
  assert.equal(download.suggestedFilename(), 'data.bin');
  const { readFile } = await import('node:fs/promises');
  const bytes = await readFile(await download.path());
  assert.ok(bytes.equals(ATTACHMENT), `the download is the attachment (${bytes.length} octets)`);
  log('attachment download: ok');

  // Opened means read; mark it unread again.
  assert.equal(await page.textContent('#toggle-read'), 'Mark unread');
  await page.click('#toggle-read');
  await page.locator('#toggle-read', { hasText: 'Mark read' }).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#list-view').waitFor();
  const newsletter = page.locator('.row', { hasText: 'Your weekly newsletter' });
  await until('marked unread in the list', async () => /\bunread\b/.test(await newsletter.getAttribute('class')));
  const read = await page.evaluate(async () => {
    const page = await (await fetch('/api/v1/messages')).json();
    return page.messages.find((m) => m.Subject === 'Your weekly newsletter').Read;
  });
  assert.equal(read, false, 'the API says unread');
  // And read with the keyboard, from the list.
  await newsletter.focus();
  await page.keyboard.press('u');
  await until('marked read with u', async () => !/\bunread\b/.test(await newsletter.getAttribute('class')));
  log('read / unread: ok');

  // Search, with the API's syntax.
  await page.keyboard.press('/');
  await page.keyboard.type('from:billing@acme.test');
  await page.keyboard.press('Enter');
  await until('search by sender', async () => (await page.textContent('#range')) === '1–1 of 1 matching');
  assert.deepEqual(await page.locator('.row .subject').allTextContents(), ['Invoice 7 from Acme']);
  await page.fill('#search', 'subject:"weekly newsletter" has:attachment');
  await page.press('#search', 'Enter');
  await until('search by subject', async () => {
    const rows = await page.locator('.row .subject').allTextContents();
    return rows.length === 1 && rows[0] === 'Your weekly newsletter';
  });
  await page.fill('#search', '-is:read');
  await page.press('#search', 'Enter');
  await until('negated search', async () => (await page.locator('.row').count()) === 2);
  await page.click('#clear-search');
  await until('all again', async () => (await page.locator('.row').count()) === 3);
  log('search: ok');

  // A message without HTML opens on its text.
  await page.locator('.row', { hasText: 'Hello number one' }).click();
  await page.locator('#subject', { hasText: 'Hello number one' }).waitFor();
  assert.equal(await page.getAttribute('#tab-text', 'aria-selected'), 'true');
  assert.ok(await page.locator('#tab-source').isHidden(), 'no HTML source tab without HTML');
  await page.locator('#text-body', { hasText: 'A plain message: Hello number one.' }).waitFor();
  await page.keyboard.press('Escape');
  await page.locator('#list-view').waitFor();

  // Several at once: ticks, a change to the ticked ones only.
  const apiRead = () => page.evaluate(async () => {
    const page = await (await fetch('/api/v1/messages')).json();
    return Object.fromEntries(page.messages.map((m) => [m.Subject, m.Read]));
  });
  const hello1 = page.locator('.row', { hasText: 'Hello number one' });
  const invoice = page.locator('.row', { hasText: 'Invoice 7 from Acme' });
  await hello1.locator('.pick').click();
  await invoice.locator('.pick').click();
  assert.equal(await page.evaluate(() => location.hash), '', 'a tick opens nothing');
  assert.ok(await page.locator('#list-view').isVisible(), 'the list stays');
  assert.equal(await page.textContent('#picked-count'), '2 selected');
  assert.equal(await hello1.locator('.pick').getAttribute('aria-checked'), 'true');
  assert.equal(await page.evaluate(() => document.getElementById('pick-page').indeterminate), true);
  await page.click('#picked-unread');
  await until('the ticked two unread', async () => {
    const read = await apiRead();
    return read['Hello number one'] === false && read['Invoice 7 from Acme'] === false;
  });
  assert.equal((await apiRead())['Your weekly newsletter'], true, 'the unticked one is untouched');
  await until('shown unread', async () => /\bunread\b/.test(await hello1.getAttribute('class')));
  await page.click('#picked-read');
  await until('the ticked two read', async () => {
    const read = await apiRead();
    return read['Hello number one'] === true && read['Invoice 7 from Acme'] === true;
  });
  // x ticks the row with the focus; the page box then shows all ticked.
  await newsletter.focus();
  await page.keyboard.press('x');
  assert.equal(await page.textContent('#picked-count'), '3 selected');
  assert.equal(await page.isChecked('#pick-page'), true);
  await page.click('#picked-clear');
  await until('nothing ticked', async () => (await page.locator('.row.picked').count()) === 0);
  assert.ok(await page.locator('#picked-tools').isHidden(), 'the usual toolbar is back');
  assert.ok(await page.locator('#delete-all').isVisible());
  // Delete a ticked one: only it goes.
  assert.equal(await ask('SEND plain Ticked for deletion'), 'SENT');
  const doomed = page.locator('.row', { hasText: 'Ticked for deletion' });
  await doomed.waitFor();
  await doomed.locator('.pick').click();
  await page.click('#picked-delete');
  await until('the ticked one deleted', async () => (await page.locator('.row').count()) === 3);
  const left = await apiRead();
  assert.deepEqual(Object.keys(left).sort(), ['Hello number one', 'Invoice 7 from Acme', 'Your weekly newsletter']);
  assert.ok(await page.locator('#picked-tools').isHidden(), 'no tick left after the deletion');
  log('several at once: ok');

  // Delete one, from its view.
  await page.locator('.row', { hasText: 'Invoice 7 from Acme' }).click();
  await page.locator('#subject', { hasText: 'Invoice 7 from Acme' }).waitFor();
  await page.click('#delete-one');
  await until('the view moved on', async () => (await page.textContent('#subject')) !== 'Invoice 7 from Acme');
  await page.keyboard.press('Escape');
  await until('one deleted', async () => (await page.locator('.row').count()) === 2);
  assert.equal(await page.locator('.row', { hasText: 'Invoice 7 from Acme' }).count(), 0);
  // And one with the keyboard, from the list.
  await page.locator('.row', { hasText: 'Hello number one' }).focus();
  await page.keyboard.press('Delete');
  await until('deleted with the Delete key', async () => (await page.locator('.row').count()) === 1);
  assert.equal(await page.locator('.row', { hasText: 'Hello number one' }).count(), 0);
  log('delete one: ok');

  // Delete all.
  await page.click('#delete-all');
  await page.locator('#empty', { hasText: 'No messages yet.' }).waitFor();
  assert.equal(await page.locator('.row').count(), 0);
  await until('counts zero', async () => (await page.textContent('#counts')) === '0 messages, 0 unread');
  log('delete all: ok');
  assert.equal(await ask('CHECK empty'), 'SENT');
}
