// state.js: what the client knows: who is signed in, the people it has
// met, the rooms with their timelines, members, receipts and typing.
//
// Events reach Store.applyEvent from the socket, from resume and from REST
// catch-up alike; each room applies them exactly once and in seq order: a
// seq it has is dropped, one that comes after a gap waits in the room's
// buffer until the gap is filled. Messages are kept by id, so an event and
// a page of history that both hold a message show it once. Views listen for
// the change events the store dispatches: rooms, timeline, members,
// receipts, typing, room-removed.

const TYPING_TTL = 8_000;

export class Store extends EventTarget {
  constructor() {
    super();
    this.me = null;
    this.users = new Map();
    this.rooms = new Map();
    // isViewing(roomID) says whether the person is looking at the newest
    // messages of the room, so new ones are read as they arrive.
    this.isViewing = () => false;
    this.localPrefs = {};
  }

  emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // People.

  rememberUser(u) {
    if (!u || !u.id) return;
    const old = this.users.get(u.id);
    this.users.set(u.id, old ? { ...old, ...u } : { ...u });
  }

  userName(id) {
    const u = this.users.get(id);
    return u ? u.display_name || u.username : 'Someone';
  }

  setPresence(userID, status, lastSeenAt) {
    this.rememberUser({ id: userID, status, last_seen_at: lastSeenAt });
    for (const r of this.rooms.values()) {
      if (r.peer && r.peer.id === userID) r.peer = { ...r.peer, status, last_seen_at: lastSeenAt };
    }
    this.emit('rooms');
    this.emit('presence', { userID });
  }

  // Rooms.

  // upsertRoom merges a room as the server lists it. A room already known
  // keeps its seq, so that resuming fetches what it has not applied yet.
  upsertRoom(view) {
    if (view.peer) this.rememberUser(view.peer);
    let r = this.rooms.get(view.id);
    if (!r) {
      r = {
        seq: view.last_seq || 0, buffer: [], timeline: null, members: null,
        receipts: new Map(), typing: new Map(), unread_count: 0, mention_count: 0,
      };
      this.rooms.set(view.id, r);
    }
    const { last_message: last, settings, ...rest } = view;
    Object.assign(r, rest);
    r.last_seq = Math.max(r.seq, view.last_seq || 0);
    // The counts include every message up to last_seq; a replayed event
    // at or below it must not count again.
    r.countedTo = Math.max(r.countedTo || 0, view.last_seq || 0);
    r.mention_count = view.mention_count ?? r.mention_count ?? 0;
    r.notify = view.notify ?? settings?.notify ?? this.localPrefs[view.id]?.notify ?? r.notify ?? 'all';
    r.silenced_until = view.silenced_until ?? settings?.silenced_until
      ?? this.localPrefs[view.id]?.silenced_until ?? r.silenced_until ?? null;
    if (last && (!r.last_message || last.seq >= r.last_message.seq)) r.last_message = last;
    this.emit('rooms');
    return r;
  }

  // setRooms merges the whole room list; rooms missing from it are ones
  // this person no longer belongs to.
  setRooms(views) {
    const ids = new Set(views.map((v) => v.id));
    for (const id of [...this.rooms.keys()]) {
      if (!ids.has(id)) this.removeRoom(id);
    }
    for (const v of views) this.upsertRoom(v);
  }

  removeRoom(id) {
    const r = this.rooms.get(id);
    if (!r) return;
    this.rooms.delete(id);
    this.emit('room-removed', { room: r });
    this.emit('rooms');
  }

  // sortedRooms lists rooms, most recently active first.
  sortedRooms() {
    const at = (r) => (r.last_message ? r.last_message.created_at : r.created_at) || '';
    return [...this.rooms.values()].sort((a, b) => at(b).localeCompare(at(a)));
  }

  roomName(r) {
    if (r.kind === 'direct') return r.peer ? r.peer.display_name || r.peer.username : 'Direct chat';
    return r.name || 'Room';
  }

  // silenced reports whether the room asks for no notification now.
  silenced(r) {
    return r.notify === 'none' || (r.silenced_until && Date.parse(r.silenced_until) > Date.now());
  }

  totalUnread() {
    let n = 0;
    for (const r of this.rooms.values()) if (r.notify !== 'none') n += r.unread_count || 0;
    return n;
  }

  // Events.

  // applyEvent applies ev to its room. It returns "applied", "dup" (seen
  // already), "gap" (buffered until the missing events arrive) or
  // "unknown" (a room the store does not know yet).
  applyEvent(ev) {
    const r = this.rooms.get(ev.room_id);
    if (!r) return 'unknown';
    if (ev.seq <= r.seq) return 'dup';
    if (ev.seq > r.seq + 1) {
      if (!r.buffer.some((e) => e.seq === ev.seq)) {
        r.buffer.push(ev);
        r.buffer.sort((a, b) => a.seq - b.seq);
      }
      return 'gap';
    }
    this.apply(r, ev);
    while (this.rooms.has(r.id) && r.buffer.length && r.buffer[0].seq <= r.seq + 1) {
      const next = r.buffer.shift();
      if (next.seq === r.seq + 1) this.apply(r, next);
    }
    return 'applied';
  }

  hasGap(roomID) {
    const r = this.rooms.get(roomID);
    return !!r && r.buffer.length > 0;
  }

  apply(r, ev) {
    r.seq = ev.seq;
    r.last_seq = Math.max(r.last_seq || 0, ev.seq);
    switch (ev.type) {
      case 'message.created':
        this.messageCreated(r, ev.message);
        break;
      case 'message.edited':
      case 'message.deleted':
        if (r.last_message && r.last_message.id === ev.message.id) r.last_message = ev.message;
        this.putMessage(r, ev.message);
        this.emit('timeline', { room: r, message: ev.message });
        break;
      case 'member.joined':
      case 'member.updated':
        this.rememberUser(ev.user);
        if (r.members && ev.user) {
          const had = r.members.get(ev.user_id);
          r.members.set(ev.user_id, { ...had, user: ev.user, role: ev.role || had?.role || 'member' });
          if (!had) r.member_count = (r.member_count || 0) + 1;
        } else if (ev.type === 'member.joined') {
          r.member_count = (r.member_count || 0) + 1;
        }
        this.emit('members', { room: r });
        break;
      case 'member.left':
      case 'member.removed':
        if (ev.user_id === this.me.id) {
          this.removeRoom(r.id);
          return;
        }
        if (!r.members || r.members.delete(ev.user_id)) r.member_count = Math.max(0, (r.member_count || 1) - 1);
        this.emit('members', { room: r });
        break;
      case 'room.updated':
        if (ev.room) {
          r.name = ev.room.name ?? r.name;
          r.topic = ev.room.topic ?? r.topic;
          r.member_count = ev.room.member_count ?? r.member_count;
        }
        this.emit('room', { room: r });
        break;
      default:
        // Clients ignore event types they do not know.
    }
    this.emit('rooms');
  }

  messageCreated(r, m) {
    r.last_message = m;
    this.putMessage(r, m);
    const mine = m.sender_id === this.me.id;
    if (!mine && m.seq > (r.countedTo || 0) && !this.isViewing(r.id)) {
      r.unread_count = (r.unread_count || 0) + 1;
      if (this.mentionsMe(m)) r.mention_count = (r.mention_count || 0) + 1;
    }
    this.setTyping(r.id, m.sender_id, false);
    this.emit('timeline', { room: r, message: m, created: true });
    this.emit('message', { room: r, message: m });
  }

  // mentionsMe uses the server's list of mentioned people when it sends
  // one, else looks for @username in the text.
  mentionsMe(m) {
    if (Array.isArray(m.mentions)) return m.mentions.includes(this.me.id);
    if (!m.text) return false;
    const name = this.me.username.replace(/[.\\-]/g, '\\$&');
    return new RegExp(`(^|[^\\w.@-])@${name}(?![\\w-])`, 'i').test(m.text);
  }

  // Timelines.

  // receiveMessage takes a message the server returned to a request of
  // this person's (send, edit, delete) before its event arrives.
  receiveMessage(roomID, m) {
    const r = this.rooms.get(roomID);
    if (!r) return;
    if (!r.last_message || m.seq >= r.last_message.seq) r.last_message = m;
    this.putMessage(r, m);
    this.emit('timeline', { room: r, message: m });
    this.emit('rooms');
  }

  // timeline returns the room's timeline, created empty so that events
  // arriving while its first page loads are kept.
  timeline(r) {
    if (!r.timeline) r.timeline = { messages: [], byId: new Map(), hasMore: true, loaded: false };
    return r.timeline;
  }

  // putMessage adds or updates a message of a room whose timeline is
  // open. Of two versions of one message the later one wins: deleted over
  // not, then the later edit.
  putMessage(r, m) {
    const tl = r.timeline;
    if (!tl) return;
    const old = tl.byId.get(m.id);
    if (old) {
      const keep = newer(old, m);
      tl.byId.set(m.id, keep);
      const i = tl.messages.indexOf(old);
      if (i >= 0) tl.messages[i] = keep;
      return;
    }
    tl.byId.set(m.id, m);
    let i = tl.messages.length;
    while (i > 0 && tl.messages[i - 1].seq > m.seq) i--;
    tl.messages.splice(i, 0, m);
  }

  // Conversation state.

  setUnread(f) {
    const r = this.rooms.get(f.room_id);
    if (!r) return;
    if (f.unread_count != null) r.unread_count = f.unread_count;
    if (f.mention_count != null) r.mention_count = f.mention_count;
    if (f.read_seq != null) r.read_seq = f.read_seq;
    r.countedTo = Math.max(r.countedTo || 0, r.seq);
    this.emit('rooms');
  }

  // markReadLocally records that this person has read up to seq.
  markReadLocally(roomID, seq) {
    const r = this.rooms.get(roomID);
    if (!r) return;
    r.read_seq = Math.max(r.read_seq || 0, seq);
    if (r.read_seq >= r.last_seq) {
      r.unread_count = 0;
      r.mention_count = 0;
    }
    this.emit('rooms');
  }

  setReceipt(roomID, userID, kind, seq) {
    const r = this.rooms.get(roomID);
    if (!r) return;
    const rc = r.receipts.get(userID) || { read_seq: 0, delivered_seq: 0 };
    if (kind === 'read') rc.read_seq = Math.max(rc.read_seq, seq);
    rc.delivered_seq = Math.max(rc.delivered_seq, seq, rc.read_seq);
    r.receipts.set(userID, rc);
    this.emit('receipts', { room: r });
  }

  setTyping(roomID, userID, typing) {
    const r = this.rooms.get(roomID);
    if (!r || userID === this.me.id) return;
    const had = r.typing.has(userID);
    clearTimeout(r.typing.get(userID));
    if (typing) {
      r.typing.set(userID, setTimeout(() => this.setTyping(roomID, userID, false), TYPING_TTL));
    } else {
      r.typing.delete(userID);
      if (!had) return;
    }
    this.emit('typing', { room: r });
  }
}

function newer(a, b) {
  if (a.deleted !== b.deleted) return a.deleted ? a : b;
  if (a.edited_at && (!b.edited_at || a.edited_at > b.edited_at)) return a;
  return b;
}
