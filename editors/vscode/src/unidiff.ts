// Why this file exists: the server gives a task's change to a file as a unified diff; VS Code's diff editor wants
// the text from before. Undoing the diff's hunks on the file as it is now gives it back, or says it cannot
// (the file changed since, a binary file), so the panel opens the server's diff document instead.

type Hunk = { newStart: number; newCount: number; lines: string[] };

/** The hunks of the first file in `diff`, and whether each side's last line lacks a newline; null: none. */
function parse(diff: string): { hunks: Hunk[]; oldNoEol: boolean; newNoEol: boolean } | null {
  const hunks: Hunk[] = [];
  let oldNoEol = false;
  let newNoEol = false;
  let files = 0;
  let prev = "";
  for (const line of diff.split("\n")) {
    if (line.startsWith("diff --git ")) {
      if (++files > 1) break;
      continue;
    }
    const h = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@/.exec(line);
    if (h) {
      hunks.push({ newStart: Number(h[1]), newCount: h[2] === undefined ? 1 : Number(h[2]), lines: [] });
      prev = "";
      continue;
    }
    const hunk = hunks[hunks.length - 1];
    if (!hunk) continue;
    if (line.startsWith("\\")) {
      // "\ No newline at end of file" is about the line before it.
      if (prev === "-" || prev === " ") oldNoEol = true;
      if (prev === "+" || prev === " ") newNoEol = true;
      continue;
    }
    const kind = line[0];
    if (kind === " " || kind === "-" || kind === "+") {
      hunk.lines.push(line);
      prev = kind;
    }
  }
  return hunks.length ? { hunks, oldNoEol, newNoEol } : null;
}

/** The text `diff` was made from, given the text it made (`after`); undefined when `after` does not match it. */
export function reverseApply(diff: string, after: string): string | undefined {
  const parsed = parse(diff);
  if (!parsed) return undefined;
  const lines = after === "" ? [] : after.split("\n");
  const hadEol = lines.length > 0 && lines[lines.length - 1] === "";
  if (hadEol) lines.pop();
  if (parsed.newNoEol && hadEol) return undefined;
  const out: string[] = [];
  let pos = 0;
  for (const h of parsed.hunks) {
    // A hunk with no new lines starts after line `newStart`.
    let at = h.newCount === 0 ? h.newStart : h.newStart - 1;
    if (at < pos || at > lines.length) return undefined;
    out.push(...lines.slice(pos, at));
    for (const l of h.lines) {
      const text = l.slice(1);
      if (l[0] === "-") {
        out.push(text);
        continue;
      }
      if (lines[at] !== text) return undefined;
      if (l[0] === " ") out.push(text);
      at++;
    }
    pos = at;
  }
  out.push(...lines.slice(pos));
  if (out.length === 0) return "";
  const eol = parsed.oldNoEol ? false : parsed.newNoEol ? true : hadEol || lines.length === 0;
  return out.join("\n") + (eol ? "\n" : "");
}
