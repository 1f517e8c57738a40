/*
 * comet.js: evcomet's browser library. No build step, no dependencies, ES3
 * syntax, so that it runs from IE 6 to today's browsers.
 *
 *   var handle = evcomet.connect('/comet/lobby', {
 *     since: 'mhw3k0zq-0a1b',            // resume after this id (optional)
 *     transport: 'sse',                  // force one (optional)
 *     onMessage: function (data, id) {}, // each message once, in order
 *     onStatus: function (state, info) {},  // connecting | connected | reconnecting | closed
 *     onGap: function (info) {}          // { reason, since }: messages may be missing
 *   });
 *   handle.close();
 *   var stop = comet_connection('/comet/lobby', function (data) {}); // EvServer's API
 *
 * One connection at a time, whatever the transport: a reconnect first ends the
 * old attempt, and every callback checks that it belongs to the current attempt,
 * so handlers never run twice for one message (sax-ng's client did, after a
 * laptop woke). Repeats are dropped by id; a resume asks for what came after the
 * last id seen. Wire formats: docs/transports.md; this library: docs/comet-js.md.
 */
(function (window, document) {
  var evcomet = {};
  var counter = 0;

  // --- small helpers ------------------------------------------------------------

  function now() { return new Date().getTime(); }

  var parseJson = window.JSON && window.JSON.parse ? function (text) { return window.JSON.parse(text); }
    // IE 6-7: the server's JSON is script-safe (docs/transports.md, Escaping).
    : function (text) { return (new Function('return (' + text + ');'))(); };

  function withQuery(url, params) {
    var parts = [];
    for (var key in params) {
      if (params.hasOwnProperty(key) && params[key] !== undefined && params[key] !== null) {
        parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(params[key]));
      }
    }
    return parts.length ? url + (url.indexOf('?') < 0 ? '?' : '&') + parts.join('&') : url;
  }

  function newXhr() {
    if (window.XMLHttpRequest) return new window.XMLHttpRequest();
    var names = ['Msxml2.XMLHTTP.6.0', 'Msxml2.XMLHTTP.3.0', 'Microsoft.XMLHTTP'];
    for (var i = 0; i < names.length; i++) {
      try { return new window.ActiveXObject(names[i]); } catch (e) { /* try the next */ }
    }
    return null;
  }

  function isCrossOrigin(url) {
    var m = /^(https?:)?\/\/([^\/?#]+)/i.exec(url);
    if (!m) return false;
    return (m[1] ? m[1].toLowerCase() !== window.location.protocol : false) || m[2].toLowerCase() !== window.location.host.toLowerCase();
  }

  function removeNode(node) {
    if (node && node.parentNode) node.parentNode.removeChild(node);
  }

  // --- parsers: fed text as it arrives, split anywhere ----------------------------

  /** An item is a message `{ id, data }`, a control `{ control, … }`, or null for a heartbeat. */
  function itemOf(value) {
    return value === undefined ? null : value;
  }

  /** Newline-delimited JSON (xhr-stream, chunked): a blank line is a heartbeat. */
  function ndjsonParser(onItem) {
    var pending = '';
    return {
      push: function (text) {
        pending += text;
        var at;
        while ((at = pending.indexOf('\n')) >= 0) {
          var line = pending.substring(0, at);
          pending = pending.substring(at + 1);
          var item = null;
          // A line that is not JSON (a proxy's error page, a cut) is skipped, not fatal.
          if (!/^\s*$/.test(line)) { try { item = itemOf(parseJson(line)); } catch (e) { continue; } }
          onItem(item);
        }
      }
    };
  }

  /** Server-Sent Events, per the WHATWG rules, for browsers that read them from XHR. */
  function sseParser(onItem) {
    var pending = '';
    var data = [];
    var event = '';
    var id;
    var afterCr = false;
    function line(text) {
      if (text === '') {
        if (data.length) {
          var value = parseJson(data.join('\n'));
          if (event) onItem(value);
          else onItem({ id: id, data: value });
        } else if (!event) {
          onItem(null);
        }
        data = [];
        event = '';
        id = undefined;
        return;
      }
      if (text.charAt(0) === ':') return;
      var colon = text.indexOf(':');
      var field = colon < 0 ? text : text.substring(0, colon);
      var value2 = colon < 0 ? '' : text.substring(colon + 1);
      if (value2.charAt(0) === ' ') value2 = value2.substring(1);
      if (field === 'data') data.push(value2);
      else if (field === 'event') event = value2;
      else if (field === 'id') id = value2;
    }
    return {
      push: function (text) {
        for (var i = 0; i < text.length; i++) {
          var c = text.charAt(i);
          if (c === '\n' && afterCr) { afterCr = false; continue; } // the LF of a CRLF
          afterCr = c === '\r';
          if (c === '\n' || c === '\r') {
            line(pending);
            pending = '';
          } else {
            pending += c;
          }
        }
      }
    };
  }

  /** A long-poll answer: a JSON array of items. */
  function parseBatch(text) {
    var items = parseJson(text);
    return items && items.length !== undefined ? items : [];
  }

  evcomet._parsers = { ndjson: ndjsonParser, sse: sseParser, batch: parseBatch };

  // --- transports: each opens one attempt and reports to `sink` ---------------------
  //   sink.item(item)   a message, a control, or null (heartbeat)
  //   sink.alive()      bytes are flowing: the transport works here
  //   sink.end(clean)   the attempt is over (clean: the server ended it on purpose)
  // Each returns a function that ends the attempt at once.

  var transports = {};

  transports.sse = function (url, since, sink) {
    var source = new window.EventSource(withQuery(url, { transport: 'sse', since: since }));
    var over = false;
    function end(clean) {
      if (over) return;
      over = true;
      source.close();
      sink.end(clean);
    }
    source.onopen = function () { sink.alive(); };
    source.onmessage = function (e) { sink.item({ id: e.lastEventId || undefined, data: parseJson(e.data) }); };
    source.addEventListener('gap', function (e) { sink.item(parseJson(e.data)); }, false);
    source.addEventListener('heartbeat', function () { sink.item(null); }, false);
    // EventSource would wait `retry` and come back by itself; we reconnect at once, with our own id.
    source.addEventListener('reconnect', function (e) { sink.item(parseJson(e.data)); end(true); }, false);
    source.onerror = function () { end(false); };
    return function () { over = true; source.close(); };
  };

  function streamOverXhr(transport, parserOf) {
    return function (url, since, sink) {
      var xhr = newXhr();
      var seen = 0;
      var over = false;
      var parser = parserOf(function (item) { if (!over) sink.item(item); });
      function read() {
        var text;
        try { text = xhr.responseText; } catch (e) { return; } // IE throws before readyState 3
        if (!text || text.length <= seen) return;
        if (seen === 0) sink.alive();
        var fresh = text.substring(seen);
        seen = text.length;
        parser.push(fresh);
      }
      xhr.onreadystatechange = function () {
        if (over) return;
        if (xhr.readyState === 3) read();
        if (xhr.readyState === 4) {
          read();
          over = true;
          sink.end(xhr.status === 200);
        }
      };
      // Browsers that fire readyState 3 once report later bytes through progress.
      if ('onprogress' in xhr) xhr.onprogress = function () { if (!over) read(); };
      xhr.open('GET', withQuery(url, { transport: transport, since: since }), true);
      xhr.send(null);
      return function () {
        over = true;
        xhr.onreadystatechange = function () {};
        try { xhr.abort(); } catch (e) { /* already over */ }
      };
    };
  }

  transports['xhr-stream'] = streamOverXhr('xhr-stream', ndjsonParser);

  /** IE 8-9 across origins: XDomainRequest reads xhr-stream's NDJSON. */
  transports.xdr = function (url, since, sink) {
    var xdr = new window.XDomainRequest();
    var seen = 0;
    var over = false;
    var parser = ndjsonParser(function (item) { if (!over) sink.item(item); });
    function read() {
      var text = xdr.responseText;
      if (text.length <= seen) return;
      if (seen === 0) sink.alive();
      var fresh = text.substring(seen);
      seen = text.length;
      parser.push(fresh);
    }
    xdr.onprogress = read;
    xdr.onload = function () { read(); if (!over) { over = true; sink.end(true); } };
    xdr.onerror = xdr.ontimeout = function () { if (!over) { over = true; sink.end(false); } };
    xdr.open('GET', withQuery(url, { transport: 'xhr-stream', since: since }));
    xdr.send();
    return function () { over = true; try { xdr.abort(); } catch (e) { /* already over */ } };
  };

  /** The forever frame: in IE's `htmlfile` document where there is one (no clicks, no busy cursor), else a hidden iframe. */
  transports.iframe = function (url, since, sink) {
    var name = '_evcomet' + (++counter) + '_' + now();
    var over = false;
    var host = window;
    var htmlfile = null;
    var frame;
    var src = withQuery(url, { transport: 'iframe', callback: name, since: since });
    var callback = function (item) {
      if (over) return;
      sink.alive();
      sink.item(item === undefined ? null : item);
      if (item && item.control === 'reconnect') finish(true);
    };
    function finish(clean) {
      if (over) return;
      over = true;
      cleanup();
      sink.end(clean);
    }
    function cleanup() {
      try { host[name] = undefined; } catch (e) { /* gone with its document */ }
      if (frame) { frame.onload = null; try { frame.src = 'about:blank'; } catch (e2) { /* gone */ } removeNode(frame); }
      if (htmlfile) { htmlfile = null; if (window.CollectGarbage) window.CollectGarbage(); }
    }
    try {
      if (window.ActiveXObject && !window.XMLHttpRequest || (window.ActiveXObject && !('onprogress' in newXhr()))) {
        htmlfile = new window.ActiveXObject('htmlfile');
        htmlfile.open();
        htmlfile.write('<html><body></body></html>');
        htmlfile.close();
        host = htmlfile.parentWindow;
      }
    } catch (e) {
      htmlfile = null;
      host = window;
    }
    host[name] = callback;
    frame = (htmlfile || document).createElement('iframe');
    frame.style.display = 'none';
    // The document ends when the server ends the response: come back for more.
    frame.onload = function () { finish(false); };
    frame.src = src;
    (htmlfile ? htmlfile.body : document.body || document.documentElement).appendChild(frame);
    return function () { over = true; cleanup(); };
  };

  function pollWith(send) {
    return function (url, since, sink) {
      var over = false;
      var cancel = send(url, since, function (ok, items) {
        if (over) return;
        over = true;
        if (ok) {
          sink.alive();
          for (var i = 0; i < items.length; i++) sink.item(items[i]);
        }
        sink.end(ok);
      });
      return function () { over = true; cancel(); };
    };
  }

  transports.longpoll = pollWith(function (url, since, done) {
    var xhr = newXhr();
    xhr.onreadystatechange = function () {
      if (xhr.readyState !== 4) return;
      var items = null;
      if (xhr.status === 200) {
        try { items = parseBatch(xhr.responseText); } catch (e) { items = null; }
      }
      done(items !== null, items || []);
    };
    xhr.open('GET', withQuery(url, { transport: 'longpoll', since: since }), true);
    xhr.send(null);
    return function () { xhr.onreadystatechange = function () {}; try { xhr.abort(); } catch (e) { /* over */ } };
  });

  transports.jsonp = pollWith(function (url, since, done) {
    var name = '_evcomet' + (++counter) + '_' + now();
    var script = document.createElement('script');
    var head = document.getElementsByTagName('head')[0] || document.documentElement;
    var answered = false;
    function cleanup() {
      script.onload = script.onerror = script.onreadystatechange = null;
      removeNode(script);
      // Old IE cannot delete window properties; a leftover name stays a harmless no-op.
      window[name] = function () {};
    }
    window[name] = function (items) {
      answered = true;
      cleanup();
      done(true, items || []);
    };
    // A script that loaded but never called back: an error page, or a network fault.
    script.onerror = function () { if (!answered) { cleanup(); done(false, []); } };
    script.onreadystatechange = function () {
      if (!answered && (script.readyState === 'loaded' || script.readyState === 'complete')) {
        setTimeout(function () { if (!answered) { cleanup(); done(false, []); } }, 0);
      }
    };
    script.src = withQuery(url, { transport: 'jsonp', callback: name, since: since });
    head.appendChild(script);
    return cleanup;
  });

  /** The transports to try, best first, for this browser and this URL. */
  function chain(url) {
    var list = [];
    var cross = isCrossOrigin(url);
    var xhr = window.XMLHttpRequest ? new window.XMLHttpRequest() : null;
    var cors = xhr && 'withCredentials' in xhr;
    if (window.EventSource && (!cross || cors)) list.push('sse');
    if (xhr && 'onprogress' in xhr && (!cross || cors)) list.push('xhr-stream');
    else if (cross && window.XDomainRequest) list.push('xdr');
    if (!cross && window.ActiveXObject && !(xhr && 'onprogress' in xhr)) list.push('iframe');
    if (!cross || cors) list.push('longpoll');
    list.push('jsonp');
    return list;
  }

  evcomet.transportsFor = chain;

  // --- a connection ------------------------------------------------------------------

  function compareIds(a, b) {
    var pa = /^([0-9a-z]+)-([0-9a-z]*?)([0-9a-z]{3})$/.exec(a);
    var pb = /^([0-9a-z]+)-([0-9a-z]*?)([0-9a-z]{3})$/.exec(b);
    if (!pa || !pb) return 0;
    return (parseInt(pa[1], 36) - parseInt(pb[1], 36)) || (parseInt(pa[2] || '0', 36) - parseInt(pb[2] || '0', 36))
      || (pa[3] < pb[3] ? -1 : pa[3] > pb[3] ? 1 : 0);
  }

  /** One client's view of a channel: dedupe by id, the last id, and callbacks. */
  function makeReceiver(options) {
    var seen = {};
    var order = [];
    var receiver = {
      lastId: options.since || undefined,
      message: function (data, id) {
        if (id !== undefined && id !== null && id !== '') {
          if (seen[id]) return false;
          seen[id] = true;
          order.push(id);
          if (order.length > 1000) delete seen[order.shift()];
          if (!receiver.lastId || compareIds(id, receiver.lastId) > 0) receiver.lastId = id;
        }
        if (options.onMessage) options.onMessage(data, id);
        return true;
      }
    };
    return receiver;
  }

  var defaults = {
    heartbeatTimeout: 45000, // the server beats at least every 25 s
    aliveTimeout: 6000,      // a streaming attempt that shows no bytes by then is buffered or blocked
    pollTimeout: 45000,      // a long-poll is held at most 25 s
    welcomeTimeout: 2000,    // a joining tab unanswered by the leader this long catches up from the server
    minDelay: 500,
    maxDelay: 30000
  };

  /** An option's value: the caller's, else the default. */
  function settingsOf(options) {
    return function (name) { return options[name] !== undefined ? options[name] : defaults[name]; };
  }

  function directConnection(url, options, receiver, report) {
    var list = options.transport ? [options.transport] : chain(url);
    var index = 0;
    var stopAttempt = null;
    var attempt = 0;
    var failures = 0;
    var worked = false; // the current transport has come alive here once: keep it, whatever happens later
    var watchdog = null;
    var retryTimer = null;
    var closed = false;
    var setting = settingsOf(options);

    function status(state, info) { report.status(state, info); }

    function arm(ms, onExpire) {
      if (watchdog) clearTimeout(watchdog);
      watchdog = setTimeout(onExpire, ms);
    }

    function open() {
      retryTimer = null;
      if (closed) return;
      var mine = ++attempt;
      var name = list[index];
      var alive = false;
      var streaming = name !== 'longpoll' && name !== 'jsonp';
      var current = function () { return mine === attempt && !closed; };
      var heartbeatLost = function () { if (current()) dropped('no heartbeat'); };
      var sink = {
        alive: function () {
          if (!current() || alive) return;
          alive = true;
          worked = true;
          failures = 0;
          status('connected', { transport: name });
          if (streaming) arm(setting('heartbeatTimeout'), heartbeatLost);
          else if (watchdog) clearTimeout(watchdog);
        },
        item: function (item) {
          if (!current()) return;
          if (streaming && alive) arm(setting('heartbeatTimeout'), heartbeatLost);
          if (item === null || item === undefined) return;
          if (item.control === 'gap') {
            // Go on from where the server can resume exactly; later messages move it on.
            if (item.resume) receiver.lastId = item.resume;
            report.gap({ reason: item.reason, since: item.since });
          } else if (item.control === 'reconnect' || item.control === 'heartbeat') return;
          else if (item.control === undefined) report.message(item.data, item.id);
        },
        end: function (clean) {
          if (!current()) return;
          if (clean && (alive || !streaming)) next(0);
          else dropped(alive ? 'closed' : 'failed');
        }
      };
      status(mine === 1 ? 'connecting' : 'reconnecting', { transport: name });
      // The forever frame says nothing until its first item or heartbeat.
      arm(!streaming ? setting('pollTimeout') : name === 'iframe' ? setting('heartbeatTimeout') : setting('aliveTimeout'), function () {
        if (current() && !alive) dropped('buffered');
        else if (current() && !streaming) dropped('timeout');
      });
      try {
        stopAttempt = transports[name](url, receiver.lastId, sink);
      } catch (e) {
        stopAttempt = null;
        dropped('failed');
      }
    }

    function end() {
      attempt++;
      if (watchdog) { clearTimeout(watchdog); watchdog = null; }
      if (stopAttempt) { var stop = stopAttempt; stopAttempt = null; stop(); }
    }

    function next(delay) {
      end();
      if (closed) return;
      if (delay > 0) status('reconnecting', { transport: list[index], delay: delay });
      retryTimer = setTimeout(open, delay);
    }

    function dropped(why) {
      failures++;
      // A transport that never came alive here (buffered, or failed twice in a row) gives way to the next.
      if (!worked && (why === 'buffered' || (why === 'failed' && failures >= 2)) && index < list.length - 1) {
        index++;
        failures = 0;
        next(0);
        return;
      }
      var base = Math.min(setting('maxDelay'), setting('minDelay') * Math.pow(2, Math.max(0, failures - 1)));
      next(Math.round(base / 2 + Math.random() * base / 2));
    }

    open();
    return {
      transport: function () { return list[index]; },
      close: function () {
        closed = true;
        end();
        if (retryTimer) clearTimeout(retryTimer);
      }
    };
  }

  // --- sharing one connection among the tabs of a site --------------------------------
  // One tab leads: it keeps the connection and passes every message on
  // (BroadcastChannel, else storage events). The others listen. Where the
  // browser has Web Locks, the tab holding a lock named after the URL leads,
  // and the browser hands the lock on when it goes: no timers, so a hidden
  // tab whose timers are throttled keeps the lead. Elsewhere the leader holds
  // a lease in localStorage that it renews, and the next tab to find the lease
  // expired takes over. Either way a new leader resumes from its own last id,
  // so nothing is lost; repeats are dropped by id as always.

  var LEASE_MS = 4000;
  var RENEW_MS = 1500;

  function storage() {
    try {
      var s = window.localStorage;
      s.setItem('evcomet.probe', '1');
      s.removeItem('evcomet.probe');
      return s;
    } catch (e) {
      return null;
    }
  }

  function bus(key, onMessage) {
    if (window.BroadcastChannel) {
      var channel = new window.BroadcastChannel(key);
      channel.onmessage = function (e) { onMessage(e.data); };
      return { send: function (m) { channel.postMessage(m); }, close: function () { channel.close(); } };
    }
    var store = storage();
    var slot = key + '.msg';
    var listener = function (e) {
      e = e || window.event;
      if (e.key === slot && e.newValue) onMessage(parseJson(e.newValue).m);
    };
    if (window.addEventListener) window.addEventListener('storage', listener, false);
    else document.attachEvent('onstorage', listener);
    return {
      send: function (m) { store.setItem(slot, window.JSON.stringify({ m: m, n: Math.random() })); },
      close: function () {
        if (window.removeEventListener) window.removeEventListener('storage', listener, false);
        else document.detachEvent('onstorage', listener);
      }
    };
  }

  function sharedConnection(url, options, receiver, report) {
    var store = storage();
    var key = 'evcomet:' + url;
    var leaseKey = key + '.lease';
    var me = now() + '.' + Math.random();
    var direct = null;
    var ring = [];          // what this tab passed on as leader, for tabs that join later
    var coveredFrom = null; // the id this tab's connection resumed from
    var trimmed = null;     // the last id the ring let go of
    var timer = null;
    var closed = false;
    var locks = window.navigator && window.navigator.locks;
    var unlock = null;      // set while this tab waits for or holds the lock
    var since = receiver.lastId;
    // A tab that joins with an id holds live messages until it has what came
    // after that id: delivered at once, they would come before that backlog,
    // and would move lastId past it before it is fetched.
    var pending = since ? [] : null;
    var waiting = null;     // the timer while this tab waits for its welcome
    var stopPoll = null;    // ends the catch-up long-poll under way, or the wait to retry it
    var setting = settingsOf(options);
    var channel = bus(key, function (m) {
      if (closed || !m) return;
      if (m.type === 'message') {
        if (pending) pending.push(m);
        else receiver.message(m.data, m.id);
      }
      else if (m.type === 'gap') report.gap(m.info);
      else if (m.type === 'status' && !direct) report.status(m.state, m.info);
      else if (m.type === 'bye' && !direct && !unlock) setTimeout(check, Math.random() * 100);
      else if (m.type === 'hello' && direct) welcome(m);
      else if (m.type === 'welcome' && m.to === me) welcomed(m);
    });

    // A tab that joins with an id (its page's history) must get what came after
    // it: from the leader's ring when that reaches back far enough, else from the server.
    function welcome(m) {
      var items = [];
      // The ring holds every message after the last id it let go of, else after where the connection resumed.
      var from = trimmed || coveredFrom;
      var complete = !m.since || !!(from && compareIds(m.since, from) >= 0);
      for (var i = 0; i < ring.length; i++) {
        if (m.since && ring[i].id === m.since) complete = true;
        // A tab that joins without an id starts from now, as a direct connection would.
        if (m.since && compareIds(ring[i].id, m.since) > 0) items.push(ring[i]);
      }
      channel.send({ type: 'welcome', to: m.from, items: items, complete: complete, at: receiver.lastId });
      channel.send({ type: 'status', state: 'connected', info: { shared: true } });
    }

    function welcomed(m) {
      // A tab that joined from now starts where the leader is: should it lead one
      // day, it resumes from there rather than from whenever it takes over.
      if (!since) {
        if (!receiver.lastId && m.at) receiver.lastId = m.at;
        return;
      }
      if (!waiting) return; // caught up already, or asking the server
      clearTimeout(waiting);
      waiting = null;
      if (m.complete) caughtUp(m.items);
      else poll(0);
    }

    // What came after `since`, from the server: a long-poll answers with all of it, in order.
    function poll(failures) {
      var items = [];
      var stop = null;
      var watchdog = setTimeout(function () { stopPoll(); retry(failures + 1); }, setting('pollTimeout'));
      // Set before the request: an old browser may end it before send() returns.
      stopPoll = function () { stopPoll = null; clearTimeout(watchdog); if (stop) stop(); };
      stop = transports.longpoll(url, since, {
        alive: function () {},
        item: function (item) {
          if (!item) return;
          if (item.control === 'gap') report.gap({ reason: item.reason, since: item.since });
          else if (item.control === undefined) items.push(item);
        },
        end: function (ok) {
          stopPoll();
          if (ok) caughtUp(items);
          else retry(failures + 1);
        }
      });
    }

    function retry(failures) {
      var delay = setTimeout(function () { poll(failures); }, Math.min(setting('maxDelay'), setting('minDelay') * Math.pow(2, failures - 1)));
      stopPoll = function () { stopPoll = null; clearTimeout(delay); };
    }

    /** Ends holding: the backlog in order, then what was held; repeats are dropped by id. */
    function caughtUp(items) {
      var live = pending;
      stopCatchingUp();
      for (var i = 0; i < items.length; i++) receiver.message(items[i].data, items[i].id);
      for (var j = 0; j < live.length; j++) receiver.message(live[j].data, live[j].id);
    }

    function stopCatchingUp() {
      pending = null;
      if (waiting) { clearTimeout(waiting); waiting = null; }
      if (stopPoll) stopPoll();
    }

    function lease() {
      try { return parseJson(store.getItem(leaseKey) || 'null'); } catch (e) { return null; }
    }

    function lead() {
      // Its own connection resumes from `since`: what was held comes again, in order.
      stopCatchingUp();
      // A ring from an earlier lead would leave out what came while this tab followed.
      ring = [];
      trimmed = null;
      coveredFrom = receiver.lastId || null;
      direct = directConnection(url, options, receiver, {
        message: function (data, id) {
          if (!receiver.message(data, id)) return;
          if (id) {
            ring.push({ data: data, id: id });
            if (ring.length > 300) trimmed = ring.shift().id;
          }
          channel.send({ type: 'message', data: data, id: id });
        },
        gap: function (info) {
          // Its connection missed messages: the ring vouches only for what comes
          // after this, and a tab joining from before it asks the server (and hears of the gap).
          ring = [];
          trimmed = null;
          coveredFrom = null;
          report.gap(info);
          channel.send({ type: 'gap', info: info });
        },
        status: function (state, info) { report.status(state, info); channel.send({ type: 'status', state: state, info: info }); }
      });
    }

    function check() {
      if (closed) return;
      var held = lease();
      if (direct) {
        if (held && held.by !== me) { // another tab took over while this one was frozen: step down
          direct.close();
          direct = null;
        } else {
          store.setItem(leaseKey, window.JSON.stringify({ by: me, until: now() + LEASE_MS }));
        }
      } else if (!held || held.until < now()) {
        store.setItem(leaseKey, window.JSON.stringify({ by: me, until: now() + LEASE_MS }));
        // Two tabs may claim at once: the last write wins, and only it leads.
        setTimeout(function () {
          var won = lease();
          if (!closed && !direct && won && won.by === me) lead();
        }, 50);
      }
      clearTimeout(timer);
      timer = setTimeout(check, RENEW_MS + Math.random() * 200);
    }

    // Leads from when the browser grants the lock until close() lets it go.
    function queue() {
      var abort = window.AbortController ? new window.AbortController() : null;
      var release = null;
      unlock = function () {
        if (abort) abort.abort();
        if (release) release();
      };
      locks.request(key, abort ? { signal: abort.signal } : {}, function () {
        if (closed) return null; // granted after close() where the request could not be aborted
        lead();
        return new window.Promise(function (resolve) { release = resolve; });
      })['catch'](function () {
        // Aborted by close(), or refused: lead by the lease rather than never.
        if (!closed) { unlock = null; check(); }
      });
    }

    function close() {
      if (closed) return;
      closed = true;
      clearTimeout(timer);
      stopCatchingUp();
      if (direct) {
        direct.close();
        direct = null;
        if (!unlock) {
          var held = lease();
          if (held && held.by === me) store.removeItem(leaseKey);
          channel.send({ type: 'bye' });
        }
      }
      if (unlock) unlock();
      channel.close();
    }

    report.status('connecting', { shared: true });
    channel.send({ type: 'hello', from: me, since: since });
    // A leader that goes before it answers, or never does: ask the server.
    if (since) waiting = setTimeout(function () { waiting = null; poll(0); }, setting('welcomeTimeout'));
    // The lock callback needs window.Promise (there wherever Web Locks are).
    if (locks && locks.request && window.Promise) queue();
    else check();
    return { close: close, leads: function () { return !!direct; } };
  }

  // --- the API -------------------------------------------------------------------------

  /**
   * Connects to a Comet URL. Options: since, transport, onMessage(data, id),
   * onStatus(state, info), onGap(info), share (default true: one connection for
   * all tabs of this site), heartbeatTimeout, aliveTimeout, welcomeTimeout,
   * minDelay, maxDelay.
   */
  evcomet.connect = function (url, options) {
    options = options || {};
    var receiver = makeReceiver(options);
    var state = '';
    var handle;
    var report = {
      message: function (data, id) { return receiver.message(data, id); },
      gap: function (info) {
        if (handle) handle.lastId = receiver.lastId;
        if (options.onGap) options.onGap(info);
      },
      status: function (s, info) {
        if (s === state && s !== 'reconnecting') return;
        state = s;
        if (options.onStatus) options.onStatus(s, info || {});
      }
    };
    var canShare = options.share !== false && !options.transport && storage() && (window.BroadcastChannel || window.JSON);
    function open() {
      return canShare ? sharedConnection(url, options, receiver, report) : directConnection(url, options, receiver, report);
    }
    var connection = open();
    var closed = false;
    // A page that leaves lets go at once (a leading tab hands the lead on rather
    // than after its lease runs out); one restored from the back/forward cache
    // comes back, resuming from its last id.
    function hidden() {
      if (connection) { connection.close(); connection = null; }
    }
    function shown(e) {
      if (e && e.persisted && !closed && !connection) connection = open();
    }
    if (window.addEventListener) {
      window.addEventListener('pagehide', hidden, false);
      window.addEventListener('pageshow', shown, false);
    }
    handle = {
      lastId: receiver.lastId,
      close: function () {
        closed = true;
        hidden();
        if (window.removeEventListener) {
          window.removeEventListener('pagehide', hidden, false);
          window.removeEventListener('pageshow', shown, false);
        }
        report.status('closed');
      },
      /** The transport in use ('shared' when another tab holds the connection; 'none' while the page is hidden). */
      transport: function () {
        if (!connection) return 'none';
        if (connection.transport) return connection.transport();
        return connection.leads() ? 'leader' : 'shared';
      }
    };
    // lastId, kept current without a getter (ES3).
    var message = receiver.message;
    receiver.message = function (data, id) {
      var fresh = message(data, id);
      handle.lastId = receiver.lastId;
      return fresh;
    };
    return handle;
  };

  /** EvServer's API: calls `callback(data)` for each message; returns a function that closes. */
  window.comet_connection = function (url, callback) {
    var handle = evcomet.connect(url, { onMessage: callback });
    return function () { handle.close(); };
  };

  window.evcomet = evcomet;
})(window, document);
