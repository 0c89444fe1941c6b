// Why this file exists: the panel builds every node through these helpers, so untrusted text only ever becomes a
// text node (never markup) and each module can be handed any document (the webview's, or happy-dom's in tests).

export type Child = Node | string | null | undefined | false;

/** Runs `task` later, off the current call stack (an animation frame in the webview; a queue in tests). */
export type Scheduler = (task: () => void) => void;

export function defaultScheduler(): Scheduler {
  const raf = (globalThis as { requestAnimationFrame?: (cb: () => void) => unknown }).requestAnimationFrame;
  return raf ? (task) => void raf(task) : (task) => void setTimeout(task, 0);
}

/** `<tag class=… attr=…>children</tag>`; `class` sets the class name, every other key is an attribute. */
export function el<K extends keyof HTMLElementTagNameMap>(
  doc: Document,
  tag: K,
  attrs?: Record<string, string | undefined> | null,
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = doc.createElement(tag);
  if (attrs) {
    for (const [name, value] of Object.entries(attrs)) {
      if (value === undefined) continue;
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
  }
  append(node, ...children);
  return node;
}

export function append(parent: Node, ...children: Child[]): void {
  const doc = parent.ownerDocument ?? (parent as Document);
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? doc.createTextNode(child) : child);
  }
}

/** A button that runs `onClick` (the only way the panel listens to clicks, so handlers never come from markup). */
export function button(
  doc: Document,
  label: string,
  attrs: Record<string, string | undefined>,
  onClick: () => void,
): HTMLButtonElement {
  const b = el(doc, "button", { type: "button", ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

export function clear(node: Node): void {
  while (node.firstChild) node.removeChild(node.firstChild);
}
