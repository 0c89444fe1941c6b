// Why this file exists: the panel benchmark's measurements, written once and run in any DOM (happy-dom under
// node, or a real Chromium page): each figure is measured beside a baseline in the same document and run.

import type { FromPanel, SessionUpdateParams } from "../../src/protocol";
import { renderOutput } from "../output";
import { Panel } from "../panel";
import { conversation } from "./fixtures";

export { conversation };

export type Stored = {
  updates: number;
  elements: number;
  panelMs: number;
  plainNodesMs: number;
  nodes: number;
  fullMs: number;
  fullElements: number;
};
export type Live = {
  sent: number;
  perSecond: number;
  seconds: number;
  meanMs: number;
  p95Ms: number;
  maxMs: number;
  lagMs: number;
  identical: boolean;
  naiveMs: number;
  replayMs: number;
  replayAddedNodes: number;
};

/** Reads layout where there is one (a browser), so the figure includes style and layout, not only DOM building. */
function settle(root: HTMLElement): void {
  void root.offsetHeight;
}

function fresh(doc: Document): HTMLElement {
  const root = doc.createElement("div");
  doc.body.appendChild(root);
  return root;
}

function newPanel(root: HTMLElement, posted: FromPanel[] = []): Panel {
  return new Panel(root, (m) => posted.push(m), { schedule: () => {} });
}

/** Builds everything a replay left behind "show earlier" rows. */
export function showAll(root: HTMLElement): void {
  for (
    let b = root.querySelector<HTMLElement>('[data-testid="show-earlier"]');
    b;
    b = root.querySelector('[data-testid="show-earlier"]')
  )
    b.click();
}

function countNodes(root: Node): number {
  let n = 0;
  const walk = (node: Node) => {
    n++;
    for (let c = node.firstChild; c; c = c.nextSibling) walk(c);
  };
  walk(root);
  return n;
}

/** The stored conversation in one `updates` batch (a history replay), against building as many plain nodes. */
export function stored(doc: Document, updates: SessionUpdateParams[]): Stored {
  const root = fresh(doc);
  const panel = newPanel(root);
  let t = performance.now();
  panel.handle({ type: "updates", updates });
  settle(root);
  const panelMs = performance.now() - t;
  const nodes = countNodes(root);
  const elements = root.querySelectorAll("*").length;
  root.remove();

  // Baseline: the same number of nodes, as plain divs each holding one text node, appended in one go.
  const base = fresh(doc);
  t = performance.now();
  for (let i = 0; i < nodes / 2; i++) {
    const d = doc.createElement("div");
    d.appendChild(doc.createTextNode(`node ${i}`));
    base.appendChild(d);
  }
  settle(base);
  const plainNodesMs = performance.now() - t;
  base.remove();

  // Baseline: the same replay with everything built at once (what a renderer without the recent-items window pays).
  const full = fresh(doc);
  const fullPanel = newPanel(full);
  t = performance.now();
  fullPanel.handle({ type: "updates", updates });
  showAll(full);
  settle(full);
  const fullMs = performance.now() - t;
  const fullElements = full.querySelectorAll("*").length;
  full.remove();
  return { updates: updates.length, elements, panelMs, plainNodesMs, nodes, fullMs, fullElements };
}

/** Feeds `perSecond` updates a second, one message each, for `seconds`; measures each and checks none was lost. */
export async function live(doc: Document, perSecond: number, seconds: number): Promise<Live> {
  const all = conversation(perSecond * seconds, "conv-live", 11);
  const root = fresh(doc);
  const panel = newPanel(root);
  const times: number[] = [];
  const start = performance.now();
  const interval = 1000 / perSecond;
  for (let i = 0; i < all.length; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const t = performance.now();
    panel.handle({ type: "updates", updates: [all[i]] });
    settle(root);
    times.push(performance.now() - t);
  }
  const lagMs = performance.now() - (start + (all.length - 1) * interval);

  // None dropped: the live-fed transcript equals the one made from the whole conversation in one batch (all of
  // it shown). Building that is also the baseline: a naive renderer rebuilds everything for each update, and
  // this is what it would pay for the last one.
  const batchRoot = fresh(doc);
  const batch = newPanel(batchRoot);
  let t = performance.now();
  batch.handle({ type: "updates", updates: all });
  showAll(batchRoot);
  settle(batchRoot);
  const naiveMs = performance.now() - t;
  const markup = (r: HTMLElement) => r.innerHTML;
  const identical = markup(root) === markup(batchRoot) && markup(root).length > 0;
  batchRoot.remove();

  // A history replay of everything already shown: deduplicated, so it adds nothing.
  const before = countNodes(root);
  t = performance.now();
  panel.handle({ type: "updates", updates: all });
  const replayMs = performance.now() - t;
  const replayAddedNodes = countNodes(root) - before;
  root.remove();

  const sorted = [...times].sort((a, b) => a - b);
  return {
    sent: all.length,
    perSecond,
    seconds,
    meanMs: times.reduce((a, b) => a + b, 0) / times.length,
    p95Ms: sorted[Math.floor(sorted.length * 0.95)],
    maxMs: sorted[sorted.length - 1],
    lagMs,
    identical,
    naiveMs,
    replayMs,
    replayAddedNodes,
  };
}

export type Unfold = {
  lines: number;
  firstMs: number;
  chunks: number;
  maxChunkMs: number;
  totalMs: number;
  eagerMs: number;
};

/** A 100,000-line output: shown folded, then unfolded chunk by chunk; against building all of it in one task. */
export async function unfold(doc: Document, lines = 100_000): Promise<Unfold> {
  const text = Array.from({ length: lines }, (_, i) =>
    i % 10 === 0 ? `\x1b[31mline ${i}\x1b[0m` : `line ${i} of the output`,
  ).join("\n");
  const root = fresh(doc);
  const chunkTimes: number[] = [];
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const schedule = (task: () => void) =>
    void setTimeout(() => {
      const t = performance.now();
      task();
      settle(root);
      chunkTimes.push(performance.now() - t);
      const toggle = root.querySelector(".fold-toggle");
      if (toggle?.getAttribute("data-built") === String(lines)) done();
    }, 0);
  let t = performance.now();
  const out = renderOutput(doc, text, "command-output", schedule);
  root.appendChild(out);
  settle(root);
  const firstMs = performance.now() - t;
  t = performance.now();
  out.querySelector<HTMLElement>(".fold-toggle")!.click();
  await finished;
  const totalMs = performance.now() - t;
  root.remove();

  // Baseline: every line built in one task (a fold of 0 lines shown means all of them are rendered at once).
  const eager = fresh(doc);
  t = performance.now();
  const pre = doc.createElement("pre");
  for (const line of text.split("\n")) pre.appendChild(doc.createTextNode(line.replace(/\x1b\[\d+m/g, "") + "\n"));
  eager.appendChild(pre);
  settle(eager);
  const eagerMs = performance.now() - t;
  eager.remove();
  return { lines, firstMs, chunks: chunkTimes.length, maxChunkMs: Math.max(...chunkTimes), totalMs, eagerMs };
}
