// Why this file exists: bundles the extension (node, cjs, `vscode` external) into dist/extension.js and the
// panel's renderer (browser iife) into dist/webview.js with its stylesheet; `--tests` bundles the unit tests
// into dist-test/ for node's test runner; `--production` minifies.
import * as esbuild from "esbuild";
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";

const production = process.argv.includes("--production");
const tests = process.argv.includes("--tests");
const common = { bundle: true, minify: production, sourcemap: !production, logLevel: "warning" };

if (tests) {
  rmSync("dist-test", { recursive: true, force: true });
  const entryPoints = readdirSync("test/unit")
    .filter((f) => f.endsWith(".test.ts"))
    .map((f) => `test/unit/${f}`);
  await esbuild.build({
    ...common,
    entryPoints,
    outdir: "dist-test",
    outExtension: { ".js": ".cjs" },
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["vscode"],
  });
} else {
  mkdirSync("dist", { recursive: true });
  await Promise.all([
    esbuild.build({
      ...common,
      entryPoints: ["src/extension.ts"],
      outfile: "dist/extension.js",
      platform: "node",
      format: "cjs",
      target: "node20",
      external: ["vscode"],
    }),
    esbuild.build({
      ...common,
      entryPoints: ["webview/main.ts"],
      outfile: "dist/webview.js",
      platform: "browser",
      format: "iife",
      target: "es2022",
    }),
  ]);
  if (existsSync("webview/panel.css")) copyFileSync("webview/panel.css", "dist/panel.css");
}
