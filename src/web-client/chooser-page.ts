// The workspace chooser at /_gateway/workspace: a static page, its stylesheet and its script (served as files
// of their own, so the page's CSP allows no inline script). The script signs in the way LibreChat's own client
// does: POST /api/auth/refresh on this origin with the browser's refreshToken cookie (client/src/hooks/
// AuthContext.tsx) gives the access token; with it as Bearer it reads /_gateway/workspaces and posts the
// choice to /_gateway/workspace. Everything it shows is written with textContent, never as HTML.
import { html, type SafeHtml } from '../dashboard/html.ts';
import { CHOOSER_PATH, WORKSPACES_PATH } from './chooser-path.ts';

export const CHOOSER_SCRIPT_PATH = `${CHOOSER_PATH}/app.js`;
export const CHOOSER_STYLE_PATH = `${CHOOSER_PATH}/style.css`;

/** Only our own script, stylesheet and same-origin fetches; never framed, no forms anywhere. */
export const CHOOSER_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
  + "form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

// Quiet greys, rounded cards and one green action, as LibreChat's own light theme looks.
export const CHOOSER_STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 ui-sans-serif,system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#0d0d0d;background:#f7f7f8}
main{max-width:760px;margin:0 auto;padding:40px 20px}
h1{font-size:24px;font-weight:600;margin:0 0 4px}.sub{color:#5d5d5d;margin:0 0 24px}
.note{padding:12px 16px;border-radius:12px;background:#fff;border:1px solid #e3e3e3;margin:0 0 16px}
.note.error{border-color:#f1b5b5;background:#fff6f6;color:#a12020}.note.done{border-color:#b7e4cf;background:#f1fbf6}
ul.workspaces{list-style:none;margin:0;padding:0;display:grid;gap:12px}
li.workspace{background:#fff;border:1px solid #e3e3e3;border-radius:16px;padding:18px 20px;display:grid;gap:10px}
li.workspace.selected{border-color:#10a37f;box-shadow:0 0 0 1px #10a37f}
.top{display:flex;align-items:center;justify-content:space-between;gap:12px}
.name{font-size:17px;font-weight:600}.role{font-size:12px;color:#5d5d5d;background:#f0f0f1;border-radius:999px;padding:2px 8px;margin-left:8px}
.badge{font-size:12px;font-weight:600;color:#0b7a5d;background:#e6f6f0;border-radius:999px;padding:3px 10px}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(180px,1fr));gap:12px}
.label{font-size:12px;color:#6e6e80}.value{font-variant-numeric:tabular-nums}
.bar{height:6px;border-radius:999px;background:#ececf1;overflow:hidden;margin-top:4px}.bar span{display:block;height:100%;background:#10a37f}
.bar span.high{background:#e8a33d}.bar span.full{background:#d9534f}
button{font:inherit;border:0;border-radius:10px;padding:8px 16px;background:#10a37f;color:#fff;cursor:pointer}
button:hover{background:#0d8a6b}button:disabled{background:#c5c5d2;cursor:default}
a{color:#0b7a5d}[hidden]{display:none!important}
`;

export function chooserPage(): SafeHtml {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin"><title>Choose your workspace</title>
<link rel="stylesheet" href="${CHOOSER_STYLE_PATH}"><script src="${CHOOSER_SCRIPT_PATH}" defer></script></head>
<body><main>
<h1>Choose your workspace</h1>
<p class="sub" id="who">Your chats in LibreChat count against the workspace you choose here.</p>
<p class="note" id="status" role="status">Signing you in with your LibreChat session…</p>
<p class="note" id="signin" hidden>You are not signed in to LibreChat in this browser. <a href="/login">Sign in to LibreChat</a>, then open this page again.</p>
<ul class="workspaces" id="workspaces" aria-label="Your workspaces"></ul>
<p id="back" hidden><a href="/">Back to LibreChat</a></p>
</main></body></html>`;
}

/** The page's behaviour; plain browser JavaScript, no inline handlers. */
export const CHOOSER_SCRIPT = `'use strict';
(function () {
  var WORKSPACES = ${JSON.stringify(WORKSPACES_PATH)};
  var CHOOSE = ${JSON.stringify(CHOOSER_PATH)};
  var numbers = new Intl.NumberFormat('en-US');
  var token = null;
  function byId(id) { return document.getElementById(id); }
  function say(text, kind) { var s = byId('status'); s.hidden = false; s.textContent = text; s.className = 'note' + (kind ? ' ' + kind : ''); }
  function el(tag, className, text) { var e = document.createElement(tag); if (className) e.className = className; if (text !== undefined) e.textContent = text; return e; }
  function utc(iso) { return iso ? iso.slice(0, 16).replace('T', ' ') + ' UTC' : 'no automatic reset'; }
  function figure(kind, label, used, limit) {
    var box = el('div', 'figure ' + kind);
    box.appendChild(el('div', 'label', label));
    var value = el('div', 'value');
    if (limit === null || limit === undefined) { value.textContent = 'no quota set'; box.appendChild(value); return box; }
    var left = Math.max(0, limit - used);
    value.appendChild(el('span', 'used', numbers.format(used)));
    value.appendChild(document.createTextNode(' used of '));
    value.appendChild(el('span', 'limit', numbers.format(limit)));
    value.appendChild(document.createTextNode(' · '));
    value.appendChild(el('span', 'left', numbers.format(left)));
    value.appendChild(document.createTextNode(' left'));
    box.appendChild(value);
    var bar = el('div', 'bar'); var fill = el('span');
    var share = limit > 0 ? Math.min(1, used / limit) : 1;
    fill.style.width = Math.round(share * 100) + '%';
    if (share >= 1) fill.className = 'full'; else if (share >= 0.8) fill.className = 'high';
    bar.appendChild(fill); box.appendChild(bar);
    return box;
  }
  function card(ws, selected) {
    var li = el('li', 'workspace' + (selected ? ' selected' : ''));
    li.setAttribute('data-workspace-id', ws.workspace_id);
    var top = el('div', 'top'); var title = el('div');
    title.appendChild(el('span', 'name', ws.name)); title.appendChild(el('span', 'role', ws.role));
    top.appendChild(title);
    if (selected) top.appendChild(el('span', 'badge', 'Current'));
    else { var button = el('button', 'choose', 'Use this workspace'); button.type = 'button'; button.addEventListener('click', function () { choose(ws, button); }); top.appendChild(button); }
    li.appendChild(top);
    var figures = el('div', 'figures');
    figures.appendChild(figure('tokens', 'Tokens', ws.tokens_used, ws.tokens_limit));
    figures.appendChild(figure('requests', 'Messages', ws.requests_used, ws.requests_limit));
    var reset = el('div', 'figure'); reset.appendChild(el('div', 'label', 'Quota resets'));
    var when = el('div', 'value reset', utc(ws.reset_at)); when.setAttribute('data-reset-at', ws.reset_at || '');
    reset.appendChild(when); figures.appendChild(reset);
    li.appendChild(figures);
    return li;
  }
  function call(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { authorization: 'Bearer ' + token, accept: 'application/json' } };
    if (body !== undefined) { init.headers['content-type'] = 'application/json'; init.body = JSON.stringify(body); }
    return fetch(path, init).then(function (res) {
      return res.json().catch(function () { return null; }).then(function (json) { return { ok: res.ok, json: json }; });
    });
  }
  function problem(answer) { return answer.json && answer.json.error && answer.json.error.message ? answer.json.error.message : 'The gateway did not answer as expected; reload the page.'; }
  function render(answer) {
    var list = byId('workspaces'); list.textContent = '';
    var data = answer.json;
    if (!data.workspaces.length) { say('You are not a member of any active workspace. Ask your workspace admin to add you.', 'error'); return; }
    data.workspaces.forEach(function (ws) { list.appendChild(card(ws, ws.workspace_id === data.selected)); });
    byId('back').hidden = false;
    if (!data.selected) say('No workspace is chosen for this browser yet: choose one to chat.');
  }
  function load() {
    return call('GET', WORKSPACES).then(function (answer) {
      if (!answer.ok) { say(problem(answer), 'error'); return null; }
      byId('status').hidden = true; render(answer); return answer.json;
    });
  }
  function choose(ws, button) {
    button.disabled = true;
    call('POST', CHOOSE, { workspace_id: ws.workspace_id }).then(function (answer) {
      if (!answer.ok) { button.disabled = false; say(problem(answer), 'error'); return; }
      return load().then(function () { say('Chats in LibreChat now count against ' + ws.name + '. Reload LibreChat to see its models.', 'done'); });
    }, function () { button.disabled = false; say('The gateway could not be reached; try again.', 'error'); });
  }
  fetch('/api/auth/refresh', { method: 'POST', credentials: 'same-origin' }).then(function (res) {
    return res.ok ? res.json().catch(function () { return null; }) : null;
  }, function () { return null; }).then(function (session) {
    if (!session || typeof session.token !== 'string') { byId('status').hidden = true; byId('signin').hidden = false; return; }
    token = session.token;
    if (session.user && typeof session.user.email === 'string') byId('who').textContent = 'Signed in to LibreChat as ' + session.user.email + '. Your chats count against the workspace you choose here.';
    return load();
  }).catch(function () { say('Something went wrong; reload the page.', 'error'); });
})();
`;
