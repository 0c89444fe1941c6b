// Why this file exists: the moment the extension's bundle began to load, taken before the other modules are
// evaluated (extension.ts imports it first), so the activation timing includes loading the language client.

export const loadStart = performance.now();
