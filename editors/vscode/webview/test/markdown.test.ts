// Why this file exists: the Markdown renderer's output for each construct it supports, and proof that HTML in a
// message (scripts, event handlers, links) only ever becomes text.

import { strict as assert } from "node:assert";
import { test } from "node:test";
import { renderMarkdown } from "../markdown";
import { html, newDocument } from "./harness";

const { doc } = newDocument();
const md = (src: string) => html(renderMarkdown(doc, src));

const CASES: [string, string, string][] = [
  ["paragraphs", "one\ntwo\n\nthree", "<p>one two</p><p>three</p>"],
  ["hard break", "one  \ntwo\\\nthree", "<p>one<br>two<br>three</p>"],
  ["code span", "run `ls -la` now", '<p>run <code class="md-code-span">ls -la</code> now</p>'],
  ["code span with backticks", "`` a`b ``", '<p><code class="md-code-span">a`b</code></p>'],
  ["unclosed code span", "a `b", "<p>a `b</p>"],
  ["bold and italic", "**b** *i* __b__ _i_", "<p><strong>b</strong> <em>i</em> <strong>b</strong> <em>i</em></p>"],
  ["nested emphasis", "*a **b** c*", "<p><em>a <strong>b</strong> c</em></p>"],
  ["bold italic", "***x***", "<p><strong><em>x</em></strong></p>"],
  ["strike", "~~gone~~", "<p><del>gone</del></p>"],
  ["intraword underscore", "snake_case_name", "<p>snake_case_name</p>"],
  ["lone stars", "2 * 3 * 4", "<p>2 * 3 * 4</p>"],
  ["emphasis not across a code span", "*a `*` b*", '<p><em>a <code class="md-code-span">*</code> b</em></p>'],
  ["backslash escapes", "\\*not\\* \\`x\\`", "<p>*not* `x`</p>"],
  [
    "link as text",
    "see [the docs](https://example.com/a?b=1)",
    '<p>see <span class="md-link" title="https://example.com/a?b=1">the docs</span><span class="md-url"> (https://example.com/a?b=1)</span></p>',
  ],
  ["autolink", "<https://x.io>", '<p><span class="md-link" title="https://x.io">https://x.io</span></p>'],
  [
    "image as text",
    "![a cat](cat.png)",
    '<p><span class="md-image" title="cat.png">a cat</span><span class="md-url"> (cat.png)</span></p>',
  ],
  [
    "fenced code",
    "```rust\nfn main() {}\n  <b>\n```\nafter",
    '<pre class="md-code"><code data-lang="rust">fn main() {}\n  &lt;b&gt;</code></pre><p>after</p>',
  ],
  ["unclosed fence runs to the end", "~~~\na\n\nb", '<pre class="md-code"><code>a\n\nb</code></pre>'],
  [
    "headings",
    "# One\n### Three ###\n#nope",
    '<h1 class="md-heading">One</h1><h3 class="md-heading">Three</h3><p>#nope</p>',
  ],
  ["rule", "a\n\n---\nb", "<p>a</p><hr><p>b</p>"],
  [
    "bullet list",
    "- a\n- b\n  more\n* c",
    "<ul><li><p>a</p></li><li><p>b more</p></li></ul><ul><li><p>c</p></li></ul>",
  ],
  ["ordered list with start", "3. c\n4. d", '<ol start="3"><li><p>c</p></li><li><p>d</p></li></ol>'],
  [
    "nested list",
    "1. top\n   - inner **b**\n   - two\n2. next",
    "<ol><li><p>top</p><ul><li><p>inner <strong>b</strong></p></li><li><p>two</p></li></ul></li><li><p>next</p></li></ol>",
  ],
  ["loose list", "- a\n\n- b", "<ul><li><p>a</p></li><li><p>b</p></li></ul>"],
  ["code in list", "- x:\n  ```\n  y\n  ```", '<ul><li><p>x:</p><pre class="md-code"><code>y</code></pre></li></ul>'],
  [
    "task list",
    "- [ ] todo\n- [x] done",
    '<ul><li class="md-task" data-checked="false"><p>☐ todo</p></li><li class="md-task" data-checked="true"><p>☑ done</p></li></ul>',
  ],
  ["block quote", "> quoted *x*\n> more", "<blockquote><p>quoted <em>x</em> more</p></blockquote>"],
  [
    "table",
    "| a | b |\n|---|:-:|\n| 1 | `2` |\n| 3 |",
    '<table class="md-table"><thead><tr><th>a</th><th>b</th></tr></thead><tbody><tr><td>1</td><td><code class="md-code-span">2</code></td></tr><tr><td>3</td><td></td></tr></tbody></table>',
  ],
  ["CRLF", "a\r\nb\r\n\r\nc", "<p>a b</p><p>c</p>"],
];

for (const [name, src, want] of CASES) {
  test(`markdown: ${name}`, () => assert.equal(md(src), want));
}

test("markdown: HTML in a message renders as text, never as elements", () => {
  const src = [
    '<script>alert("x")</script>',
    "",
    '<img src=x onerror="alert(1)">',
    "",
    '**<b onclick="evil()">bold</b>** and `<iframe src="javascript:alert(1)">`',
    "",
    "[click](javascript:alert(1)) <a href='https://evil'>a</a>",
    "",
    "```html\n<script>document.cookie</script>\n```",
  ].join("\n");
  const frag = renderMarkdown(doc, src);
  const root = doc.createElement("div");
  root.appendChild(frag);
  for (const tag of ["script", "img", "iframe", "a", "b"]) {
    assert.equal(root.querySelectorAll(tag).length, 0, `no <${tag}> element`);
  }
  for (const node of Array.from(root.querySelectorAll("*"))) {
    for (const attr of node.getAttributeNames()) {
      assert.ok(!attr.startsWith("on"), `no event handler attribute (${attr})`);
      assert.notEqual(attr, "href");
      assert.notEqual(attr, "src");
    }
  }
  assert.equal(root.querySelector("p")!.textContent, '<script>alert("x")</script>');
  assert.equal(root.querySelectorAll("p")[1].textContent, '<img src=x onerror="alert(1)">');
  assert.equal(
    html(root.querySelectorAll("p")[2]),
    '<strong>&lt;b onclick="evil()"&gt;bold&lt;/b&gt;</strong> and <code class="md-code-span">&lt;iframe src="javascript:alert(1)"&gt;</code>',
  );
  assert.match(root.textContent!, /click \(javascript:alert\(1\)\) <a href='https:\/\/evil'>a<\/a>/);
  assert.equal(root.querySelector("pre code")!.textContent, "<script>document.cookie</script>");
});

test("markdown: deep nesting stops recursing instead of overflowing the stack", () => {
  const deep = ">".repeat(5000) + " x";
  const root = doc.createElement("div");
  root.appendChild(renderMarkdown(doc, deep));
  assert.ok(root.querySelectorAll("blockquote").length <= 12);
  assert.match(root.textContent!, /x$/);
  const stars = "*".repeat(10000) + "a" + "*".repeat(10000);
  assert.ok(renderMarkdown(doc, stars).textContent!.includes("a"));
});

test("markdown: 1,000 open brackets render in linear-ish time", () => {
  const start = performance.now();
  renderMarkdown(doc, "[".repeat(1000) + "x" + "(".repeat(1000) + " `".repeat(1000));
  assert.ok(performance.now() - start < 1000, "pathological input took over a second");
});

test("markdown: many unmatched delimiters stay linear", () => {
  // Only text comes out of these inputs, so the time is the parser's, not the DOM's.
  for (const unit of ["*a ", "_b ", "**c ", "~~d ", "[f ", "![g ", "<h "]) {
    const src = unit.repeat(20000);
    const start = performance.now();
    const out = renderMarkdown(doc, src);
    const ms = performance.now() - start;
    assert.ok(ms < 2000, `${JSON.stringify(unit)} x 20,000 took ${ms.toFixed(0)} ms`);
    assert.equal(out.textContent!.trim(), src.trim());
  }
});

/** A document whose nodes cost nothing, so a timing measures the parser alone (happy-dom's nodes are slow). */
function cheapDocument(): Document {
  const node = (): Record<string, unknown> => {
    const n: Record<string, unknown> = { ownerDocument: fake, textContent: "" };
    n.appendChild = (c: unknown) => c;
    n.setAttribute = () => {};
    return n;
  };
  const fake = { createElement: node, createTextNode: node, createDocumentFragment: node };
  return fake as unknown as Document;
}

test("markdown: unmatched code spans and brackets grow linearly", () => {
  const cheap = cheapDocument();
  const time = (n: number) => {
    let best = Infinity;
    for (let k = 0; k < 3; k++) {
      const start = performance.now();
      renderMarkdown(cheap, "```a ``b [c ![d (e **f _g ~~h <i ".repeat(n) + "`");
      best = Math.min(best, performance.now() - start);
    }
    return best;
  };
  time(500);
  const small = Math.max(time(2000), 1);
  const large = time(16000);
  // 8x the input: about 8x the time if linear, 64x if quadratic.
  assert.ok(
    large / small < 24,
    `8x the input took ${(large / small).toFixed(1)}x the time (${small.toFixed(1)} ms, ${large.toFixed(1)} ms)`,
  );
});

test("markdown: random input never throws and only ever makes the renderer's own tags and attributes", () => {
  const tags = new Set(["P", "BR", "CODE", "PRE", "STRONG", "EM", "DEL", "SPAN", "UL", "OL", "LI", "BLOCKQUOTE", "HR"]);
  for (const t of ["H1", "H2", "H3", "H4", "H5", "H6", "TABLE", "THEAD", "TBODY", "TR", "TH", "TD"]) tags.add(t);
  const attrs = new Set(["class", "title", "data-lang", "start", "data-checked"]);
  const pieces = [
    "*",
    "**",
    "_",
    "`",
    "```",
    "~~",
    "[",
    "]",
    "(",
    ")",
    "!",
    "<",
    ">",
    "\\",
    "#",
    "-",
    "1.",
    "|",
    " ",
    "  ",
    "\n",
    "\n\n",
    "a",
    "<script>",
    "<img onerror=x>",
    "http://x",
    ":-:",
    "[ ]",
  ];
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let round = 0; round < 2000; round++) {
    const src = Array.from({ length: Math.floor(rand() * 40) }, () => pieces[Math.floor(rand() * pieces.length)]).join(
      "",
    );
    const root = doc.createElement("div");
    root.appendChild(renderMarkdown(doc, src));
    for (const node of Array.from(root.querySelectorAll("*"))) {
      assert.ok(tags.has(node.tagName), `<${node.tagName}> from ${JSON.stringify(src)}`);
      for (const a of node.getAttributeNames()) assert.ok(attrs.has(a), `${a}= from ${JSON.stringify(src)}`);
    }
  }
});
