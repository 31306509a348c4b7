// ui/sidebar.js: the room list: each room's name, latest message, unread
// and mention counts, and the presence of the other person of a direct
// chat. Arrow keys move between rooms.

import { $, h, timeLabel } from '../dom.js';
import { plain } from '../markdown.js';

export class Sidebar {
  constructor(store, { onOpen }) {
    this.store = store;
    this.onOpen = onOpen;
    this.list = $('room-list');
    this.empty = $('room-list-empty');
    this.activeID = null;
    this.queued = false;
    store.addEventListener('rooms', () => this.render());
    this.list.addEventListener('keydown', (e) => this.keydown(e));
  }

  setActive(id) {
    this.activeID = id;
    this.render();
  }

  // render redraws the list once per frame however many changes came in.
  render() {
    if (this.queued) return;
    this.queued = true;
    requestAnimationFrame(() => {
      this.queued = false;
      this.draw();
    });
  }

  draw() {
    const focused = document.activeElement?.dataset?.roomId;
    const rooms = this.store.sortedRooms();
    this.list.replaceChildren(...rooms.map((r) => this.item(r)));
    this.empty.hidden = rooms.length > 0;
    if (focused) this.list.querySelector(`[data-room-id="${CSS.escape(focused)}"]`)?.focus();
  }

  item(r) {
    const s = this.store;
    const name = s.roomName(r);
    const active = r.id === this.activeID;
    const last = r.last_message;
    let preview = '';
    if (last) {
      const who = last.sender_id === s.me.id ? 'You' : s.userName(last.sender_id);
      const text = last.deleted ? 'message deleted' : plain(last.text);
      preview = r.kind === 'direct' && last.sender_id !== s.me.id ? text : `${who}: ${text}`;
    } else if (r.topic) {
      preview = r.topic;
    }
    const unread = r.unread_count || 0;
    const mentions = r.mention_count || 0;
    const status = r.kind === 'direct' ? r.peer?.status : null;

    return h('li', {},
      h('button', {
        type: 'button',
        class: `room${active ? ' active' : ''}${unread ? ' unread' : ''}`,
        dataset: { roomId: r.id },
        'aria-current': active ? 'true' : null,
        onclick: () => this.onOpen(r.id),
      },
      avatar(r.kind === 'direct' ? r.peer?.id || r.id : r.id, name, r.kind, status),
      h('span', { class: 'room-main' },
        h('span', { class: 'room-name' }, name),
        status ? h('span', { class: 'sr-only' }, `${status}, `) : null,
        h('span', { class: 'room-preview' }, preview)),
      h('span', { class: 'room-meta' },
        last ? h('time', { datetime: last.created_at }, timeLabel(last.created_at, { short: true })) : null,
        h('span', { class: 'badges' },
          mentions ? h('span', { class: 'badge mention', title: `${mentions} mentions` }, '@',
            h('span', { class: 'sr-only' }, ` ${mentions} mentions`)) : null,
          unread ? h('span', { class: 'badge', title: `${unread} unread` }, String(unread),
            h('span', { class: 'sr-only' }, ' unread')) : null),
        s.silenced(r) ? h('span', { class: 'muted-icon', title: 'Notifications off' }, '🔕') : null)));
  }

  keydown(e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp' && e.key !== 'Home' && e.key !== 'End') return;
    const buttons = [...this.list.querySelectorAll('button.room')];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    const j = { ArrowDown: i + 1, ArrowUp: i - 1, Home: 0, End: buttons.length - 1 }[e.key];
    buttons[Math.max(0, Math.min(buttons.length - 1, j))].focus();
  }

  // step opens the room n places below (or above, if negative) the open one.
  step(n) {
    const rooms = this.store.sortedRooms();
    const i = rooms.findIndex((r) => r.id === this.activeID);
    const next = rooms[Math.max(0, Math.min(rooms.length - 1, i + n))];
    if (next) this.onOpen(next.id);
  }
}

// avatar draws a round initial, coloured by id, with a presence dot for
// the other person of a direct chat.
export function avatar(id, name, kind = 'direct', status = null) {
  let hash = 0;
  for (const ch of id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const initial = kind === 'public' ? '#' : (name.trim()[0] || '?').toUpperCase();
  return h('span', { class: `avatar hue-${hash % 8}`, 'aria-hidden': 'true' },
    initial,
    status ? h('span', { class: `presence ${status === 'online' ? 'online' : 'offline'}` }) : null);
}
