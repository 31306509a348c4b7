// ui/auth.js: the sign-in and registration form.

import { $ } from '../dom.js';

const FIELD_NAMES = { username: 'Username', password: 'Password', display_name: 'Display name', invite_code: 'Invite code' };

export class AuthView {
  // onSignedIn({token, user}) is called once the server accepts.
  constructor(api, onSignedIn) {
    this.api = api;
    this.onSignedIn = onSignedIn;
    this.mode = 'login';
    this.form = $('auth-form');
    this.error = $('auth-error');
    this.form.addEventListener('submit', (e) => {
      e.preventDefault();
      this.submit();
    });
    $('auth-switch').addEventListener('click', () => this.setMode(this.mode === 'login' ? 'register' : 'login'));
  }

  show(message = '') {
    $('chat-view').hidden = true;
    $('auth-view').hidden = false;
    this.error.textContent = message;
    this.setMode(this.mode);
    $('auth-username').focus();
  }

  hide() {
    $('auth-view').hidden = true;
  }

  setMode(mode) {
    this.mode = mode;
    const register = mode === 'register';
    $('auth-lead').textContent = register ? 'Create an account to start chatting.' : 'Sign in to chat.';
    $('auth-submit').textContent = register ? 'Create account' : 'Sign in';
    $('auth-switch-lead').textContent = register ? 'Have an account?' : 'New here?';
    $('auth-switch').textContent = register ? 'Sign in instead' : 'Create an account';
    $('auth-display-row').hidden = !register;
    $('auth-password').autocomplete = register ? 'new-password' : 'current-password';
    if (!register) $('auth-invite-row').hidden = true;
    this.error.textContent = '';
  }

  async submit() {
    const username = $('auth-username').value.trim();
    const password = $('auth-password').value;
    if (!username || !password) {
      this.error.textContent = 'Enter a username and a password.';
      return;
    }
    const button = $('auth-submit');
    button.disabled = true;
    this.error.textContent = '';
    try {
      let auth;
      if (this.mode === 'register') {
        const fields = { username, password };
        const display = $('auth-display').value.trim();
        const invite = $('auth-invite').value.trim();
        if (display) fields.display_name = display;
        if (invite) fields.invite_code = invite;
        auth = await this.api.register(fields);
      } else {
        auth = await this.api.login(username, password);
      }
      $('auth-password').value = '';
      this.onSignedIn(auth);
    } catch (err) {
      this.error.textContent = describe(err);
      if (this.mode === 'register' && (err.status === 403 || err.fields.invite_code)) {
        $('auth-invite-row').hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  }
}

// describe turns an API error into a sentence, naming the fields at fault.
export function describe(err) {
  const fields = Object.entries(err.fields || {});
  if (fields.length === 0) return err.message;
  return fields.map(([name, f]) => `${FIELD_NAMES[name] || name}: ${f.message}.`).join(' ');
}
