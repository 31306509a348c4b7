// api.js: Parley's REST API under /api/v1, one method per call. Requests
// and answers are JSON; a failed call throws an ApiError carrying the
// server's error code and message (status 0 when the server is unreachable).

export class ApiError extends Error {
  constructor(status, body, retryAfter) {
    const e = (body && body.error) || {};
    super(e.message || (status ? `The request failed (${status}).` : 'The server cannot be reached.'));
    this.status = status;
    this.code = e.code || (status ? 'unknown' : 'network');
    this.fields = e.fields || {};
    this.requestId = e.request_id || '';
    this.retryAfter = Number(retryAfter) || 0;
  }

  // missing reports whether the endpoint does not exist on this server yet,
  // so a client can fall back instead of reporting an error.
  get missing() {
    return this.status === 404 && this.code === 'not_found' && /endpoint/.test(this.message)
      || this.status === 405 || this.status === 501;
  }

  // transient reports whether trying again later may succeed.
  get transient() {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

const enc = encodeURIComponent;

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v != null && v !== '' && v !== 0) q.set(k, v);
  const s = q.toString();
  return s ? '?' + s : '';
}

export class Api {
  // onUnauthorized is called when the server rejects the token.
  constructor({ base = '/api/v1', token = '', onUnauthorized = null } = {}) {
    this.base = base;
    this.token = token;
    this.onUnauthorized = onUnauthorized;
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = 'Bearer ' + this.token;
    let res;
    try {
      res = await fetch(this.base + path, {
        method, headers, body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store', credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, null);
    }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (res.ok) return data;
    const err = new ApiError(res.status, data, res.headers.get('Retry-After'));
    if (res.status === 401 && this.token && this.onUnauthorized) this.onUnauthorized(err);
    throw err;
  }

  // Accounts.
  register(fields) { return this.request('POST', '/auth/register', fields); }
  login(username, password) { return this.request('POST', '/auth/login', { username, password }); }
  logout() { return this.request('POST', '/auth/logout'); }
  me() { return this.request('GET', '/me'); }
  updateMe(patch) { return this.request('PATCH', '/me', patch); }
  unread() { return this.request('GET', '/me/unread'); }
  searchUsers(q, limit = 10) { return this.request('GET', '/users' + query({ q, limit })); }
  user(id) { return this.request('GET', `/users/${enc(id)}`); }

  // Rooms.
  rooms() { return this.request('GET', '/rooms'); }
  room(id) { return this.request('GET', `/rooms/${enc(id)}`); }
  createRoom(room) { return this.request('POST', '/rooms', room); }
  updateRoom(id, patch) { return this.request('PATCH', `/rooms/${enc(id)}`, patch); }
  join(id) { return this.request('POST', `/rooms/${enc(id)}/join`); }
  directory(q, after) { return this.request('GET', '/rooms/directory' + query({ q, after })); }
  members(id, after) { return this.request('GET', `/rooms/${enc(id)}/members` + query({ after, limit: 200 })); }
  addMember(id, userID) { return this.request('POST', `/rooms/${enc(id)}/members`, { user_id: userID }); }
  removeMember(id, userID) { return this.request('DELETE', `/rooms/${enc(id)}/members/${enc(userID)}`); }
  roomSettings(id, patch) { return this.request('PATCH', `/rooms/${enc(id)}/settings`, patch); }

  // Timelines. Pages are {before} or {after} a seq, plus a limit.
  messages(id, page = {}) { return this.request('GET', `/rooms/${enc(id)}/messages` + query(page)); }
  events(id, page = {}) { return this.request('GET', `/rooms/${enc(id)}/events` + query(page)); }
  send(id, text, clientID) {
    return this.request('POST', `/rooms/${enc(id)}/messages`, { text, client_id: clientID });
  }
  edit(id, messageID, text) {
    return this.request('PATCH', `/rooms/${enc(id)}/messages/${enc(messageID)}`, { text });
  }
  deleteMessage(id, messageID) {
    return this.request('DELETE', `/rooms/${enc(id)}/messages/${enc(messageID)}`);
  }

  // Conversation state.
  markRead(id, seq) { return this.request('POST', `/rooms/${enc(id)}/read`, { seq }); }
  receipts(id) { return this.request('GET', `/rooms/${enc(id)}/receipts`); }
}
