// Why this file exists: where the extension finds the `openhands-lsp` executable (the setting, the binary the
// platform .vsix bundles, then PATH), kept free of `vscode` so the order and its messages are unit-tested.

import * as fs from "node:fs";
import * as path from "node:path";

/** Where the server binary was found, or why it was not. */
export type Found =
  | { ok: true; path: string; from: "setting" | "bundled" | "PATH" }
  | { ok: false; message: string };

export const SERVER_NAME = process.platform === "win32" ? "openhands-lsp.exe" : "openhands-lsp";

function executable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) return false;
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Looks for the server: `configured` (the `openhands.server.path` setting) when set, else `server/` inside the
 * extension, else each directory of `pathVar`. A configured path that does not work is an error of its own:
 * falling back would hide the user's mistake.
 */
export function findServer(configured: string | undefined, extensionDir: string, pathVar: string | undefined): Found {
  const setting = configured?.trim();
  if (setting) {
    if (executable(setting)) return { ok: true, path: setting, from: "setting" };
    const why = fs.existsSync(setting) ? "is not an executable file" : "does not exist";
    return {
      ok: false,
      message: `The OpenHands server ${setting} (setting openhands.server.path) ${why}. Point the setting at the openhands-lsp executable, or clear it to use the bundled server.`,
    };
  }
  const bundled = path.join(extensionDir, "server", SERVER_NAME);
  if (executable(bundled)) return { ok: true, path: bundled, from: "bundled" };
  for (const dir of (pathVar ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, SERVER_NAME);
    if (executable(candidate)) return { ok: true, path: candidate, from: "PATH" };
  }
  return {
    ok: false,
    message: `The OpenHands server (${SERVER_NAME}) was not found: this extension bundles none, and it is not on PATH. Install the platform .vsix (it carries the server), put ${SERVER_NAME} on PATH, or set openhands.server.path.`,
  };
}
