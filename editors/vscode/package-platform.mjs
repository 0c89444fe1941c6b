// Why this file exists: packages the platform .vsix (linux-x64) that carries the server: openhands-lsp and
// openhands-runtime from $OPENHANDS_BIN_DIR (default ../../target/release) go into server/ beside the extension,
// stripped of debug info when `strip` is there, so the server finds its runtime next to its own executable.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";

const bin = resolve(process.env.OPENHANDS_BIN_DIR ?? "../../target/release");
const target = process.env.OPENHANDS_VSIX_TARGET ?? "linux-x64";
const { version } = JSON.parse(readFileSync("package.json", "utf8"));
const out = resolve(process.env.OPENHANDS_VSIX ?? `dist/openhands-lsp-${target}-${version}.vsix`);

rmSync("server", { recursive: true, force: true });
mkdirSync("server");
let strip = true;
for (const name of ["openhands-lsp", "openhands-runtime"]) {
  const from = join(bin, name);
  if (!existsSync(from)) {
    console.error(`${from} is missing: build it (cargo build -p openhands-lsp -p openhands-runtime) or set OPENHANDS_BIN_DIR`);
    process.exit(1);
  }
  const to = join("server", name);
  try {
    if (!strip) throw new Error("no strip");
    execFileSync("strip", ["--strip-debug", "-o", to, from]);
  } catch {
    strip = false;
    copyFileSync(from, to);
  }
  chmodSync(to, 0o755);
}
execFileSync(
  "node_modules/.bin/vsce",
  ["package", "--no-dependencies", "--allow-missing-repository", "--skip-license", "--target", target, "-o", out],
  { stdio: "inherit" },
);
rmSync("server", { recursive: true, force: true });
console.log(out);
