// LaTeX -> MathML for tools/build_docs.py, with KaTeX (installed here by `npm ci`: tools/setup.sh).
// One JSON request per line on stdin: {"tex": "...", "display": true|false}; one JSON answer per
// line on stdout: {"html": "<span class=katex><math>...</math></span>", "warnings": [...]} or
// {"error": "KaTeX parse error: ..."}. A formula KaTeX cannot parse is an error, never raw TeX.
"use strict";
const katex = require("katex");
const readline = require("readline");

// Browsers' MathML (MathML Core) ignores mathvariant other than "normal": KaTeX's \mathbb{R},
// \mathbf{x}, \mathcal{L}... would show as plain letters. Write them as the Unicode mathematical
// alphanumerics instead (first code point of A, a, 0 in each style; exceptions in the Letterlike block).
const STYLES = {
  "bold": [0x1d400, 0x1d41a, 0x1d7ce], "italic": [0x1d434, 0x1d44e, null],
  "bold-italic": [0x1d468, 0x1d482, null], "script": [0x1d49c, 0x1d4b6, null],
  "bold-script": [0x1d4d0, 0x1d4ea, null], "fraktur": [0x1d504, 0x1d51e, null],
  "double-struck": [0x1d538, 0x1d552, 0x1d7d8], "bold-fraktur": [0x1d56c, 0x1d586, null],
  "sans-serif": [0x1d5a0, 0x1d5ba, 0x1d7e2], "bold-sans-serif": [0x1d5d4, 0x1d5ee, 0x1d7ec],
  "sans-serif-italic": [0x1d608, 0x1d622, null], "sans-serif-bold-italic": [0x1d63c, 0x1d656, null],
  "monospace": [0x1d670, 0x1d68a, 0x1d7f6],
};
const HOLES = {
  "italic": { h: 0x210e }, "script": { B: 0x212c, E: 0x2130, F: 0x2131, H: 0x210b, I: 0x2110,
    L: 0x2112, M: 0x2133, R: 0x211b, e: 0x212f, g: 0x210a, o: 0x2134 },
  "fraktur": { C: 0x212d, H: 0x210c, I: 0x2111, R: 0x211c, Z: 0x2128 },
  "double-struck": { C: 0x2102, H: 0x210d, N: 0x2115, P: 0x2119, Q: 0x211a, R: 0x211d, Z: 0x2124 },
};
function styled(text, style) {
  const [upper, lower, digit] = STYLES[style];
  return Array.from(text).map((ch) => {
    const hole = (HOLES[style] || {})[ch];
    if (hole) return String.fromCodePoint(hole);
    if (ch >= "A" && ch <= "Z") return String.fromCodePoint(upper + ch.charCodeAt(0) - 65);
    if (ch >= "a" && ch <= "z") return String.fromCodePoint(lower + ch.charCodeAt(0) - 97);
    if (digit && ch >= "0" && ch <= "9") return String.fromCodePoint(digit + ch.charCodeAt(0) - 48);
    return ch;
  }).join("");
}
function unicodeVariants(html) {
  return html.replace(/<(mi|mn|mtext)( [^>]*?)? mathvariant="([a-z-]+)"([^>]*)>([^<]*)<\/\1>/g,
    (all, tag, pre, style, post, text) => {
      if (!STYLES[style]) return all;
      const mi = tag === "mi" ? ' mathvariant="normal"' : "";  // one styled letter: no automatic italic
      return `<${tag}${pre || ""}${post}${mi}>${styled(text, style)}</${tag}>`;
    });
}

const rl = readline.createInterface({ input: process.stdin, terminal: false });
rl.on("line", (line) => {
  let ans;
  try {
    const req = JSON.parse(line);
    const warnings = [];
    const html = katex.renderToString(req.tex, {
      displayMode: !!req.display, output: "mathml", throwOnError: true,
      // LaTeX that KaTeX accepts but real LaTeX would not: reported, still typeset
      strict: (code, msg) => { warnings.push(`${code}: ${msg}`); return "ignore"; },
    });
    ans = { html: unicodeVariants(html), warnings };
  } catch (e) {
    ans = { error: String(e && e.message ? e.message : e) };
  }
  process.stdout.write(JSON.stringify(ans) + "\n");
});
