// Why this file exists: the panel's unit tests are TypeScript for a browser; this bundles each webview/test/*.test.ts
// with esbuild into a temp dir and runs them with node's test runner (happy-dom as the DOM), keeping its exit code.
// Usage: node webview/test/run.mjs [extra node --test flags, e.g. --test-name-pattern=diff]

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const entries = readdirSync(here)
  .filter((f) => f.endsWith(".test.ts"))
  .sort()
  .map((f) => join(here, f));
const out = mkdtempSync(join(tmpdir(), "panel-test-"));
try {
  await build({
    entryPoints: entries,
    outdir: out,
    outExtension: { ".js": ".mjs" },
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    sourcemap: "inline",
    logLevel: "warning",
    plugins: [happyDomByUrl()],
  });
  const files = readdirSync(out)
    .filter((f) => f.endsWith(".mjs"))
    .map((f) => join(out, f));
  const run = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...process.argv.slice(2), ...files], {
    stdio: "inherit",
    env: { ...process.env, WEBVIEW_DIR: dirname(here) },
  });
  process.exitCode = run.status ?? 1;
} finally {
  rmSync(out, { recursive: true, force: true });
}

/** The bundles live outside the package, so happy-dom is imported by its absolute URL instead of being bundled. */
function happyDomByUrl() {
  const url = pathToFileURL(createRequire(import.meta.url).resolve("happy-dom")).href;
  return {
    name: "happy-dom-by-url",
    setup(b) {
      b.onResolve({ filter: /^happy-dom$/ }, () => ({ path: url, external: true }));
    },
  };
}
