// Why this file exists: turns the `openhands.*` settings into the `initializationOptions.openhands` object the
// server reads (same keys, empty values left out), without `vscode`, so the mapping is unit-tested.

/** The settings forwarded to the server under the same key; `server.path` stays in the extension. */
export const FORWARDED = [
  "model",
  "llm",
  "baseUrl",
  "runtime",
  "runtimeUrl",
  "approvals",
  "maxIterations",
] as const;

/** `initializationOptions.openhands` (and `didChangeConfiguration`'s `settings.openhands`). */
export function serverOptions(get: (key: string) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = { ui: "rich", approvalUi: "client" };
  for (const key of FORWARDED) {
    const value = get(key);
    if (value === undefined || value === null) continue;
    if (typeof value === "string" && value.trim() === "") continue;
    out[key] = typeof value === "string" ? value.trim() : value;
  }
  return out;
}

/** The settings `before` gave the server that `after` no longer has. */
export function clearedKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return Object.keys(before).filter((k) => !(k in after));
}

/** Why a server of version `server` does not match an extension of version `extension` (major and minor must
 * agree: that is where the rich channel changes), or `undefined` when it does or cannot be told. */
export function versionMismatch(server: string | undefined, extension: string): string | undefined {
  if (!server) return "of an unknown version (it does not say)";
  const mm = (v: string) => v.split(".").slice(0, 2).join(".");
  if (!extension || mm(server) === mm(extension)) return undefined;
  return `version ${server}, and this extension is ${extension}`;
}
