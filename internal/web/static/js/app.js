// app.js: starts the web client and ties its parts together: the session
// kept in localStorage, the REST API, the live socket with resume and the
// outbox, the store, the views, and the address bar (/rooms/{id}).
//
// Features the server may not have yet (read markers, receipts, unread
// summaries, room and personal settings) are tried once; when the server
// says the endpoint does not exist, the client does without, keeping
// preferences in this browser instead.

import { Api } from './api.js';
import { Socket, SocketError, Outbox } from './socket.js';
import { Store } from './state.js';
import { $, debounce } from './dom.js';
import { AuthView } from './ui/auth.js';
import { Sidebar } from './ui/sidebar.js';
import { Timeline } from './ui/timeline.js';
import { Composer } from './ui/composer.js';
import { Notifier } from './ui/notify.js';
import { Dialogs } from './ui/dialogs.js';

const SESSION_KEY = 'parley.session';
const NOTICE_KEY = 'parley.notice';
const SETTINGS_KEY = 'parley.settings';
const PREFS_KEY = 'parley.roomPrefs';
const NOTIFY_MAX_AGE = 120_000; // replayed messages older than this stay quiet

function loadJSON(storage, key, fallback) {
  try {
    return JSON.parse(storage.getItem(key)) ?? fallback;
  } catch {
    return fallback;
  }
}

// applyTheme sets "light" or "dark", or follows the system for anything
// else.
function applyTheme(theme) {
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
  else delete document.documentElement.dataset.theme;
}

class App {
  constructor() {
    this.api = new Api({ onUnauthorized: () => this.signedOut('Your session has ended. Please sign in again.') });
    this.store = new Store();
    this.auth = new AuthView(this.api, (a) => {
      localStorage.setItem(SESSION_KEY, JSON.stringify({ token: a.token, user: a.user }));
      this.auth.hide();
      this.enter(a);
    });
    this.socket = null;
    this.outbox = null;
    this.activeID = null;
    this.resuming = false;
    this.catching = new Map(); // room id → catch-up in progress
    this.discovering = new Map(); // room id → fetch of a room not yet known
    this.fetchingUsers = new Set();
    this.readTimers = new Map();
    // What the server supports; true until it says otherwise.
    this.has = { read: true, receipts: true, settings: true, roomSettings: true, typing: true, notifications: false };
    applyTheme(loadJSON(localStorage, SETTINGS_KEY, {}).theme);

    this.sidebar = new Sidebar(this.store, { onOpen: (id) => this.openRoom(id) });
    this.timeline = new Timeline(this.store, {
      loadOlder: (room) => this.loadOlder(room),
      edit: (room, m, text) => this.edit(room, m, text),
      remove: (room, m) => this.remove(room, m),
      retry: (id) => this.outbox.retry(id),
      discard: (id) => this.outbox.settle(id),
      pending: (roomID) => (this.outbox ? this.outbox.forRoom(roomID) : []),
    });
    this.composer = new Composer(this.store, {
      send: (text) => this.send(text),
      typing: (roomID, on) => this.typing(roomID, on),
      editLast: () => this.timeline.editLast(),
    });
    this.notifier = new Notifier(this.store, { onOpen: (id) => this.openRoom(id) });
    this.dialogs = new Dialogs(this);
    this.wire();
  }

  wire() {
    const s = this.store;
    s.addEventListener('message', (e) => this.onMessage(e.detail.room, e.detail.message));
    s.addEventListener('rooms', () => this.drawHead());
    s.addEventListener('room-removed', (e) => {
      if (e.detail.room.id === this.activeID) this.closeRoom();
    });
    $('back').addEventListener('click', () => this.closeRoom());
    $('offline-banner').addEventListener('click', (e) => {
      if (e.target.matches('button')) this.socket?.connectNow();
    });
    window.addEventListener('popstate', () => this.route(false));
    document.addEventListener('visibilitychange', () => this.markRead());
    window.addEventListener('focus', () => this.markRead());
    $('timeline').addEventListener('scroll', debounce(() => this.markRead(), 150), { passive: true });
    $('timeline').addEventListener('keydown', (e) => {
      if (e.key === 'Escape') this.composer.focus();
    });
    document.addEventListener('keydown', (e) => {
      if (!e.altKey || $('chat-view').hidden) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.sidebar.step(e.key === 'ArrowDown' ? 1 : -1);
      }
    });
  }

  start() {
    const session = loadJSON(localStorage, SESSION_KEY, null);
    const notice = sessionStorage.getItem(NOTICE_KEY) || '';
    sessionStorage.removeItem(NOTICE_KEY);
    if (session && session.token && session.user) this.enter(session);
    else this.auth.show(notice);
  }

  // Session.

  async enter({ token, user }) {
    const s = this.store;
    this.api.token = token;
    s.me = user;
    s.rememberUser(user);
    s.localPrefs = loadJSON(localStorage, PREFS_KEY, {});
    s.isViewing = (id) => id === this.activeID && !document.hidden && this.timeline.atBottom();
    this.outbox = new Outbox(`parley.outbox.${user.id}`, (item) => this.deliver(item), () => this.timeline.pending());
    this.outbox.onSent = (item, msg) => {
      if (msg) s.receiveMessage(item.room_id, msg);
    };
    $('chat-view').hidden = false;
    $('me-name').textContent = user.display_name || user.username;

    try {
      const [me, list] = await Promise.all([this.api.me(), this.api.rooms()]);
      this.setMe(me);
      s.setRooms(list.rooms);
    } catch (err) {
      if (err.status === 401) return;
      this.banner(`Cannot reach the server: ${err.message}`);
    }
    this.loadUnread();
    this.route(false);
    this.socket = new Socket(socketURL(), token, {
      ready: (f) => this.ready(f),
      frame: (f) => this.frame(f),
      state: (state, info) => this.connState(state, info),
      fatal: (reason) => this.signedOut(reason === 'token'
        ? 'Your session has ended. Please sign in again.'
        : 'This account has been deactivated.'),
    });
    this.socket.start();
  }

  setMe(me) {
    this.store.me = { ...this.store.me, ...me };
    this.store.rememberUser(me);
    $('me-name').textContent = me.display_name || me.username;
    if (me.settings?.theme) applyTheme(me.settings.theme);
    const session = loadJSON(localStorage, SESSION_KEY, null);
    if (session) localStorage.setItem(SESSION_KEY, JSON.stringify({ ...session, user: this.store.me }));
  }

  async logout() {
    try {
      await this.api.logout();
    } catch {
      // The token is forgotten here whatever the server says.
    }
    localStorage.removeItem(`parley.outbox.${this.store.me.id}`);
    this.signedOut('');
  }

  // signedOut forgets the session and starts over at the sign-in form.
  signedOut(notice) {
    this.socket?.stop();
    localStorage.removeItem(SESSION_KEY);
    if (notice) sessionStorage.setItem(NOTICE_KEY, notice);
    location.assign('/');
  }

  // Live connection.

  // ready runs on every (re)connection: it refreshes the room list, which
  // may have gained rooms meanwhile, resumes each room from its last seq,
  // fills any gap the server would not replay over REST, then sends what
  // waits in the outbox.
  async ready(f) {
    if (f.user) this.setMe(f.user);
    this.resuming = true;
    try {
      try {
        this.store.setRooms((await this.api.rooms()).rooms);
      } catch {
        // Resume still brings what the known rooms missed.
      }
      const rooms = {};
      for (const r of this.store.rooms.values()) rooms[r.id] = r.seq;
      try {
        const ack = await this.socket.request({ type: 'resume', rooms });
        for (const id of ack.has_more || []) this.catchUp(id);
      } catch (err) {
        if (!(err instanceof SocketError) || err.transient) return;
        // A server that cannot resume: fetch the open timelines' gaps.
        for (const r of this.store.rooms.values()) if (r.timeline) this.catchUp(r.id);
      }
    } finally {
      this.resuming = false;
    }
    for (const r of this.store.rooms.values()) if (r.buffer.length) this.catchUp(r.id);
    this.outbox.flush();
    const active = this.activeRoom();
    if (active) {
      this.loadReceipts(active);
      this.markRead();
    }
  }

  frame(f) {
    const s = this.store;
    switch (f.type) {
      case 'event':
        this.event(f.event);
        break;
      case 'receipt':
        s.setReceipt(f.room_id, f.user_id, f.kind, f.seq);
        break;
      case 'unread':
        s.setUnread(f);
        break;
      case 'read':
        s.markReadLocally(f.room_id, f.seq);
        break;
      case 'typing':
        s.setTyping(f.room_id, f.user_id, f.typing);
        break;
      case 'presence':
        s.setPresence(f.user_id, f.status, f.last_seen_at);
        this.drawHead();
        break;
      case 'notification':
        this.has.notifications = true;
        this.notifier.notify(s.rooms.get(f.room_id), f.message, f.reason);
        break;
      case 'error':
        // An error without a ref answers a frame sent without one: typing.
        if (f.error?.code === 'unknown_type') this.has.typing = false;
        break;
      default:
        // Frames of kinds this client does not know are ignored.
    }
  }

  event(ev) {
    const result = this.store.applyEvent(ev);
    if (result === 'unknown') this.discover(ev);
    else if (result === 'gap' && !this.resuming) this.catchUp(ev.room_id);
  }

  // discover fetches a room that an event names but the store does not
  // know: one this person was just added to.
  async discover(ev) {
    const id = ev.room_id;
    if (!this.discovering.has(id)) {
      this.discovering.set(id, this.api.room(id).then((view) => {
        if (view.last_seq != null) this.store.upsertRoom(view);
      }).catch(() => {}).finally(() => this.discovering.delete(id)));
    }
    await this.discovering.get(id);
    if (this.store.rooms.has(id)) this.event(ev);
  }

  // catchUp pages the events of a room after its seq over REST, once at a
  // time per room.
  catchUp(id) {
    if (this.catching.has(id)) return this.catching.get(id);
    const run = (async () => {
      try {
        for (;;) {
          const r = this.store.rooms.get(id);
          if (!r) return;
          const page = await this.api.events(id, { after: r.seq, limit: 200 });
          for (const ev of page.events) this.store.applyEvent(ev);
          if (!page.has_more || page.events.length === 0) return;
        }
      } catch {
        // The next connection tries again.
      } finally {
        this.catching.delete(id);
      }
    })();
    this.catching.set(id, run);
    return run;
  }

  connState(state, info = {}) {
    document.body.dataset.conn = state;
    const label = { connecting: 'Connecting…', open: 'Online', offline: 'Offline', stopped: '' }[state];
    $('conn-state').textContent = label;
    if (state === 'open' || state === 'stopped') {
      this.banner('');
      return;
    }
    if (state === 'offline') {
      const secs = Math.max(1, Math.round((info.retryIn || 0) / 1000));
      this.banner(`Offline. Messages you send will go out when the connection returns. Reconnecting in ${secs} s…`, true);
    }
  }

  banner(text, retry = false) {
    const b = $('offline-banner');
    b.hidden = !text;
    b.replaceChildren(text);
    if (retry) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'link';
      button.textContent = 'Retry now';
      b.append(' ', button);
    }
  }

  // Messages.

  send(text) {
    const room = this.activeRoom();
    if (!room) return;
    this.outbox.add(room.id, text);
    this.outbox.flush();
  }

  // deliver sends one outbox item over the socket when it is up;
  // otherwise it waits for the next connection.
  async deliver(item) {
    if (this.socket?.ready) {
      const ack = await this.socket.request({
        type: 'send', room_id: item.room_id, text: item.text, client_id: item.client_id,
      });
      return ack.message;
    }
    throw new SocketError('disconnected', 'not connected');
  }

  async edit(room, m, text) {
    const msg = await this.api.edit(room.id, m.id, text);
    this.store.receiveMessage(room.id, msg);
  }

  async remove(room, m) {
    await this.api.deleteMessage(room.id, m.id);
    this.store.receiveMessage(room.id, { ...m, text: '', deleted: true });
  }

  typing(roomID, on) {
    if (this.has.typing) this.socket?.send({ type: 'typing', room_id: roomID, typing: on });
  }

  // onMessage reacts to a new message in any room: settles one's own
  // pending copy, marks the open room read, and notifies unless the server
  // does so itself.
  onMessage(room, m) {
    const s = this.store;
    if (m.sender_id === s.me.id) {
      if (m.client_id) this.outbox.settle(m.client_id);
      return;
    }
    if (!s.users.has(m.sender_id)) this.fetchUsers([m.sender_id]);
    if (room.id === this.activeID) this.markRead();
    if (this.has.notifications || Date.now() - Date.parse(m.created_at) > NOTIFY_MAX_AGE) return;
    const reason = this.notifier.reason(room, m);
    if (reason) this.notifier.notify(room, m, reason);
  }

  // Rooms.

  activeRoom() {
    return this.activeID ? this.store.rooms.get(this.activeID) || null : null;
  }

  route(push) {
    const m = /^\/rooms\/([^/]+)$/.exec(location.pathname);
    if (m) this.openRoom(decodeURIComponent(m[1]), { push });
    else this.closeRoom({ push });
  }

  async openRoom(id, { push = true } = {}) {
    const s = this.store;
    let room = s.rooms.get(id);
    if (!room) {
      try {
        const view = await this.api.room(id);
        if (view.last_seq == null) throw new Error('not a member');
        room = s.upsertRoom(view);
      } catch {
        this.closeRoom({ push: false });
        history.replaceState(null, '', '/');
        return;
      }
    }
    const same = this.activeID === id;
    this.activeID = id;
    if (push && location.pathname !== `/rooms/${encodeURIComponent(id)}`) {
      history.pushState(null, '', `/rooms/${encodeURIComponent(id)}`);
    }
    this.sidebar.setActive(id);
    document.body.classList.add('room-open');
    $('no-room').hidden = true;
    $('room-head').hidden = false;
    $('timeline').hidden = false;
    $('composer').hidden = false;
    this.drawHead();
    if (!same) this.composer.setRoom(room);
    const tl = s.timeline(room);
    if (!same) this.timeline.show(room);
    this.composer.focus();
    if (!room.members) this.loadMembers(room).then(() => this.timeline.refreshNames()).catch(() => {});
    this.loadReceipts(room);
    if (!tl.loaded) {
      try {
        await this.loadLatest(room);
      } catch (err) {
        this.banner(`Could not load messages: ${err.message}`);
        return;
      }
      if (this.activeID === id) this.timeline.show(room);
    }
    this.markRead();
  }

  closeRoom({ push = true } = {}) {
    this.activeID = null;
    this.composer.setRoom(null);
    this.timeline.hide();
    this.sidebar.setActive(null);
    document.body.classList.remove('room-open');
    $('no-room').hidden = false;
    $('room-head').hidden = true;
    $('timeline').hidden = true;
    $('composer').hidden = true;
    $('typing').textContent = '';
    if (push && location.pathname !== '/') history.pushState(null, '', '/');
  }

  drawHead() {
    const room = this.activeRoom();
    if (!room) return;
    const s = this.store;
    $('room-title').textContent = s.roomName(room);
    let sub;
    if (room.kind === 'direct') {
      const peer = room.peer && (s.users.get(room.peer.id) || room.peer);
      sub = peer ? `@${peer.username}` : '';
      if (peer?.status === 'online') sub += ' · online';
      else if (peer?.last_seen_at) sub += ` · last seen ${new Date(peer.last_seen_at).toLocaleString()}`;
    } else {
      const n = room.member_count || 0;
      sub = `${room.kind === 'public' ? 'Public' : 'Group'} · ${n} ${n === 1 ? 'member' : 'members'}`;
      if (room.topic) sub += ` · ${room.topic}`;
    }
    $('room-sub').textContent = sub;
  }

  async loadLatest(room) {
    const tl = this.store.timeline(room);
    const page = await this.api.messages(room.id, { limit: 50 });
    for (const m of page.messages) this.store.putMessage(room, m);
    tl.hasMore = page.has_more;
    tl.loaded = true;
    this.fetchUsers(page.messages.map((m) => m.sender_id));
  }

  async loadOlder(room) {
    const tl = this.store.timeline(room);
    const before = tl.messages[0]?.seq;
    if (!before) {
      tl.hasMore = false;
      return [];
    }
    const page = await this.api.messages(room.id, { before, limit: 50 });
    for (const m of page.messages) this.store.putMessage(room, m);
    tl.hasMore = page.has_more;
    this.fetchUsers(page.messages.map((m) => m.sender_id));
    return page.messages;
  }

  // fetchUsers looks up the people named by id whom the store does not
  // know yet (former members, for instance).
  async fetchUsers(ids) {
    const s = this.store;
    const missing = [...new Set(ids)].filter((id) => !s.users.has(id) && !this.fetchingUsers.has(id));
    if (missing.length === 0) return;
    missing.forEach((id) => this.fetchingUsers.add(id));
    await Promise.all(missing.map((id) => this.api.user(id).then((u) => s.rememberUser(u), () => {})));
    missing.forEach((id) => this.fetchingUsers.delete(id));
    this.timeline.refreshNames();
  }

  async loadMembers(room, more = false) {
    if (more && !room.membersNext) return;
    const page = await this.api.members(room.id, more ? room.membersNext : '');
    if (!more || !room.members) room.members = new Map();
    for (const m of page.members) {
      this.store.rememberUser(m.user);
      room.members.set(m.user.id, m);
    }
    room.membersNext = page.next || '';
    this.store.emit('members', { room });
  }

  async loadReceipts(room) {
    if (!this.has.receipts) return;
    try {
      const { receipts } = await this.api.receipts(room.id);
      for (const rc of receipts) {
        this.store.setReceipt(room.id, rc.user_id, 'delivered', rc.delivered_seq || 0);
        this.store.setReceipt(room.id, rc.user_id, 'read', rc.read_seq || 0);
      }
    } catch (err) {
      if (err.missing) this.has.receipts = false;
    }
  }

  // loadUnread applies GET /me/unread: the totals, and under "rooms" the
  // unread frames' fields of each room with anything unread.
  async loadUnread() {
    try {
      const res = await this.api.unread();
      for (const u of res.rooms || res.unread || []) this.store.setUnread(u);
    } catch {
      // Without the summary the room list's counts stand.
    }
  }

  // markRead records that the open room has been read up to its newest
  // event, if the person is looking at it.
  markRead() {
    const room = this.activeRoom();
    if (!room || !this.store.isViewing(room.id)) return;
    if ((room.read_seq || 0) >= room.seq && !room.unread_count && !room.mention_count) return;
    this.store.markReadLocally(room.id, room.seq);
    if (!this.has.read) return;
    clearTimeout(this.readTimers.get(room.id));
    this.readTimers.set(room.id, setTimeout(() => {
      this.api.markRead(room.id, room.seq).catch((err) => {
        if (err.missing) this.has.read = false;
      });
    }, 300));
  }

  startDirect(user) {
    return this.created(this.api.createRoom({ kind: 'direct', user_id: user.id }));
  }

  createRoom(fields) {
    return this.created(this.api.createRoom(fields));
  }

  async joinRoom(profile) {
    if (this.store.rooms.has(profile.id)) return this.openRoom(profile.id);
    return this.created(this.api.join(profile.id));
  }

  async created(request) {
    const view = await request;
    this.store.upsertRoom(view);
    await this.openRoom(view.id);
  }

  async addMember(room, user) {
    const m = await this.api.addMember(room.id, user.id);
    if (room.members && !room.members.has(user.id)) {
      room.members.set(user.id, m);
      room.member_count = (room.member_count || 0) + 1;
    }
    this.store.emit('members', { room });
    this.drawHead();
  }

  async removeMember(room, userID) {
    await this.api.removeMember(room.id, userID);
    if (room.members?.delete(userID)) room.member_count = Math.max(0, (room.member_count || 1) - 1);
    this.store.emit('members', { room });
    this.drawHead();
  }

  async leave(room) {
    await this.api.removeMember(room.id, this.store.me.id);
    this.store.removeRoom(room.id);
  }

  // Preferences.

  // setRoomPrefs saves a room's notification preferences on the server,
  // and in this browser too, which is all there is on servers without
  // them.
  async setRoomPrefs(room, prefs) {
    const local = this.store.localPrefs;
    local[room.id] = { ...local[room.id], ...prefs };
    localStorage.setItem(PREFS_KEY, JSON.stringify(local));
    if (this.has.roomSettings) {
      try {
        await this.api.roomSettings(room.id, prefs);
      } catch (err) {
        if (!err.missing) throw err;
        this.has.roomSettings = false;
      }
    }
    room.notify = prefs.notify;
    room.silenced_until = prefs.silenced_until;
    this.store.emit('rooms');
  }

  settings() {
    const local = loadJSON(localStorage, SETTINGS_KEY, {});
    const server = this.store.me.settings || {};
    return { theme: server.theme || local.theme || 'system', show_presence: server.show_presence ?? local.show_presence ?? true };
  }

  // saveSettings keeps personal settings on the server, falling back to
  // this browser when the server does not know them.
  async saveSettings(patch) {
    const local = { ...loadJSON(localStorage, SETTINGS_KEY, {}), ...patch };
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(local));
    if (patch.theme) applyTheme(patch.theme);
    if (!this.has.settings) return;
    try {
      this.setMe(await this.api.updateMe({ settings: patch }));
      this.store.me.settings = { ...this.store.me.settings, ...patch };
    } catch (err) {
      // A server without settings rejects the unknown field.
      if (!err.missing && !(err.status === 400 && err.code === 'invalid_request')) throw err;
      this.has.settings = false;
    }
  }

  async rename(name) {
    this.setMe(await this.api.updateMe({ display_name: name }));
    this.sidebar.render();
  }
}

function socketURL() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/ws`;
}

new App().start();
