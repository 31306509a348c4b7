// ui/notify.js: telling the person about messages they are not looking at:
// the unread count in the tab title, a desktop notification while the tab
// is hidden (once they allow it), and a short sound for direct messages and
// mentions if they want one. Room preferences decide what is worth it.

import { plain } from '../markdown.js';

const SOUND_KEY = 'parley.sound';

export class Notifier {
  constructor(store, { onOpen }) {
    this.store = store;
    this.onOpen = onOpen;
    this.audio = null;
    this.shown = new Set(); // message ids already notified
    store.addEventListener('rooms', () => this.title());
  }

  title() {
    const n = this.store.totalUnread();
    document.title = n ? `(${n}) Parley` : 'Parley';
  }

  get sound() {
    return localStorage.getItem(SOUND_KEY) === 'on';
  }

  set sound(on) {
    localStorage.setItem(SOUND_KEY, on ? 'on' : 'off');
  }

  get permission() {
    return 'Notification' in window ? Notification.permission : 'unsupported';
  }

  async ask() {
    if (!('Notification' in window)) return 'unsupported';
    return Notification.requestPermission();
  }

  // reason says why a message from someone else deserves attention, as the
  // server would: "direct", "mention" or "message"; null when the room's
  // preference says it does not.
  reason(room, message) {
    if (this.store.silenced(room)) return null;
    const reason = room.kind === 'direct' ? 'direct' : this.store.mentionsMe(message) ? 'mention' : 'message';
    if (reason === 'message' && room.notify !== 'all') return null;
    return reason;
  }

  // notify tells the person about message in room, for reason, unless they
  // are looking at it already.
  notify(room, message, reason) {
    if (!room || !message || this.shown.has(message.id)) return;
    if (!document.hidden && this.store.isViewing(room.id)) return;
    this.shown.add(message.id);
    if (reason !== 'message' && this.sound) this.beep();
    if (!document.hidden || this.permission !== 'granted') return;
    const who = this.store.userName(message.sender_id);
    const title = room.kind === 'direct' ? who
      : reason === 'mention' ? `${who} mentioned you in ${this.store.roomName(room)}`
        : `${who} in ${this.store.roomName(room)}`;
    const n = new Notification(title, { body: plain(message.text).slice(0, 200), tag: room.id, icon: '/favicon.svg' });
    n.onclick = () => {
      window.focus();
      this.onOpen(room.id);
      n.close();
    };
  }

  // beep plays two short tones; there is no sound file to fetch.
  beep() {
    try {
      this.audio ??= new AudioContext();
      const ctx = this.audio;
      const now = ctx.currentTime;
      for (const [i, freq] of [660, 880].entries()) {
        const osc = ctx.createOscillator();
        const gain = ctx.createGain();
        osc.frequency.value = freq;
        gain.gain.setValueAtTime(0.0001, now + i * 0.12);
        gain.gain.exponentialRampToValueAtTime(0.15, now + i * 0.12 + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.12 + 0.11);
        osc.connect(gain).connect(ctx.destination);
        osc.start(now + i * 0.12);
        osc.stop(now + i * 0.12 + 0.12);
      }
    } catch {
      // No audio device, or the browser wants a gesture first.
    }
  }
}
