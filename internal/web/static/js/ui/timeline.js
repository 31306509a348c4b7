// ui/timeline.js: the open room's messages: history loaded upwards as the
// person scrolls, live messages, pending ones from the outbox, editing and
// deleting one's own, read and delivered marks, and who is typing.

import { $, h, clear, timeLabel, fullTime } from '../dom.js';
import { render } from '../markdown.js';

const GROUP_GAP = 5 * 60_000; // messages closer than this share a header

export class Timeline {
  // actions: loadOlder(room) → Promise, edit(room, message, text) →
  // Promise, remove(room, message) → Promise, retry(clientID),
  // discard(clientID), pending(roomID) → outbox items.
  constructor(store, actions) {
    this.store = store;
    this.actions = actions;
    this.scroller = $('timeline');
    this.list = $('messages');
    this.status = $('history-status');
    this.typingLine = $('typing');
    this.room = null;
    this.els = new Map(); // message id or client_id → li
    this.loading = false;

    this.scroller.addEventListener('scroll', () => this.maybeLoadOlder(), { passive: true });
    store.addEventListener('timeline', (e) => {
      if (e.detail.room === this.room) this.upsert(e.detail.message);
    });
    store.addEventListener('receipts', (e) => { if (e.detail.room === this.room) this.marks(); });
    store.addEventListener('typing', (e) => { if (e.detail.room === this.room) this.typing(); });
    store.addEventListener('members', (e) => { if (e.detail.room === this.room) this.typing(); });
  }

  // show draws room's timeline from scratch, with a divider above the
  // first unread message, and scrolls to it or to the end.
  show(room) {
    this.room = room;
    this.els.clear();
    clear(this.list);
    this.status.textContent = '';
    const tl = room.timeline;
    const frag = document.createDocumentFragment();
    for (const m of tl ? tl.messages : []) frag.append(this.track(m));
    this.list.append(frag);
    for (const li of this.list.children) this.regroup(li);
    this.pending();
    this.divider(room);
    this.marks();
    this.typing();
    const divider = this.list.querySelector('.divider');
    if (divider) divider.scrollIntoView({ block: 'center' });
    else this.toBottom();
    this.maybeLoadOlder();
  }

  hide() {
    this.room = null;
    this.els.clear();
    clear(this.list);
  }

  atBottom() {
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 48;
  }

  toBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  track(m) {
    const li = this.messageEl(m);
    this.els.set(m.id, li);
    return li;
  }

  // upsert draws a message that is new or changed.
  upsert(m) {
    const follow = this.atBottom() || m.sender_id === this.store.me.id;
    const old = this.els.get(m.id);
    const li = this.track(m);
    if (old) {
      old.replaceWith(li);
    } else {
      if (m.client_id) this.els.get('c:' + m.client_id)?.remove();
      this.insert(li, m.seq);
    }
    this.regroup(li);
    if (li.nextElementSibling) this.regroup(li.nextElementSibling);
    this.marks();
    if (follow && !old) this.toBottom();
  }

  // insert puts li among the messages by seq, before any pending ones.
  insert(li, seq) {
    let after = this.list.lastElementChild;
    while (after && (after.classList.contains('pending') || after.classList.contains('divider')
      || Number(after.dataset.seq) > seq)) {
      after = after.previousElementSibling;
    }
    if (after) after.after(li);
    else this.list.prepend(li);
  }

  // prepend draws older messages above the ones shown, keeping what the
  // person was looking at in place.
  prepend(messages) {
    const s = this.scroller;
    const height = s.scrollHeight;
    const top = s.scrollTop;
    const frag = document.createDocumentFragment();
    for (const m of messages) if (!this.els.has(m.id)) frag.append(this.track(m));
    const first = this.list.firstElementChild;
    this.list.prepend(frag);
    for (const li of this.list.children) {
      this.regroup(li);
      if (li === first) break;
    }
    this.marks();
    s.scrollTop = top + (s.scrollHeight - height);
  }

  async maybeLoadOlder() {
    const room = this.room;
    const tl = room?.timeline;
    if (!tl || !tl.loaded || !tl.hasMore || this.loading || this.scroller.scrollTop > 400) return;
    this.loading = true;
    this.status.textContent = 'Loading earlier messages…';
    try {
      const older = await this.actions.loadOlder(room);
      if (this.room !== room) return;
      this.prepend(older);
      this.status.textContent = tl.hasMore ? '' : 'This is the beginning of the conversation.';
    } catch (err) {
      if (this.room === room) this.status.textContent = `Could not load earlier messages: ${err.message}`;
      return;
    } finally {
      this.loading = false;
    }
    // A short history may not fill the view yet.
    if (this.room === room && tl.hasMore && this.scroller.scrollHeight <= this.scroller.clientHeight + 400) {
      this.maybeLoadOlder();
    }
  }

  // pending draws the room's messages waiting in the outbox, after the
  // others.
  pending() {
    if (!this.room) return;
    const follow = this.atBottom();
    for (const li of this.list.querySelectorAll('li.pending')) li.remove();
    for (const [k] of [...this.els]) if (k.startsWith('c:')) this.els.delete(k);
    for (const item of this.actions.pending(this.room.id)) {
      if (this.room.timeline?.messages.some((m) => m.client_id === item.client_id
        && m.sender_id === this.store.me.id)) continue;
      const li = this.pendingEl(item);
      this.els.set('c:' + item.client_id, li);
      this.list.append(li);
    }
    if (follow) this.toBottom();
  }

  // divider marks where the unread messages start.
  divider(room) {
    const unread = room.unread_count || 0;
    if (!unread) return;
    const others = [...this.list.querySelectorAll('li.msg:not(.own):not(.pending)')];
    const first = room.read_seq != null
      ? others.find((li) => Number(li.dataset.seq) > room.read_seq)
      : others[Math.max(0, others.length - unread)];
    if (first) first.before(h('li', { class: 'divider', role: 'separator' }, h('span', {}, 'New messages')));
  }

  // regroup hides the header of a message that follows one by the same
  // person shortly before.
  regroup(li) {
    if (!li.classList.contains('msg')) return;
    const prev = li.previousElementSibling;
    const same = prev && prev.classList.contains('msg') && prev.dataset.sender === li.dataset.sender
      && Date.parse(li.dataset.time) - Date.parse(prev.dataset.time) < GROUP_GAP;
    li.classList.toggle('continued', !!same);
  }

  messageEl(m) {
    const s = this.store;
    const mine = m.sender_id === s.me.id;
    const cls = ['msg'];
    if (mine) cls.push('own');
    if (m.deleted) cls.push('deleted');
    else if (!mine && s.mentionsMe(m)) cls.push('mentioned');
    const li = h('li', {
      class: cls.join(' '),
      dataset: { id: m.id, seq: m.seq, sender: m.sender_id, time: m.created_at },
    }, this.head(m.sender_id, m.created_at, m.edited_at && !m.deleted));
    if (m.deleted) {
      li.append(h('p', { class: 'msg-body tombstone' }, 'This message was deleted.'));
      return li;
    }
    li.append(this.body(m.text));
    if (mine) {
      li.append(h('div', { class: 'msg-actions' },
        h('button', { type: 'button', class: 'link', 'aria-label': 'Edit message', onclick: () => this.startEdit(li, m) }, 'Edit'),
        h('button', { type: 'button', class: 'link', 'aria-label': 'Delete message', onclick: () => this.confirmDelete(li, m) }, 'Delete')),
      h('span', { class: 'msg-status', dataset: { state: 'sent' } }));
    }
    return li;
  }

  head(senderID, at, edited) {
    return h('div', { class: 'msg-head' },
      h('span', { class: 'msg-author' }, this.store.userName(senderID)),
      h('time', { datetime: at, title: fullTime(at) }, timeLabel(at)),
      edited ? h('span', { class: 'edited muted' }, '(edited)') : null);
  }

  body(text) {
    const s = this.store;
    const members = this.room?.members;
    const mention = (name) => {
      const lower = name.toLowerCase();
      if (lower === s.me.username.toLowerCase()) return { self: true };
      if (!members) return null;
      for (const m of members.values()) if (m.user.username.toLowerCase() === lower) return { self: false };
      return null;
    };
    return h('div', { class: 'msg-body' }, render(text, { mention }));
  }

  pendingEl(item) {
    const li = h('li', {
      class: `msg own pending${item.failed ? ' failed' : ''}`,
      dataset: { clientId: item.client_id, sender: this.store.me.id, time: item.created_at },
    }, this.head(this.store.me.id, item.created_at, false), this.body(item.text));
    if (item.failed) {
      li.append(h('div', { class: 'msg-failed', role: 'alert' },
        `Not sent: ${item.error || 'the server refused it'}. `,
        h('button', { type: 'button', class: 'link', onclick: () => this.actions.retry(item.client_id) }, 'Try again'),
        ' · ',
        h('button', { type: 'button', class: 'link', onclick: () => this.actions.discard(item.client_id) }, 'Discard')));
    } else {
      li.append(h('span', { class: 'msg-status', dataset: { state: 'pending' }, title: 'Waiting to be sent' }, 'Sending…'));
    }
    this.regroup(li);
    return li;
  }

  // marks updates the sent, delivered and seen marks of one's messages.
  marks() {
    const room = this.room;
    if (!room) return;
    const others = [...room.receipts].filter(([id]) => id !== this.store.me.id);
    const own = [...this.list.querySelectorAll('li.msg.own:not(.pending):not(.deleted)')];
    own.forEach((li, i) => {
      const seq = Number(li.dataset.seq);
      const readers = others.filter(([, r]) => r.read_seq >= seq).map(([id]) => id);
      const delivered = others.some(([, r]) => r.delivered_seq >= seq);
      const state = readers.length ? 'read' : delivered ? 'delivered' : 'sent';
      const el = li.querySelector('.msg-status');
      if (!el) return;
      el.dataset.state = state;
      const names = readers.map((id) => this.store.userName(id));
      const label = state === 'read' ? `Seen by ${names.join(', ')}` : state === 'delivered' ? 'Delivered' : 'Sent';
      el.title = label;
      el.setAttribute('aria-label', label);
      const last = i === own.length - 1;
      const tick = state === 'sent' ? '✓' : '✓✓';
      el.textContent = last && state === 'read'
        ? (room.kind === 'direct' ? `${tick} Seen` : `${tick} Seen by ${names.join(', ')}`)
        : last && state === 'delivered' ? `${tick} Delivered` : tick;
    });
  }

  typing() {
    const room = this.room;
    const ids = room ? [...room.typing.keys()] : [];
    const names = ids.map((id) => this.store.userName(id));
    this.typingLine.textContent = names.length === 0 ? ''
      : names.length === 1 ? `${names[0]} is typing…`
        : names.length <= 3 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`
          : 'Several people are typing…';
  }

  startEdit(li, m) {
    const body = li.querySelector('.msg-body');
    const input = h('textarea', { class: 'edit-input', 'aria-label': 'Edit message', maxlength: 4000, value: m.text });
    const error = h('p', { class: 'error', role: 'alert' });
    const cancel = () => {
      form.replaceWith(body);
      li.classList.remove('editing');
      $('composer-input').focus();
    };
    const save = async () => {
      const text = input.value;
      if (text.trim() === '' || text === m.text) return cancel();
      try {
        await this.actions.edit(this.room, m, text);
        li.classList.remove('editing');
      } catch (err) {
        error.textContent = err.message;
      }
    };
    const form = h('form', { class: 'edit', onsubmit: (e) => { e.preventDefault(); save(); } },
      input, error,
      h('div', { class: 'edit-actions' },
        h('button', { type: 'button', onclick: cancel }, 'Cancel'),
        h('button', { type: 'submit', class: 'primary' }, 'Save')));
    input.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') { e.preventDefault(); cancel(); }
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); save(); }
    });
    li.classList.add('editing');
    body.replaceWith(form);
    input.focus();
    input.setSelectionRange(input.value.length, input.value.length);
  }

  confirmDelete(li, m) {
    const actions = li.querySelector('.msg-actions');
    const restore = () => confirm.replaceWith(actions);
    const confirm = h('div', { class: 'msg-actions confirm', role: 'group', 'aria-label': 'Confirm deletion' },
      'Delete this message? ',
      h('button', {
        type: 'button', class: 'link danger',
        onclick: () => this.actions.remove(this.room, m).catch((err) => {
          restore();
          li.append(h('p', { class: 'error', role: 'alert' }, err.message));
        }),
      }, 'Delete'),
      ' · ',
      h('button', { type: 'button', class: 'link', onclick: restore }, 'Cancel'));
    actions.replaceWith(confirm);
    confirm.querySelector('button').focus();
  }

  // refreshNames redraws the authors' names once more people are known.
  refreshNames() {
    for (const el of this.list.querySelectorAll('li.msg')) {
      const name = el.querySelector('.msg-author');
      if (name) name.textContent = this.store.userName(el.dataset.sender);
    }
    this.typing();
    this.marks();
  }

  // lastOwn returns the newest message of one's own that can be edited.
  lastOwn() {
    const tl = this.room?.timeline;
    if (!tl) return null;
    for (let i = tl.messages.length - 1; i >= 0; i--) {
      const m = tl.messages[i];
      if (m.sender_id === this.store.me.id && !m.deleted) return m;
    }
    return null;
  }

  editLast() {
    const m = this.lastOwn();
    const li = m && this.els.get(m.id);
    if (li && !li.classList.contains('editing')) {
      li.scrollIntoView({ block: 'nearest' });
      this.startEdit(li, m);
    }
  }
}
