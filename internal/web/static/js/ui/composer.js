// ui/composer.js: where messages are typed: Enter sends, Shift+Enter starts
// a new line, Up in an empty box edits one's last message; @ offers the
// room's members, the emoji button a small built-in set; typing is
// announced to the room while it lasts. Drafts are kept per room.

import { $, h } from '../dom.js';

const TYPING_REFRESH = 3_000; // resend "typing" this often while typing
const TYPING_IDLE = 4_000; // and stop after this long without a key

export const EMOJI = [
  ['😀', 'grinning face'], ['😂', 'tears of joy'], ['🙂', 'slightly smiling face'], ['😉', 'winking face'],
  ['😍', 'heart eyes'], ['🤔', 'thinking face'], ['😅', 'sweat smile'], ['😎', 'cool'],
  ['😢', 'crying face'], ['😮', 'surprised'], ['😴', 'sleeping'], ['🙃', 'upside-down face'],
  ['👍', 'thumbs up'], ['👎', 'thumbs down'], ['👏', 'clapping'], ['🙌', 'raised hands'],
  ['🙏', 'folded hands'], ['👋', 'waving hand'], ['💪', 'flexed biceps'], ['👀', 'eyes'],
  ['❤️', 'red heart'], ['🔥', 'fire'], ['✨', 'sparkles'], ['🎉', 'party popper'],
  ['✅', 'check mark'], ['❌', 'cross mark'], ['⚠️', 'warning'], ['💡', 'light bulb'],
  ['☕', 'coffee'], ['🍕', 'pizza'], ['🚀', 'rocket'], ['🐛', 'bug'],
];

export class Composer {
  // on: send(text), typing(roomID, bool), editLast().
  constructor(store, on) {
    this.store = store;
    this.on = on;
    this.form = $('composer');
    this.input = $('composer-input');
    this.mentionList = $('mentions');
    this.emojiButton = $('emoji-button');
    this.picker = $('emoji-picker');
    this.room = null;
    this.drafts = new Map();
    this.typingSent = 0;
    this.idleTimer = 0;
    this.matches = [];
    this.selected = 0;

    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    this.input.addEventListener('keydown', (e) => this.keydown(e));
    this.input.addEventListener('input', () => this.changed());
    this.input.addEventListener('blur', () => this.stopTyping());
    this.input.addEventListener('click', () => this.suggest());
    this.emojiButton.addEventListener('click', () => this.togglePicker());
    this.buildPicker();
    document.addEventListener('click', (e) => {
      if (this.picker.hidden || this.picker.contains(e.target) || this.emojiButton.contains(e.target)) return;
      this.closePicker(false);
    });
  }

  // setRoom keeps the draft of the room left and brings back the one of
  // the room entered.
  setRoom(room) {
    if (this.room) this.drafts.set(this.room.id, this.input.value);
    this.stopTyping();
    this.closeSuggestions();
    this.closePicker(false);
    this.room = room;
    this.input.value = room ? this.drafts.get(room.id) || '' : '';
    this.resize();
  }

  focus() {
    this.input.focus();
  }

  submit() {
    const text = this.input.value;
    if (!this.room || text.trim() === '') return;
    this.on.send(text.trimEnd());
    this.input.value = '';
    this.drafts.delete(this.room.id);
    this.stopTyping();
    this.closeSuggestions();
    this.resize();
  }

  keydown(e) {
    if (e.isComposing) return;
    if (!this.mentionList.hidden) {
      const n = this.matches.length;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        e.preventDefault();
        this.selected = (this.selected + (e.key === 'ArrowDown' ? 1 : n - 1)) % n;
        this.drawSuggestions();
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        this.complete(this.matches[this.selected]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        this.closeSuggestions();
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      this.submit();
    } else if (e.key === 'ArrowUp' && this.input.value === '') {
      e.preventDefault();
      this.on.editLast();
    }
  }

  changed() {
    this.resize();
    this.suggest();
    if (!this.room) return;
    if (this.input.value.trim() === '') {
      this.stopTyping();
      return;
    }
    const now = Date.now();
    if (now - this.typingSent > TYPING_REFRESH) {
      this.typingSent = now;
      this.on.typing(this.room.id, true);
    }
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE);
  }

  stopTyping() {
    clearTimeout(this.idleTimer);
    if (this.typingSent && this.room) this.on.typing(this.room.id, false);
    this.typingSent = 0;
  }

  // resize grows the box with its text, up to a limit set in CSS.
  resize() {
    this.input.style.height = 'auto';
    this.input.style.height = `${this.input.scrollHeight}px`;
  }

  // Mentions.

  // query returns the partial @name just before the caret, if any.
  query() {
    const before = this.input.value.slice(0, this.input.selectionStart);
    const m = /(^|[^\w.@-])@([\w.-]{0,32})$/.exec(before);
    return m ? m[2] : null;
  }

  suggest() {
    const q = this.query();
    const members = this.room?.members;
    if (q == null || !members) {
      this.closeSuggestions();
      return;
    }
    const lower = q.toLowerCase();
    this.matches = [...members.values()]
      .map((m) => m.user)
      .filter((u) => u.id !== this.store.me.id
        && (u.username.toLowerCase().startsWith(lower) || (u.display_name || '').toLowerCase().startsWith(lower)))
      .sort((a, b) => a.username.localeCompare(b.username))
      .slice(0, 8);
    if (this.matches.length === 0) {
      this.closeSuggestions();
      return;
    }
    this.selected = Math.min(this.selected, this.matches.length - 1);
    this.drawSuggestions();
  }

  drawSuggestions() {
    this.mentionList.replaceChildren(...this.matches.map((u, i) => h('li', {
      id: `mention-${i}`,
      role: 'option',
      'aria-selected': i === this.selected ? 'true' : 'false',
      onmousedown: (e) => {
        e.preventDefault(); // keep the focus in the box
        this.complete(u);
      },
    }, h('strong', {}, u.display_name || u.username), ' ', h('span', { class: 'muted' }, '@' + u.username))));
    this.mentionList.hidden = false;
    this.input.setAttribute('aria-expanded', 'true');
    this.input.setAttribute('aria-activedescendant', `mention-${this.selected}`);
  }

  closeSuggestions() {
    this.mentionList.hidden = true;
    this.matches = [];
    this.selected = 0;
    this.input.setAttribute('aria-expanded', 'false');
    this.input.removeAttribute('aria-activedescendant');
  }

  complete(user) {
    const q = this.query();
    if (q == null) return;
    const end = this.input.selectionStart;
    const start = end - q.length;
    this.input.setRangeText(user.username + ' ', start, end, 'end');
    this.closeSuggestions();
    this.changed();
  }

  // Emoji.

  buildPicker() {
    const buttons = EMOJI.map(([ch, name]) => h('button', {
      type: 'button', class: 'emoji', 'aria-label': name, title: name,
      onclick: () => this.insert(ch),
    }, ch));
    this.picker.replaceChildren(...buttons);
    this.picker.addEventListener('keydown', (e) => {
      const i = buttons.indexOf(document.activeElement);
      const cols = getComputedStyle(this.picker).gridTemplateColumns.split(' ').length;
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols }[e.key];
      if (e.key === 'Escape') {
        e.preventDefault();
        this.closePicker(true);
      } else if (step && i >= 0) {
        e.preventDefault();
        buttons[(i + step + buttons.length) % buttons.length].focus();
      }
    });
  }

  togglePicker() {
    if (this.picker.hidden) {
      this.picker.hidden = false;
      this.emojiButton.setAttribute('aria-expanded', 'true');
      this.picker.querySelector('button').focus();
    } else {
      this.closePicker(true);
    }
  }

  closePicker(refocus) {
    if (this.picker.hidden) return;
    this.picker.hidden = true;
    this.emojiButton.setAttribute('aria-expanded', 'false');
    if (refocus) this.input.focus();
  }

  insert(text) {
    const { selectionStart: s, selectionEnd: e } = this.input;
    this.input.setRangeText(text, s, e, 'end');
    this.closePicker(true);
    this.changed();
  }
}
