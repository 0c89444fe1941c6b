// Why this file exists: an edit arrives as whole old and new texts; this is the line diff the panel shows of them
// (Myers' O(ND) algorithm after trimming the common ends, bounded so a huge or wholly rewritten file stays fast).

export type DiffKind = "ctx" | "del" | "add";
/** One line of the diff; line numbers are 1-based, 0 on the side the line is not on. */
export type DiffLine = { kind: DiffKind; text: string; oldNo: number; newNo: number };
/** What the panel shows: changed lines with context, and the unchanged runs between them as one row. */
export type DiffRow = DiffLine | { kind: "skip"; count: number };

const EQ = 0;
const DEL = 1;
const ADD = 2;

/** Edit distance past which the middle of the file is shown as replaced whole: bounds time and memory. */
export function maxEditDistance(lines: number): number {
  return Math.max(64, Math.min(2000, Math.floor(40_000_000 / (lines + 1))));
}

export function textLines(text: string | null): string[] {
  if (text === null || text === "") return [];
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** The whole diff of two texts: every line of both, in order, each marked kept, deleted or added. */
export function diffLines(oldLines: string[], newLines: string[]): DiffLine[] {
  const ids = new Map<string, number>();
  const intern = (lines: string[]) => {
    const out = new Int32Array(lines.length);
    lines.forEach((l, i) => {
      let id = ids.get(l);
      if (id === undefined) ids.set(l, (id = ids.size));
      out[i] = id;
    });
    return out;
  };
  const a = intern(oldLines);
  const b = intern(newLines);
  let pre = 0;
  while (pre < a.length && pre < b.length && a[pre] === b[pre]) pre++;
  let suf = 0;
  while (suf < a.length - pre && suf < b.length - pre && a[a.length - 1 - suf] === b[b.length - 1 - suf]) suf++;
  const am = a.subarray(pre, a.length - suf);
  const bm = b.subarray(pre, b.length - suf);
  const script = myers(am, bm, maxEditDistance(am.length + bm.length)) ?? [
    ...new Array<number>(am.length).fill(DEL),
    ...new Array<number>(bm.length).fill(ADD),
  ];

  const out: DiffLine[] = [];
  let x = 0;
  let y = 0;
  const keep = () => {
    out.push({ kind: "ctx", text: oldLines[x], oldNo: x + 1, newNo: y + 1 });
    x++;
    y++;
  };
  for (let k = 0; k < pre; k++) keep();
  for (const op of script) {
    if (op === EQ) keep();
    else if (op === DEL) out.push({ kind: "del", text: oldLines[x], oldNo: ++x, newNo: 0 });
    else out.push({ kind: "add", text: newLines[y], oldNo: 0, newNo: ++y });
  }
  for (let k = 0; k < suf; k++) keep();
  return out;
}

/**
 * The shortest edit script from `a` to `b` (EQ/DEL/ADD per step), or null when it is longer than `maxD`.
 * Keeps, for each edit distance d, the furthest-reaching x of diagonals -d..d only, so memory is O(D²).
 */
export function myers(a: Int32Array, b: Int32Array, maxD: number): number[] | null {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, maxD);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d++) {
    trace.push(v.slice(off - d - 1, off + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[off + k] = x;
      if (x >= n && y >= m) return backtrack(trace, d, n, m);
    }
  }
  return null;
}

function backtrack(trace: Int32Array[], distance: number, n: number, m: number): number[] {
  const ops: number[] = [];
  let x = n;
  let y = m;
  for (let d = distance; d > 0; d--) {
    const snap = trace[d];
    const at = (k: number) => snap[k + d + 1];
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const pk = down ? k + 1 : k - 1;
    const px = at(pk);
    const py = px - pk;
    const sx = down ? px : px + 1;
    while (x > sx) {
      ops.push(EQ);
      x--;
      y--;
    }
    ops.push(down ? ADD : DEL);
    x = px;
    y = py;
  }
  while (x > 0) {
    ops.push(EQ);
    x--;
  }
  return ops.reverse();
}

/** The rows to show: each change with `context` unchanged lines around it; longer unchanged runs fold to one row. */
export function diffRows(lines: DiffLine[], context = 3): DiffRow[] {
  const n = lines.length;
  const near = new Uint8Array(n);
  let last = -Infinity;
  for (let i = 0; i < n; i++) {
    if (lines[i].kind !== "ctx") last = i;
    if (i - last <= context) near[i] = 1;
  }
  last = Infinity;
  for (let i = n - 1; i >= 0; i--) {
    if (lines[i].kind !== "ctx") last = i;
    if (last - i <= context) near[i] = 1;
  }
  const rows: DiffRow[] = [];
  for (let i = 0; i < n; ) {
    if (near[i]) {
      rows.push(lines[i++]);
      continue;
    }
    let j = i;
    while (j < n && !near[j]) j++;
    // A fold row in place of a single line would save nothing.
    if (j - i === 1) rows.push(lines[i]);
    else rows.push({ kind: "skip", count: j - i });
    i = j;
  }
  return rows;
}
