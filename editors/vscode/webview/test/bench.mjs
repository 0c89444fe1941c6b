// Why this file exists: the agent panel's benchmark: a stored 2,000-update conversation rendered in one replay
// (target < 200 ms) and a live feed of 200 updates a second for 5 s (none dropped, per-update time), each beside a
// baseline from the same run, in happy-dom (the tests' DOM) and, when /usr/bin/chromium exists, in real Chromium.
// Usage: node webview/test/bench.mjs   (from editors/vscode; CHROMIUM=<path> to choose the browser, CHROMIUM=none to skip)

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const STORED = 2000;
const PER_SECOND = 200;
const SECONDS = 5;

const out = mkdtempSync(join(tmpdir(), "panel-bench-"));
let failed = false;
try {
  const happyUrl = pathToFileURL(require.resolve("happy-dom")).href;
  const common = { entryPoints: [join(here, "benchcore.ts")], bundle: true, logLevel: "warning" };
  await build({
    ...common,
    outfile: join(out, "bench.mjs"),
    format: "esm",
    platform: "node",
    target: "node20",
    plugins: [
      {
        name: "happy-dom-by-url",
        setup: (b) => b.onResolve({ filter: /^happy-dom$/ }, () => ({ path: happyUrl, external: true })),
      },
    ],
  });
  await build({
    ...common,
    outfile: join(out, "bench.js"),
    format: "iife",
    globalName: "PanelBench",
    platform: "browser",
    target: "es2022",
  });

  const core = await import(pathToFileURL(join(out, "bench.mjs")).href);
  const { Window } = await import(happyUrl);
  const window = new Window();
  const updates = core.conversation(STORED);
  // Warm up the JIT on a smaller conversation, as a panel that has rendered before would be.
  core.stored(window.document, core.conversation(300, "warm", 3));
  report(
    "happy-dom 21.0.4 (node " + process.version + ")",
    core.stored(window.document, updates),
    await core.live(window.document, PER_SECOND, SECONDS),
    await core.unfold(window.document),
  );
  await window.happyDOM.close();

  const chromium = process.env.CHROMIUM ?? "/usr/bin/chromium";
  if (chromium !== "none" && existsSync(chromium)) {
    const { chromium: pw } = await import("playwright-core");
    const browser = await pw.launch({ executablePath: chromium, args: ["--no-sandbox"] });
    try {
      const page = await browser.newPage();
      const css = readFileSync(join(here, "..", "panel.css"), "utf8");
      await page.setContent(`<!doctype html><html><head><style>${css}</style></head><body></body></html>`);
      await page.addScriptTag({ path: join(out, "bench.js") });
      const version = browser.version();
      const result = await page.evaluate(
        async ([n, perSecond, seconds]) => {
          const b = globalThis.PanelBench;
          b.stored(document, b.conversation(300, "warm", 3));
          const s = b.stored(document, b.conversation(n));
          return { s, l: await b.live(document, perSecond, seconds), u: await b.unfold(document) };
        },
        [STORED, PER_SECOND, SECONDS],
      );
      report(`Chromium ${version} (headless, with style and layout)`, result.s, result.l, result.u);
    } finally {
      await browser.close();
    }
  } else console.log(`\n(no Chromium at ${chromium}: browser figures skipped)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;

function report(where, s, l, u) {
  const ms = (x) => `${x.toFixed(1)} ms`;
  console.log(`\n== ${where}`);
  console.log(`stored conversation: ${s.updates} updates -> ${s.elements} elements (${s.nodes} nodes)`);
  console.log(`  panel render (one replay batch):     ${ms(s.panelMs)}   (target < 200 ms)`);
  console.log(`  baseline, ${s.nodes} plain nodes:         ${ms(s.plainNodesMs)}`);
  console.log(`  baseline, everything built at once (${s.fullElements} elements): ${ms(s.fullMs)}`);
  console.log(`live feed: ${l.sent} updates at ${l.perSecond}/s for ${l.seconds} s, one message each`);
  console.log(
    `  per update: mean ${ms(l.meanMs)}, p95 ${ms(l.p95Ms)}, max ${ms(l.maxMs)}   (budget ${ms(1000 / l.perSecond)})`,
  );
  console.log(`  baseline, naive full re-render for the last update: ${ms(l.naiveMs)}`);
  console.log(
    `  finished ${ms(l.lagMs)} after the last update was due; dropped: ${l.identical ? "none (markup equals the one-batch render)" : "YES: markup differs"}`,
  );
  console.log(`  replay of all ${l.sent} again (dedupe): ${ms(l.replayMs)}, nodes added: ${l.replayAddedNodes}`);
  console.log(`unfold a ${u.lines.toLocaleString("en-US")}-line output:`);
  console.log(
    `  folded render ${ms(u.firstMs)}; unfolded in ${u.chunks} tasks, longest ${ms(u.maxChunkMs)}, all in ${ms(u.totalMs)}`,
  );
  console.log(`  baseline, every line built in one task (plain text nodes): ${ms(u.eagerMs)}`);
  if (!l.identical || l.replayAddedNodes !== 0) failed = true;
}
