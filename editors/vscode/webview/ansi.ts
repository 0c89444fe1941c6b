// Why this file exists: command output carries terminal escape codes; SGR colours and attributes become CSS classes
// (themed by panel.css) and every other escape or control character is dropped, so output reads as in a terminal.

/** The SGR state that carries from one line of output to the next. */
export type AnsiStyle = {
  fg: number | null;
  bg: number | null;
  bold: boolean;
  dim: boolean;
  italic: boolean;
  underline: boolean;
  strike: boolean;
};

/** A run of text and the classes of its style ("" when unstyled). */
export type Segment = { text: string; classes: string };

export function plainStyle(): AnsiStyle {
  return { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, strike: false };
}

const ESC = 0x1b;

/** C0 and C1 control characters other than tab (newlines never reach here: output is split into lines first). */
export function isControl(c: number): boolean {
  return (c < 0x20 && c !== 0x09) || c === 0x7f || (c >= 0x80 && c <= 0x9f);
}
const BEL = 0x07;

/** Splits one line into styled segments, updating `style` as SGR codes go by. */
export function parseAnsi(line: string, style: AnsiStyle): Segment[] {
  const out: Segment[] = [];
  let text = "";
  const flush = () => {
    if (!text) return;
    const classes = classesOf(style);
    const last = out[out.length - 1];
    if (last && last.classes === classes) last.text += text;
    else out.push({ text, classes });
    text = "";
  };
  let i = 0;
  const n = line.length;
  while (i < n) {
    // Fast path: copy the run up to the next control character in one slice.
    let j = i;
    while (j < n) {
      if (isControl(line.charCodeAt(j))) break;
      j++;
    }
    if (j > i) text += line.slice(i, j);
    if (j >= n) break;
    const c = line.charCodeAt(j);
    if (c === ESC || c === 0x9b) {
      const csi = c === 0x9b ? j + 1 : line.charCodeAt(j + 1) === 0x5b /* [ */ ? j + 2 : -1;
      if (csi >= 0) {
        // CSI: parameter bytes 0x30–0x3f, intermediate bytes 0x20–0x2f, one final byte 0x40–0x7e.
        let k = csi;
        while (k < n && line.charCodeAt(k) >= 0x30 && line.charCodeAt(k) <= 0x3f) k++;
        const params = line.slice(csi, k);
        while (k < n && line.charCodeAt(k) >= 0x20 && line.charCodeAt(k) <= 0x2f) k++;
        if (k < n && line[k] === "m") {
          flush();
          applySgr(params, style);
        }
        i = k + 1;
      } else if (line.charCodeAt(j + 1) === 0x5d /* ] */) {
        // OSC (titles, hyperlinks): up to BEL or ESC \.
        let k = j + 2;
        while (k < n && line.charCodeAt(k) !== BEL && line.charCodeAt(k) !== ESC) k++;
        i = line.charCodeAt(k) === ESC ? k + 2 : k + 1;
      } else if ("()*+".includes(line[j + 1] ?? "x")) {
        i = j + 3; // character set designation
      } else {
        i = j + 2; // any other two-byte escape
      }
    } else {
      i = j + 1; // a lone control character
    }
  }
  flush();
  return out;
}

function classesOf(s: AnsiStyle): string {
  let c = "";
  if (s.fg !== null) c += ` ansi-fg-${s.fg}`;
  if (s.bg !== null) c += ` ansi-bg-${s.bg}`;
  if (s.bold) c += " ansi-bold";
  if (s.dim) c += " ansi-dim";
  if (s.italic) c += " ansi-italic";
  if (s.underline) c += " ansi-underline";
  if (s.strike) c += " ansi-strike";
  return c.slice(1);
}

function applySgr(params: string, s: AnsiStyle): void {
  const codes = params === "" ? [0] : params.split(/[;:]/).map((p) => (p === "" ? 0 : parseInt(p, 10)));
  for (let k = 0; k < codes.length; k++) {
    const code = codes[k];
    if (code === 0) Object.assign(s, plainStyle());
    else if (code === 1) s.bold = true;
    else if (code === 2) s.dim = true;
    else if (code === 3) s.italic = true;
    else if (code === 4) s.underline = true;
    else if (code === 9) s.strike = true;
    else if (code === 22) s.bold = s.dim = false;
    else if (code === 23) s.italic = false;
    else if (code === 24) s.underline = false;
    else if (code === 29) s.strike = false;
    else if (code >= 30 && code <= 37) s.fg = code - 30;
    else if (code === 39) s.fg = null;
    else if (code >= 40 && code <= 47) s.bg = code - 40;
    else if (code === 49) s.bg = null;
    else if (code >= 90 && code <= 97) s.fg = code - 90 + 8;
    else if (code >= 100 && code <= 107) s.bg = code - 100 + 8;
    else if (code === 38 || code === 48) {
      // Extended colours map to the nearest of the 16 themed ones: the theme owns the palette.
      let colour: number | null = null;
      if (codes[k + 1] === 5) {
        colour = from256(codes[k + 2] ?? 0);
        k += 2;
      } else if (codes[k + 1] === 2) {
        colour = fromRgb(codes[k + 2] ?? 0, codes[k + 3] ?? 0, codes[k + 4] ?? 0);
        k += 4;
      }
      if (code === 38) s.fg = colour;
      else s.bg = colour;
    }
  }
}

function from256(n: number): number {
  if (n < 16) return n;
  if (n >= 232) {
    const level = n - 232; // 24 greys
    return level < 6 ? 0 : level < 12 ? 8 : level < 18 ? 7 : 15;
  }
  const v = n - 16;
  const scale = 255 / 5;
  return fromRgb(Math.floor(v / 36) * scale, Math.floor((v / 6) % 6) * scale, (v % 6) * scale);
}

function fromRgb(r: number, g: number, b: number): number {
  const bit = (x: number) => (x >= 128 ? 1 : 0);
  const base = bit(r) | (bit(g) << 1) | (bit(b) << 2);
  return Math.max(r, g, b) >= 200 ? base + 8 : base;
}
