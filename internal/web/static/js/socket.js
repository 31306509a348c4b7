// socket.js: the live connection and the outbox.
//
// Socket keeps one WebSocket to /api/v1/ws open: it authenticates with the
// first frame, matches replies to requests by ref, checks the connection
// with pings, and reconnects with exponential back-off and jitter as the
// close code says (4001 and 4003 end the session instead). What to resume is
// the caller's business, in onReady.
//
// Outbox holds messages typed but not yet acknowledged, in localStorage so
// that a reload keeps them. Each has a client_id from the start; every retry
// reuses it, so the server stores the message once however often it is sent.

export const Close = Object.freeze({
  GOING_AWAY: 1001,
  TOO_SLOW: 4000,
  TOKEN_INVALID: 4001,
  DEACTIVATED: 4003,
  RATE_LIMITED: 4008,
  AUTH_TIMEOUT: 4009,
});

const PING_EVERY = 25_000;
const REPLY_TIMEOUT = 15_000;
const MAX_BACKOFF = 30_000;

// SocketError is a request that failed: the server's error frame, or the
// connection lost before the reply (code "disconnected", transient).
export class SocketError extends Error {
  constructor(code, message, retryAfter = 0) {
    super(message || code);
    this.code = code;
    this.retryAfter = retryAfter;
  }

  get transient() {
    return this.code === 'disconnected' || this.code === 'timeout' || this.code === 'rate_limited'
      || this.code === 'internal';
  }
}

export class Socket {
  // url is the WebSocket URL; on are the callbacks: ready(frame) after
  // authentication, frame(frame) for every frame that is not a reply,
  // state(state, info) on changes ("connecting", "open", "offline"
  // with info.retryIn in ms, "stopped"), and fatal(reason) when the
  // session is over ("token" or "deactivated").
  constructor(url, token, on) {
    this.url = url;
    this.token = token;
    this.on = on;
    this.ws = null;
    this.ready = false;
    this.stopped = true;
    this.attempt = 0;
    this.nextRef = 1;
    this.pending = new Map(); // ref → {resolve, reject, timer}
    this.retryTimer = 0;
    this.pingTimer = 0;
    this.onOnline = () => { if (!this.ws && !this.stopped) this.connectNow(); };
  }

  start() {
    this.stopped = false;
    window.addEventListener('online', this.onOnline);
    this.connectNow();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener('online', this.onOnline);
    clearTimeout(this.retryTimer);
    const ws = this.ws;
    this.drop();
    if (ws) ws.close(1000, 'bye');
    this.on.state('stopped');
  }

  // connectNow drops any wait and connects at once.
  connectNow() {
    clearTimeout(this.retryTimer);
    if (this.ws || this.stopped) return;
    this.on.state('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'auth', token: this.token }));
    ws.onmessage = (ev) => this.receive(ev.data);
    ws.onclose = (ev) => { if (this.ws === ws) this.closed(ev.code); };
    ws.onerror = () => {}; // onclose follows with the code
  }

  // send sends a frame that needs no reply; it reports whether it went out.
  send(frame) {
    if (!this.ready) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  // request sends a frame with a fresh ref and resolves with the reply
  // (ack or pong), or rejects with a SocketError.
  request(frame, timeout = REPLY_TIMEOUT) {
    if (!this.ready) return Promise.reject(new SocketError('disconnected', 'not connected'));
    const ref = 'r' + this.nextRef++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(ref);
        reject(new SocketError('timeout', 'no reply from the server'));
        this.reconnect(); // a connection that does not answer is dead
      }, timeout);
      this.pending.set(ref, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, ref }));
    });
  }

  receive(data) {
    let f;
    try {
      f = JSON.parse(data);
    } catch {
      return;
    }
    if (f.type === 'ready') {
      this.ready = true;
      this.attempt = 0;
      this.schedulePing();
      this.on.state('open');
      this.on.ready(f);
      return;
    }
    const p = f.ref && this.pending.get(f.ref);
    if (p && (f.type === 'ack' || f.type === 'pong' || f.type === 'error')) {
      this.pending.delete(f.ref);
      clearTimeout(p.timer);
      if (f.type === 'error') p.reject(new SocketError(f.error?.code || 'unknown', f.error?.message, f.error?.retry_after));
      else p.resolve(f);
      return;
    }
    this.on.frame(f);
  }

  schedulePing() {
    clearTimeout(this.pingTimer);
    this.pingTimer = setTimeout(() => {
      this.request({ type: 'ping' }, 10_000).then(() => this.schedulePing(), () => {});
    }, PING_EVERY);
  }

  // reconnect abandons the current connection and starts another soon.
  reconnect() {
    if (!this.ws) return;
    const ws = this.ws;
    ws.close(1000, 'reconnecting');
    this.closed(1006);
  }

  // drop forgets the current connection and fails what waits on it.
  drop() {
    if (this.ws) this.ws.onclose = this.ws.onmessage = this.ws.onopen = null;
    this.ws = null;
    this.ready = false;
    clearTimeout(this.pingTimer);
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new SocketError('disconnected', 'connection lost'));
    }
    this.pending.clear();
  }

  closed(code) {
    this.drop();
    if (this.stopped) return;
    if (code === Close.TOKEN_INVALID || code === Close.DEACTIVATED) {
      this.stopped = true;
      this.on.fatal(code === Close.TOKEN_INVALID ? 'token' : 'deactivated');
      return;
    }
    const delay = this.delay(code);
    this.on.state('offline', { retryIn: delay, code });
    this.retryTimer = setTimeout(() => this.connectNow(), delay);
  }

  // delay is how long to wait before the next attempt: exponential with
  // jitter; short after a restart (1001) or being too slow (4000), since
  // resuming recovers what was missed; long after being rate limited.
  delay(code) {
    const n = this.attempt++;
    const base = Math.min(MAX_BACKOFF, 500 * 2 ** n);
    let d = base / 2 + Math.random() * base / 2;
    if ((code === Close.GOING_AWAY || code === Close.TOO_SLOW) && n === 0) d = 250 + Math.random() * 750;
    if (code === Close.RATE_LIMITED) d = Math.max(d, 5_000 + Math.random() * 5_000);
    return Math.round(d);
  }
}

// newClientID returns a random UUID. crypto.randomUUID exists only in
// secure contexts; a server reached over plain HTTP by address is not one.
export function newClientID() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// Outbox queues messages until the server acknowledges them. Items are
// {client_id, room_id, text, created_at, failed?, error?}. send(item) must
// resolve with the stored message or reject; errors that say "try later"
// (transient) leave the item queued, others mark it failed.
export class Outbox {
  constructor(storageKey, send, onChange) {
    this.key = storageKey;
    this.sendItem = send;
    this.onChange = onChange;
    this.items = [];
    this.flushing = false;
    try {
      this.items = JSON.parse(localStorage.getItem(this.key) || '[]');
    } catch {
      this.items = [];
    }
  }

  save() {
    try {
      localStorage.setItem(this.key, JSON.stringify(this.items));
    } catch {
      // A full or disabled storage loses the queue on reload only.
    }
    this.onChange();
  }

  add(roomID, text) {
    const item = { client_id: newClientID(), room_id: roomID, text, created_at: new Date().toISOString() };
    this.items.push(item);
    this.save();
    return item;
  }

  forRoom(roomID) {
    return this.items.filter((m) => m.room_id === roomID);
  }

  // settle removes the item the server has stored, once its message is
  // seen, by the reply or by the event.
  settle(clientID) {
    const n = this.items.length;
    this.items = this.items.filter((m) => m.client_id !== clientID);
    if (this.items.length !== n) this.save();
  }

  retry(clientID) {
    const m = this.items.find((x) => x.client_id === clientID);
    if (!m) return;
    delete m.failed;
    delete m.error;
    this.save();
    this.flush();
  }

  // flush sends the queued items one at a time, in the order they were
  // typed, and stops at the first that must wait.
  async flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const item = this.items.find((m) => !m.failed);
        if (!item) return;
        try {
          const msg = await this.sendItem(item);
          this.settle(item.client_id);
          this.onSent?.(item, msg);
        } catch (err) {
          if (!this.items.includes(item)) continue;
          if (err.transient) {
            // A live connection that said "later" gets another try; a lost
            // one is flushed again when it comes back.
            if (err.code === 'rate_limited' || err.status === 429) {
              setTimeout(() => this.flush(), 1000 * (err.retryAfter || 3));
            }
            return;
          }
          item.failed = true;
          item.error = err.message;
          this.save();
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
