// ui/dialogs.js: the modal dialogs: start a direct chat, create a room,
// browse the directory of public rooms, a room's details (members,
// notifications, leaving) and personal settings. Each calls back into the
// app for anything that touches the server or the store.

import { $, h, debounce } from '../dom.js';
import { describe } from './auth.js';
import { avatar } from './sidebar.js';

// open shows dialog d and puts the focus on its first field.
function open(d, focusID) {
  if (!d.open) d.showModal();
  if (focusID) $(focusID).focus();
}

// finish closes dialog d after it opened a room, and puts the focus in the
// composer: closing a modal dialog gives the focus back to the button
// that opened it otherwise.
function finish(app, d) {
  d.close();
  if (app.activeRoom()) app.composer.focus();
}

// userSearch wires a search box to a list of people found by username;
// pick(user) is called with the one chosen.
function userSearch(app, inputID, listID, errorID, { exclude = () => false, pick, label = 'Add' }) {
  const input = $(inputID);
  const list = $(listID);
  const error = $(errorID);
  const search = debounce(async () => {
    const q = input.value.trim();
    error.textContent = '';
    if (!q) {
      list.replaceChildren();
      return;
    }
    try {
      const { users } = await app.api.searchUsers(q);
      if (input.value.trim() !== q) return;
      for (const u of users) app.store.rememberUser(u);
      const found = users.filter((u) => u.id !== app.store.me.id && !exclude(u));
      list.replaceChildren(...found.map((u) => h('li', {},
        h('button', {
          type: 'button', class: 'pick', dataset: { username: u.username },
          'aria-label': `${label} ${u.display_name || u.username} (@${u.username})`,
          onclick: () => pick(u),
        }, avatar(u.id, u.display_name || u.username), h('span', {}, h('strong', {}, u.display_name || u.username),
          ' ', h('span', { class: 'muted' }, '@' + u.username))))));
      if (found.length === 0) list.append(h('li', { class: 'muted' }, 'Nobody found.'));
    } catch (err) {
      error.textContent = describe(err);
    }
  }, 200);
  input.addEventListener('input', search);
  input.addEventListener('keydown', enterPicksFirst(list));
  return () => {
    input.value = '';
    list.replaceChildren();
    error.textContent = '';
  };
}

// enterPicksFirst makes Enter in a search box choose the first result
// rather than submit (and so close) the dialog around it.
function enterPicksFirst(list) {
  return (e) => {
    if (e.key !== 'Enter' || e.isComposing) return;
    e.preventDefault();
    list.querySelector('button')?.click();
  };
}

export class Dialogs {
  constructor(app) {
    this.app = app;
    this.setupDirect();
    this.setupCreate();
    this.setupDirectory();
    this.setupDetails();
    this.setupSettings();
  }

  // Direct chat.

  setupDirect() {
    const app = this.app;
    const reset = userSearch(app, 'direct-search', 'direct-results', 'direct-error', {
      label: 'Chat with',
      pick: async (u) => {
        try {
          await app.startDirect(u);
          finish(app, $('dlg-direct'));
        } catch (err) {
          $('direct-error').textContent = describe(err);
        }
      },
    });
    $('open-direct').addEventListener('click', () => {
      reset();
      open($('dlg-direct'), 'direct-search');
    });
  }

  // Create a room.

  setupCreate() {
    const app = this.app;
    const chosen = new Map();
    const drawChosen = () => $('create-chosen').replaceChildren(...[...chosen.values()].map((u) => h('li', { class: 'chip' },
      u.display_name || u.username,
      h('button', {
        type: 'button', class: 'icon small', 'aria-label': `Remove ${u.display_name || u.username}`,
        onclick: () => { chosen.delete(u.id); drawChosen(); },
      }, '×'))));
    const reset = userSearch(app, 'create-search', 'create-results', 'create-error', {
      exclude: (u) => chosen.has(u.id),
      pick: (u) => {
        chosen.set(u.id, u);
        drawChosen();
        $('create-search').value = '';
        $('create-results').replaceChildren();
        $('create-search').focus();
      },
    });
    $('open-create').addEventListener('click', () => {
      reset();
      chosen.clear();
      drawChosen();
      $('create-name').value = '';
      $('create-topic').value = '';
      open($('dlg-create'), 'create-name');
    });
    $('create-form').addEventListener('submit', async (e) => {
      if (e.submitter?.value !== 'create') return;
      e.preventDefault();
      const name = $('create-name').value.trim();
      if (!name) {
        $('create-error').textContent = 'Give the room a name.';
        return;
      }
      const kind = $('create-form').querySelector('input[name=kind]:checked').value;
      try {
        await app.createRoom({ kind, name, topic: $('create-topic').value.trim(), member_ids: [...chosen.keys()] });
        finish(app, $('dlg-create'));
      } catch (err) {
        $('create-error').textContent = describe(err);
      }
    });
  }

  // Directory of public rooms.

  setupDirectory() {
    const app = this.app;
    let next = '';
    const list = $('directory-results');
    const load = async (more) => {
      const q = $('directory-search').value.trim();
      $('directory-error').textContent = '';
      try {
        const page = await app.api.directory(q, more ? next : '');
        if ($('directory-search').value.trim() !== q) return;
        next = page.next || '';
        const items = page.rooms.map((r) => {
          const member = app.store.rooms.has(r.id);
          return h('li', { class: 'directory-room' },
            avatar(r.id, r.name, 'public'),
            h('span', { class: 'grow' }, h('strong', {}, r.name), ' ',
              h('span', { class: 'muted' }, `${r.member_count} ${r.member_count === 1 ? 'member' : 'members'}`),
              r.topic ? h('span', { class: 'topic muted' }, r.topic) : null),
            h('button', {
              type: 'button', class: member ? '' : 'primary', 'aria-label': `${member ? 'Open' : 'Join'} ${r.name}`,
              onclick: async () => {
                try {
                  await app.joinRoom(r);
                  finish(app, $('dlg-directory'));
                } catch (err) {
                  $('directory-error').textContent = describe(err);
                }
              },
            }, member ? 'Open' : 'Join'));
        });
        if (more) list.append(...items);
        else list.replaceChildren(...items);
        if (!more && items.length === 0) list.append(h('li', { class: 'muted' }, 'No public rooms found.'));
        $('directory-more').hidden = !next;
      } catch (err) {
        $('directory-error').textContent = describe(err);
      }
    };
    $('directory-search').addEventListener('input', debounce(() => load(false), 200));
    $('directory-search').addEventListener('keydown', enterPicksFirst(list));
    $('directory-more').addEventListener('click', () => load(true));
    $('open-directory').addEventListener('click', () => {
      $('directory-search').value = '';
      list.replaceChildren();
      open($('dlg-directory'), 'directory-search');
      load(false);
    });
  }

  // Room details.

  setupDetails() {
    const app = this.app;
    this.resetDetailsSearch = userSearch(app, 'details-search', 'details-results', 'details-error', {
      exclude: (u) => !!app.activeRoom()?.members?.has(u.id),
      pick: async (u) => {
        try {
          await app.addMember(app.activeRoom(), u);
          this.resetDetailsSearch();
          this.drawMembers();
        } catch (err) {
          $('details-error').textContent = describe(err);
        }
      },
    });
    $('open-details').addEventListener('click', () => this.openDetails());
    const prefs = async () => {
      const hours = Number($('details-silence').value);
      const silenced = hours ? new Date(Date.now() + hours * 3_600_000).toISOString() : null;
      try {
        await app.setRoomPrefs(app.activeRoom(), { notify: $('details-notify').value, silenced_until: silenced });
      } catch (err) {
        $('details-error').textContent = describe(err);
      }
    };
    $('details-notify').addEventListener('change', prefs);
    $('details-silence').addEventListener('change', prefs);
    $('details-leave').addEventListener('click', async () => {
      const room = app.activeRoom();
      try {
        await app.leave(room);
        $('dlg-details').close();
      } catch (err) {
        $('details-error').textContent = describe(err);
      }
    });
    $('details-more').addEventListener('click', async () => {
      await app.loadMembers(app.activeRoom(), true);
      this.drawMembers();
    });
    app.store.addEventListener('members', (e) => {
      if ($('dlg-details').open && e.detail.room === app.activeRoom()) this.drawMembers();
    });
  }

  async openDetails() {
    const app = this.app;
    const room = app.activeRoom();
    if (!room) return;
    $('dlg-details-title').textContent = app.store.roomName(room);
    $('details-topic').textContent = room.topic || (room.kind === 'direct' ? 'Direct chat' : '');
    $('details-notify').value = room.notify || 'all';
    const silenced = room.silenced_until && Date.parse(room.silenced_until) > Date.now();
    $('details-silence').value = '';
    $('details-silence').options[0].textContent = silenced
      ? `Silenced until ${new Date(room.silenced_until).toLocaleTimeString()}` : 'Not silenced';
    $('details-leave').hidden = room.kind === 'direct';
    $('details-error').textContent = '';
    this.resetDetailsSearch();
    this.drawMembers();
    open($('dlg-details'));
    try {
      await app.loadMembers(room);
      this.drawMembers();
    } catch (err) {
      $('details-error').textContent = describe(err);
    }
  }

  drawMembers() {
    const app = this.app;
    const room = app.activeRoom();
    if (!room) return;
    const me = room.members?.get(app.store.me.id);
    const canAdd = room.kind === 'public' || (room.kind === 'group' && ['owner', 'admin'].includes(me?.role));
    $('details-add').hidden = !canAdd;
    const members = room.members ? [...room.members.values()] : [];
    members.sort((a, b) => (a.user.display_name || a.user.username).localeCompare(b.user.display_name || b.user.username));
    $('details-count').textContent = `(${room.member_count ?? members.length})`;
    $('details-members').replaceChildren(...members.map((m) => {
      const u = app.store.users.get(m.user.id) || m.user;
      const removable = m.user.id !== app.store.me.id && room.kind !== 'direct' && canRemove(me?.role, m.role);
      return h('li', { class: 'member' },
        avatar(u.id, u.display_name || u.username, 'direct', u.status),
        h('span', { class: 'grow' }, h('strong', {}, u.display_name || u.username), ' ',
          h('span', { class: 'muted' }, '@' + u.username),
          m.role !== 'member' && room.kind !== 'direct' ? h('span', { class: 'role' }, m.role) : null,
          u.status ? h('span', { class: 'sr-only' }, `, ${u.status}`) : null),
        removable ? h('button', {
          type: 'button', class: 'small danger', 'aria-label': `Remove ${u.display_name || u.username} from the room`,
          onclick: async () => {
            try {
              await app.removeMember(room, m.user.id);
              this.drawMembers();
            } catch (err) {
              $('details-error').textContent = describe(err);
            }
          },
        }, 'Remove') : null);
    }));
    $('details-more').hidden = !room.membersNext;
  }

  // Settings.

  setupSettings() {
    const app = this.app;
    $('open-settings').addEventListener('click', () => {
      const s = app.settings();
      $('settings-name').value = app.store.me.display_name || '';
      $('settings-theme').value = s.theme;
      $('settings-presence').checked = s.show_presence;
      $('settings-sound').checked = app.notifier.sound;
      $('settings-error').textContent = '';
      this.drawPermission();
      open($('dlg-settings'), 'settings-name');
    });
    const save = (patch) => app.saveSettings(patch).catch((err) => {
      $('settings-error').textContent = describe(err);
    });
    $('settings-theme').addEventListener('change', (e) => save({ theme: e.target.value }));
    $('settings-presence').addEventListener('change', (e) => save({ show_presence: e.target.checked }));
    $('settings-sound').addEventListener('change', (e) => { app.notifier.sound = e.target.checked; });
    $('settings-name').addEventListener('change', async (e) => {
      const name = e.target.value.trim();
      if (!name) return;
      try {
        await app.rename(name);
      } catch (err) {
        $('settings-error').textContent = describe(err);
      }
    });
    $('settings-notify').addEventListener('click', async () => {
      await app.notifier.ask();
      this.drawPermission();
    });
    $('logout').addEventListener('click', () => {
      $('dlg-settings').close();
      app.logout();
    });
  }

  drawPermission() {
    const p = this.app.notifier.permission;
    $('settings-notify').hidden = p !== 'default';
    $('settings-notify-state').textContent = {
      granted: 'Desktop notifications are on while Parley is in the background.',
      denied: 'Desktop notifications are blocked in this browser’s site settings.',
      unsupported: 'This browser cannot show desktop notifications here.',
      default: '',
    }[p];
  }
}

// canRemove mirrors the server's rule: owners remove anyone but the owner,
// admins remove members.
function canRemove(actor, target) {
  if (actor === 'owner') return target !== 'owner';
  if (actor === 'admin') return target === 'member';
  return false;
}
