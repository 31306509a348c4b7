// markdown.js: the small Markdown subset messages may use: **bold**,
// *italic* and _italic_, `inline code`, ``` code blocks ```, > quotes,
// [links](https://…), bare http(s) and mailto links, and @mentions.
//
// It builds DOM nodes and puts message text in only as text nodes: nothing a
// message holds is ever parsed as HTML. Links get an href only when their
// URL is absolute and http:, https: or mailto:; any other link stays as the
// literal text that was typed.

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

// Nesting limits keep hostile input from building deep trees.
const MAX_QUOTE_DEPTH = 3;
const MAX_INLINE_DEPTH = 4;

// safeHref returns url normalised if it may be a link target, else null.
export function safeHref(url) {
  let u;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(u.protocol) ? u.href : null;
}

// render turns message text into a DocumentFragment of block elements (p,
// pre, blockquote). opts.mention(name) decides whether @name is someone
// known: it returns null for plain text, or {self} to highlight it.
export function render(text, opts = {}) {
  return blocks(String(text).replace(/\r\n?/g, '\n').split('\n'), opts, 0);
}

function blocks(lines, opts, depth) {
  const frag = document.createDocumentFragment();
  let para = [];
  const flush = () => {
    if (para.length === 0) return;
    const p = document.createElement('p');
    p.append(...inline(para.join('\n'), opts, 0));
    frag.append(p);
    para = [];
  };

  for (let i = 0; i < lines.length;) {
    const line = lines[i];
    const fence = /^\s*```([^`]*)$/.exec(line);
    if (fence) {
      flush();
      const body = [];
      for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) body.push(lines[i]);
      i++; // the closing fence; an unclosed block runs to the end
      frag.append(codeBlock(body.join('\n'), fence[1].trim()));
      continue;
    }
    if (/^\s*>/.test(line) && depth < MAX_QUOTE_DEPTH) {
      flush();
      const body = [];
      for (; i < lines.length && /^\s*>/.test(lines[i]); i++) body.push(lines[i].replace(/^\s*> ?/, ''));
      const quote = document.createElement('blockquote');
      quote.append(blocks(body, opts, depth + 1));
      frag.append(quote);
      continue;
    }
    if (line.trim() === '') flush();
    else para.push(line);
    i++;
  }
  flush();
  return frag;
}

function codeBlock(text, lang) {
  const pre = document.createElement('pre');
  const code = document.createElement('code');
  code.textContent = text;
  if (/^[\w+-]{1,20}$/.test(lang)) code.dataset.lang = lang;
  pre.append(code);
  return pre;
}

// inline parses one paragraph into nodes.
function inline(s, opts, depth) {
  const out = [];
  let text = '';
  const push = (node) => {
    if (text) out.push(document.createTextNode(text));
    text = '';
    out.push(node);
  };

  let i = 0;
  while (i < s.length) {
    const c = s[i];
    const prev = i > 0 ? s[i - 1] : ' ';
    const rest = s.slice(i);

    if (c === '\\' && /^\\[\\`*_[\]()>@]/.test(rest)) {
      text += s[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const run = /^`+/.exec(rest)[0];
      const end = s.indexOf(run, i + run.length);
      if (end > i + run.length) {
        const code = document.createElement('code');
        code.textContent = s.slice(i + run.length, end);
        push(code);
        i = end + run.length;
      } else {
        text += run;
        i += run.length;
      }
      continue;
    }
    if ((c === '*' || c === '_') && depth < MAX_INLINE_DEPTH) {
      const em = emphasis(s, i, prev, opts, depth);
      if (em) {
        push(em.node);
        i = em.end;
        continue;
      }
    }
    if (c === '[' && !opts.inLink) {
      const m = /^\[([^[\]\n]{1,500})\]\(([^()\s]{1,2000})\)/.exec(rest);
      if (m) {
        const href = safeHref(m[2]);
        if (href) push(link(href, inline(m[1], { ...opts, inLink: true }, depth + 1)));
        else text += m[0];
        i += m[0].length;
        continue;
      }
    }
    if (!opts.inLink && /[\s(<"']/.test(prev)) {
      const url = bareURL(rest);
      if (url) {
        const href = safeHref(url);
        if (href) push(link(href, [document.createTextNode(url)]));
        else text += url;
        i += url.length;
        continue;
      }
    }
    if (c === '@' && !/[\w.@-]/.test(prev)) {
      const m = /^@([A-Za-z0-9_.-]{3,32})/.exec(rest);
      const name = m && m[1].replace(/[.-]+$/, '');
      const who = name && opts.mention ? opts.mention(name) : null;
      if (who) {
        const span = document.createElement('span');
        span.className = who.self ? 'mention self' : 'mention';
        span.textContent = '@' + name;
        push(span);
        i += 1 + name.length;
        continue;
      }
    }
    text += c;
    i++;
  }
  if (text) out.push(document.createTextNode(text));
  return out;
}

// emphasis parses **bold**, __bold__, *italic* or _italic_ at s[i]. The
// opening delimiter must be followed, and the closing one preceded, by a
// non-space; underscores must also stand at word boundaries, so snake_case
// stays as it is.
function emphasis(s, i, prev, opts, depth) {
  const c = s[i];
  const delim = s[i + 1] === c ? c + c : c;
  const from = i + delim.length;
  if (from >= s.length || /\s/.test(s[from])) return null;
  if (c === '_' && /\w/.test(prev)) return null;

  for (let j = s.indexOf(delim, from + 1); j !== -1; j = s.indexOf(delim, j + 1)) {
    if (/\s/.test(s[j - 1])) continue;
    const after = s[j + delim.length] ?? ' ';
    if (delim.length === 1 && (s[j - 1] === c || after === c)) continue;
    if (c === '_' && /\w/.test(after)) continue;
    const node = document.createElement(delim.length === 2 ? 'strong' : 'em');
    node.append(...inline(s.slice(from, j), opts, depth + 1));
    return { node, end: j + delim.length };
  }
  return null;
}

// bareURL returns the http(s) or mailto URL that starts s, without the
// punctuation that usually ends a sentence around it.
function bareURL(s) {
  const m = /^(?:https?:\/\/|mailto:)[^\s<>]+/i.exec(s);
  if (!m) return null;
  let url = m[0];
  for (;;) {
    const last = url[url.length - 1];
    if (/[.,;:!?'"*_]/.test(last)) url = url.slice(0, -1);
    else if (last === ')' && count(url, '(') < count(url, ')')) url = url.slice(0, -1);
    else break;
  }
  return /^(?:https?:\/\/|mailto:)./i.test(url) ? url : null;
}

function count(s, ch) {
  return s.split(ch).length - 1;
}

function link(href, children) {
  const a = document.createElement('a');
  a.href = href;
  a.rel = 'noopener noreferrer nofollow';
  a.target = '_blank';
  a.append(...children);
  return a;
}

// plain returns message text with Markdown marks removed, for previews and
// notifications, which show text only.
export function plain(text) {
  return String(text)
    .replace(/```[^\n]*\n?/g, '')
    .replace(/^\s*>\s?/gm, '')
    .replace(/(\*\*|__|`)/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}
