/* evcomet chat widget: plain ES5, no framework. Reads the page's embedded data
 * (#evchat-data: history, resume id, CSRF token, who the reader is), shows the
 * history at once, then follows the room with evcomet.connect (static/comet.js)
 * from exactly after it. Text is always put in as text (createTextNode), never
 * as HTML. */
(function () {
  'use strict';
  var dataNode = document.getElementById('evchat-data');
  var root = document.getElementById('evchat');
  if (!dataNode || !root || !window.evcomet) return;
  var data = JSON.parse(dataNode.text || dataNode.textContent || dataNode.innerHTML);
  var base = '/chat/' + encodeURIComponent(data.room);
  var log = byClass('evchat-log', 'ol');
  var whoList = byClass('evchat-who', 'ul');
  var statusNode = byClass('evchat-status', 'span');
  var form = byClass('evchat-post', 'form');
  var input = document.getElementById('evchat-text');
  var errorNode = byClass('evchat-error', 'span');
  var items = {};        // line id -> its <li>
  var lastLineId = null; // the newest line shown, for catching up after a gap
  var who = {};          // user id -> nick

  function byClass(name, tag) {
    var all = root.getElementsByTagName(tag);
    for (var i = 0; i < all.length; i++) {
      if ((' ' + all[i].className + ' ').indexOf(' ' + name + ' ') >= 0) return all[i];
    }
    return null;
  }

  function text(node, value) {
    while (node.firstChild) node.removeChild(node.firstChild);
    node.appendChild(document.createTextNode(value));
  }

  // Ids are `<ms base36>-<seq base36><3-char origin>`: compare by those parts.
  function idKey(id) {
    var dash = id.indexOf('-');
    var ms = parseInt(id.slice(0, dash), 36);
    var seq = parseInt(id.slice(dash + 1, id.length - 3), 36) || 0;
    return [ms, seq, id.slice(id.length - 3)];
  }
  function before(a, b) {
    var x = idKey(a), y = idKey(b);
    return x[0] !== y[0] ? x[0] < y[0] : x[1] !== y[1] ? x[1] < y[1] : x[2] < y[2];
  }

  function pad(n) { return n < 10 ? '0' + n : String(n); }

  function lineItem(line) {
    var li = document.createElement('li');
    li.className = line.kind === 'event' ? 'evchat-line evchat-event' : 'evchat-line';
    li.setAttribute('data-id', line.id);
    var time = document.createElement('time');
    var at = new Date(line.time);
    time.setAttribute('datetime', at.toISOString ? at.toISOString() : String(line.time));
    time.setAttribute('title', at.toLocaleString());
    text(time, pad(at.getHours()) + ':' + pad(at.getMinutes()));
    li.appendChild(time);
    li.appendChild(document.createTextNode(' '));
    if (line.kind !== 'event') {
      var nick = document.createElement('span');
      nick.className = 'evchat-nick';
      text(nick, line.nick);
      li.appendChild(nick);
      li.appendChild(document.createTextNode(' '));
    }
    var body = document.createElement(line.event && line.event.url ? 'a' : 'span');
    body.className = 'evchat-text';
    if (line.event && line.event.url && /^https?:\/\//i.test(line.event.url)) {
      body.setAttribute('href', line.event.url);
      body.setAttribute('target', '_top');
      body.setAttribute('rel', 'noopener');
    }
    text(body, line.text);
    li.appendChild(body);
    if (data.user && data.user.moderator) {
      var remove = document.createElement('button');
      remove.setAttribute('type', 'button');
      remove.className = 'evchat-delete';
      remove.setAttribute('aria-label', 'Delete this line by ' + line.nick);
      text(remove, '×');
      remove.onclick = function () { request('DELETE', base + '/lines/' + line.id, null, function () {}); };
      li.appendChild(document.createTextNode(' '));
      li.appendChild(remove);
    }
    return li;
  }

  /** Shows a line once, in id order, keeping the view at the bottom if it was. */
  function addLine(line) {
    if (items[line.id]) return;
    var atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    var li = lineItem(line);
    var next = null;
    for (var node = log.lastChild; node; node = node.previousSibling) {
      var id = node.getAttribute && node.getAttribute('data-id');
      if (!id || !before(line.id, id)) break;
      next = node;
    }
    log.insertBefore(li, next);
    items[line.id] = li;
    if (!lastLineId || before(lastLineId, line.id)) lastLineId = line.id;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function removeLine(id) {
    var li = items[id];
    if (li && li.parentNode) li.parentNode.removeChild(li);
    delete items[id];
  }

  function showWho() {
    while (whoList.firstChild) whoList.removeChild(whoList.firstChild);
    var nicks = [];
    for (var id in who) if (Object.prototype.hasOwnProperty.call(who, id)) nicks.push(who[id]);
    nicks.sort(function (a, b) { return a.toLowerCase() < b.toLowerCase() ? -1 : 1; });
    for (var i = 0; i < nicks.length; i++) {
      var li = document.createElement('li');
      text(li, nicks[i]);
      whoList.appendChild(li);
    }
  }

  function request(method, url, body, done) {
    var xhr = window.XMLHttpRequest ? new XMLHttpRequest() : new window.ActiveXObject('Microsoft.XMLHTTP');
    xhr.open(method, url, true);
    if (body !== null) xhr.setRequestHeader('Content-Type', 'application/json');
    if (data.csrf) xhr.setRequestHeader('X-CSRF-Token', data.csrf);
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) return;
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = null; }
      done(xhr.status, answer, xhr);
    };
    xhr.send(body === null ? null : JSON.stringify(body));
  }

  // "Older lines": the control and the lines it loads, at the top of the log in
  // an item marked aria-live="off". The log is a live region, and lines the
  // reader asked for from the past are not news, so screen readers must not
  // read 30 of them out. (aria-busy would not do: assistive technology may read
  // a busy region's changes out once it is no longer busy.)
  var OLDER_BATCH = 30;
  var olderItem = document.createElement('li');
  olderItem.className = 'evchat-older';
  olderItem.setAttribute('aria-live', 'off');
  var olderButton = document.createElement('button');
  olderButton.setAttribute('type', 'button');
  text(olderButton, 'Older lines');
  var olderList = document.createElement('ol');
  olderList.className = 'evchat-older-lines';
  olderItem.appendChild(olderButton);
  olderItem.appendChild(olderList);
  var loadingOlder = false;

  /** The oldest line shown or, with none, the id the page's feed began after (all history is before it). */
  function oldestShownId() {
    if (olderList.firstChild) return olderList.firstChild.getAttribute('data-id');
    for (var node = olderItem.nextSibling; node; node = node.nextSibling) {
      var id = node.getAttribute && node.getAttribute('data-id');
      if (id) return id;
    }
    return data.since;
  }

  /** Makes a change above the lines shown without moving them on the screen. */
  function keepingView(change) {
    var anchor = olderItem.nextSibling || olderList.firstChild;
    var top = anchor ? anchor.getBoundingClientRect().top : 0;
    change();
    if (anchor) log.scrollTop += anchor.getBoundingClientRect().top - top;
  }

  /** Puts lines older than every line shown (oldest first) above them, each once. */
  function prependOlder(lines) {
    var first = olderList.firstChild;
    for (var k = 0; k < lines.length; k++) {
      if (items[lines[k].id]) continue;
      var li = lineItem(lines[k]);
      olderList.insertBefore(li, first);
      items[lines[k].id] = li;
    }
  }

  function showOlder() {
    if (loadingOlder) return;
    loadingOlder = true;
    // aria-disabled rather than disabled: disabling the button would take the keyboard focus off it.
    olderButton.setAttribute('aria-disabled', 'true');
    text(olderButton, 'Loading…');
    var query = '?before=' + encodeURIComponent(oldestShownId()) + '&limit=' + OLDER_BATCH;
    request('GET', base + '/history' + query, null, function (status, answer) {
      loadingOlder = false;
      olderButton.removeAttribute('aria-disabled');
      keepingView(function () {
        if (status !== 200 || !answer) {
          text(olderButton, 'Could not load older lines; try again');
          return;
        }
        prependOlder(answer.lines);
        if (answer.lines.length === OLDER_BATCH) {
          text(olderButton, 'Older lines');
          return;
        }
        text(olderButton, 'No older lines');
        var hadFocus = document.activeElement === olderButton;
        olderButton.disabled = true;
        if (hadFocus) log.focus();
      });
    });
  }
  olderButton.onclick = showOlder;

  // The page's history, rebuilt from its data so that times are local.
  while (log.firstChild) log.removeChild(log.firstChild);
  log.appendChild(olderItem);
  if (!data.olderLines) olderButton.style.display = 'none'; // a young room: all of it is here
  if (data.historyError) {
    var notice = document.createElement('li');
    notice.className = 'evchat-line evchat-event';
    text(notice, 'History is unavailable right now.');
    log.appendChild(notice);
  }
  for (var i = 0; i < data.lines.length; i++) addLine(data.lines[i]);
  for (var j = 0; j < data.who.length; j++) who[data.who[j].id] = data.who[j].nick;
  showWho();

  /** After a gap (the server restarted, or we were away too long): fetch the lines we missed. */
  function catchUp() {
    var query = lastLineId ? '?after=' + encodeURIComponent(lastLineId) + '&limit=200' : '?limit=' + (data.lines.length || 30);
    request('GET', base + '/history' + query, null, function (status, answer) {
      if (status !== 200 || !answer) return;
      for (var k = 0; k < answer.lines.length; k++) addLine(answer.lines[k]);
      if (answer.lines.length === 200) catchUp();
    });
    request('GET', base + '/who', null, function (status, answer) {
      if (status !== 200 || !answer) return;
      who = {};
      for (var k = 0; k < answer.users.length; k++) who[answer.users[k].id] = answer.users[k].nick;
      showWho();
    });
  }

  var states = { connecting: 'connecting…', connected: 'live', reconnecting: 'reconnecting…', closed: 'disconnected' };
  window.evcomet.connect(base + '/events', {
    since: data.since,
    onMessage: function (message) {
      if (!message) return;
      if (message.type === 'line') addLine(message.line);
      else if (message.type === 'delete') removeLine(message.id);
      else if (message.type === 'join') { who[message.user.id] = message.user.nick; showWho(); }
      else if (message.type === 'leave') { delete who[message.user.id]; showWho(); }
    },
    onStatus: function (state) {
      text(statusNode, states[state] || state);
      statusNode.className = 'evchat-status evchat-' + state;
    },
    onGap: catchUp
  });

  if (!form || !input) return;
  var pending = null; // { text, key }: a post being sent, retried under the same key

  function send(attempt) {
    request('POST', base + '/lines', { text: pending.text, key: pending.key }, function (status, answer, xhr) {
      if (status === 200 || status === 201) {
        addLine(answer.line);
        pending = null;
        input.value = '';
        text(errorNode, '');
        input.disabled = false;
        input.focus();
        return;
      }
      var retryable = status === 0 || status === 503 || status === 429;
      if (retryable && attempt < 4) {
        var wait = status === 429 ? (Number(xhr.getResponseHeader('Retry-After')) || 2) * 1000 : 500 * Math.pow(2, attempt);
        text(errorNode, status === 429 ? 'Slow down a little…' : 'Retrying…');
        setTimeout(function () { send(attempt + 1); }, wait);
        return;
      }
      pending = null;
      input.disabled = false;
      text(errorNode, (answer && answer.message) || 'Could not send; try again.');
    });
  }

  form.onsubmit = function () {
    var value = input.value.replace(/^\s+|\s+$/g, '');
    if (!value || pending) return false;
    pending = { text: value, key: 'k' + new Date().getTime().toString(36) + Math.random().toString(36).slice(2) };
    input.disabled = true;
    send(0);
    return false;
  };
})();
