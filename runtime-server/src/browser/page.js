// Runs inside the page (Runtime.evaluate): gives elements their `bid`, reads what the observation needs,
// converts the DOM to Markdown, and locates or edits elements for the actions. Evaluates to an object of
// functions; the Rust side calls one of them per evaluation.
(() => {
  'use strict';

  // Every element, including those inside open shadow roots, in document order per root.
  function allElements() {
    const out = [];
    const stack = [document];
    while (stack.length) {
      const root = stack.pop();
      for (const el of root.querySelectorAll('*')) {
        out.push(el);
        if (el.shadowRoot) stack.push(el.shadowRoot);
      }
    }
    return out;
  }

  // Gives every element a unique `bid`; elements keep the bid they have unless another holds it.
  function mark(els) {
    let max = -1;
    for (const el of els) {
      const b = el.getAttribute('bid');
      if (b !== null && /^\d+$/.test(b)) max = Math.max(max, Number(b));
    }
    const key = Symbol.for('openhands.nextBid');
    let next = Math.max(max + 1, window[key] || 0);
    const seen = new Set();
    for (const el of els) {
      let b = el.getAttribute('bid');
      if (b === null || b === '' || seen.has(b)) {
        b = String(next++);
        el.setAttribute('bid', b);
      }
      seen.add(b);
    }
    window[key] = next;
  }

  function find(bid) {
    const sel = '[bid="' + CSS.escape(bid) + '"]';
    const stack = [document];
    while (stack.length) {
      const root = stack.pop();
      const hit = root.querySelector(sel);
      if (hit) return hit;
      for (const el of root.querySelectorAll('*')) if (el.shadowRoot) stack.push(el.shadowRoot);
    }
    return null;
  }

  function shown(el) {
    return !el.checkVisibility || el.checkVisibility({ visibilityProperty: true });
  }

  // Share of the element's box inside the viewport (0 when hidden).
  function visibility(el, r) {
    if (r.width <= 0 || r.height <= 0 || !shown(el)) return 0;
    const w = Math.max(0, Math.min(r.right, innerWidth) - Math.max(r.left, 0));
    const h = Math.max(0, Math.min(r.bottom, innerHeight) - Math.max(r.top, 0));
    return Math.round((w * h) / (r.width * r.height) * 1000) / 1000;
  }

  function focusedElement() {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el;
  }

  // ---- HTML to Markdown -------------------------------------------------------------------------

  const SKIP = new Set(['SCRIPT', 'STYLE', 'NOSCRIPT', 'TEMPLATE', 'HEAD', 'TITLE', 'META', 'LINK',
    'SVG', 'CANVAS', 'IFRAME', 'OBJECT', 'EMBED', 'AUDIO', 'VIDEO', 'INPUT', 'SELECT', 'TEXTAREA',
    'OPTION', 'DATALIST']);
  const BLOCK = new Set(['P', 'DIV', 'SECTION', 'ARTICLE', 'HEADER', 'FOOTER', 'NAV', 'MAIN', 'ASIDE',
    'FORM', 'FIELDSET', 'LEGEND', 'FIGURE', 'FIGCAPTION', 'ADDRESS', 'DETAILS', 'SUMMARY', 'DL', 'DT',
    'DD', 'CENTER', 'BODY', 'HTML', 'CAPTION']);
  const INDENT = '\u0001';

  function toMarkdown(root) {
    const kept = [];
    const keep = (s) => '\u0002' + (kept.push(s) - 1) + '\u0002';
    const block = (s) => { s = s.trim(); return s ? '\n\n' + s + '\n\n' : ''; };
    const wrap = (mark, s) => {
      const t = s.trim();
      if (!t) return s;
      const lead = s.match(/^\s*/)[0] ? ' ' : '';
      const tail = s.match(/\s*$/)[0] ? ' ' : '';
      return lead + mark + t + mark + tail;
    };
    const flat = (s) => tidy(s).replace(/\n+/g, ' ').trim();

    function children(el) {
      let s = '';
      for (const n of (el.shadowRoot ? el.shadowRoot : el).childNodes) s += render(n);
      return s;
    }

    function list(el, ordered) {
      let n = Number(el.getAttribute('start') || 1);
      const lines = [];
      for (const li of el.children) {
        if (li.tagName !== 'LI' || !shown(li)) continue;
        const body = tidy(children(li)).split('\n').filter((l) => l.trim());
        const marker = ordered ? (n++) + '. ' : '* ';
        if (!body.length) continue;
        lines.push(marker + body[0]);
        for (const l of body.slice(1)) lines.push(INDENT.repeat(marker.length) + l);
      }
      return block(lines.join('\n'));
    }

    function table(el) {
      const rows = [];
      for (const tr of el.rows) {
        if (!shown(tr)) continue;
        rows.push([...tr.cells].map((c) => flat(children(c)).replace(/\|/g, '\\|')));
      }
      if (!rows.length) return '';
      const width = Math.max(...rows.map((r) => r.length));
      const line = (r) => '| ' + Array.from({ length: width }, (_, i) => r[i] || '').join(' | ') + ' |';
      const out = [line(rows[0]), line(Array(width).fill('---')), ...rows.slice(1).map(line)];
      return block(out.join('\n'));
    }

    function render(node) {
      if (node.nodeType === Node.TEXT_NODE) return node.data.replace(/\s+/g, ' ');
      if (node.nodeType !== Node.ELEMENT_NODE) return '';
      const el = node;
      const tag = el.tagName.toUpperCase();
      if (SKIP.has(tag) || !shown(el)) return '';
      switch (tag) {
        case 'H1': case 'H2': case 'H3': case 'H4': case 'H5': case 'H6':
          return block('#'.repeat(Number(tag[1])) + ' ' + flat(children(el)));
        case 'BR': return '\n';
        case 'HR': return block('* * *');
        case 'A': {
          const text = flat(children(el));
          const href = el.getAttribute('href');
          if (!text) return '';
          if (!href || href.startsWith('javascript:')) return text;
          return '[' + text + '](' + el.href + ')';
        }
        case 'IMG': return el.alt ? el.alt : '';
        case 'STRONG': case 'B': return wrap('**', children(el));
        case 'EM': case 'I': return wrap('_', children(el));
        case 'DEL': case 'S': return wrap('~~', children(el));
        case 'CODE': return wrap('`', el.textContent.replace(/\s+/g, ' '));
        case 'PRE': return block(keep('```\n' + el.innerText.replace(/\n+$/, '') + '\n```'));
        case 'UL': case 'MENU': return list(el, false);
        case 'OL': return list(el, true);
        case 'LI': return block('* ' + flat(children(el)));
        case 'TABLE': return table(el);
        case 'BLOCKQUOTE':
          return block(tidy(children(el)).split('\n').map((l) => '> ' + l).join('\n'));
        default:
          return BLOCK.has(tag) ? block(children(el)) : children(el);
      }
    }

    function tidy(s) {
      return s.replace(/[ \t]+/g, ' ').replace(/ *\n */g, '\n').replace(/\n{3,}/g, '\n\n').trim();
    }

    const text = tidy(render(root)).replace(new RegExp(INDENT, 'g'), ' ');
    return text.replace(/\u0002(\d+)\u0002/g, (_, i) => kept[Number(i)]);
  }

  // ---- What the actions call --------------------------------------------------------------------

  const NOT_FOUND = (bid) => ({ error: 'ValueError: Could not find element with bid "' + bid + '"' });
  const TEXT_INPUTS = new Set(['', 'text', 'search', 'email', 'password', 'tel', 'url', 'number']);
  const SET_INPUTS = new Set(['date', 'time', 'datetime-local', 'month', 'week', 'range', 'color']);

  return {
    // Marks elements and reads url, title, focused bid, per-bid geometry and, if asked, Markdown.
    snapshot(withMarkdown) {
      const els = allElements();
      mark(els);
      const props = {};
      for (const el of els) {
        const r = el.getBoundingClientRect();
        props[el.getAttribute('bid')] = [visibility(el, r), r.x, r.y, r.width, r.height];
      }
      const focused = focusedElement();
      return {
        url: location.href,
        title: document.title,
        focused: (focused && focused.getAttribute('bid')) || '',
        props,
        markdown: withMarkdown && document.body ? toMarkdown(document.body) : '',
      };
    },

    // The element's centre in viewport coordinates, scrolled into view first if need be.
    point(bid) {
      const el = find(bid);
      if (!el) return NOT_FOUND(bid);
      let r = el.getBoundingClientRect();
      if (r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) {
        el.scrollIntoView({ block: 'center', inline: 'center', behavior: 'instant' });
        r = el.getBoundingClientRect();
      }
      if (r.width <= 0 || r.height <= 0 || !shown(el)) {
        return { error: 'Error: element with bid "' + bid + '" is not visible' };
      }
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    },

    focus(bid) {
      const el = find(bid);
      if (!el) return NOT_FOUND(bid);
      el.focus();
      return {};
    },

    // Focuses and selects the element's text so that typed text replaces it (Playwright's fill).
    prepareFill(bid, value) {
      const el = find(bid);
      if (!el) return NOT_FOUND(bid);
      const tag = el.tagName;
      if (tag === 'INPUT') {
        const type = (el.getAttribute('type') || '').toLowerCase();
        if (SET_INPUTS.has(type)) {
          el.focus();
          el.value = value;
          if (el.value !== value) return { error: 'Error: Malformed value "' + value + '" for input of type "' + type + '"' };
          el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
          el.dispatchEvent(new Event('change', { bubbles: true }));
          return { done: true };
        }
        if (!TEXT_INPUTS.has(type)) return { error: 'Error: Input of type "' + type + '" cannot be filled' };
      } else if (tag !== 'TEXTAREA' && !el.isContentEditable) {
        return { error: 'Error: Element is not an <input>, <textarea> or [contenteditable] element' };
      }
      if (el.disabled || el.readOnly) return { error: 'Error: Element is not editable' };
      el.focus();
      if (el.isContentEditable) {
        const range = document.createRange();
        range.selectNodeContents(el);
        const sel = getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
      } else {
        el.select();
      }
      return { done: false };
    },

    selectOption(bid, options) {
      const el = find(bid);
      if (!el) return NOT_FOUND(bid);
      if (el.tagName !== 'SELECT') return { error: 'Error: Element is not a <select> element' };
      const wanted = [];
      for (const o of options) {
        const hit = [...el.options].find((opt) => opt.value === o || opt.label.trim() === o.trim() || opt.text.trim() === o.trim());
        if (!hit) return { error: 'Error: no option "' + o + '" in the <select> with bid "' + bid + '"' };
        wanted.push(hit);
      }
      if (!el.multiple && wanted.length > 1) return { error: 'Error: the <select> with bid "' + bid + '" takes a single option' };
      for (const opt of el.options) opt.selected = wanted.includes(opt);
      el.dispatchEvent(new Event('input', { bubbles: true, composed: true }));
      el.dispatchEvent(new Event('change', { bubbles: true }));
      return {};
    },

    isFileInput(bid) {
      const el = find(bid);
      if (!el) return NOT_FOUND(bid);
      return { file: el.tagName === 'INPUT' && el.type === 'file' };
    },

    // The element itself, for calls that need a remote object (DOM.setFileInputFiles).
    element(bid) {
      return find(bid);
    },
  };
})()
