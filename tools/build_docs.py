"""Build the documentation site offline, without Quarto, into `_site/`.

The pages are what `nbdev_docs` would render: each notebook goes through nbdev's own docs
processors (`nbdev.processors.FilterDefaults`, run by `nbdev.serve_drv` exactly as `nbdev_docs`
runs them: front matter from `# Title` / `> description`, `#| hide` and export cells removed,
show_doc cards for every exported symbol, backticked names linked), and is then converted to HTML
by nbconvert from its *saved* outputs (notebooks are never executed here; only the cells nbdev
itself runs to draw show_doc cards are run, and their result is cached). Pages share one
navigation: the index, the library notebooks `nbs/NN_*.ipynb` in order, one section per folder
(`nbs/sections/`, `nbs/benchmarks/`), and an API page listing every documented symbol.

    .venv/bin/python tools/build_docs.py              # -> _site/index.html
    .venv/bin/python tools/build_docs.py --out /tmp/site --strict

Maths is typeset at build time: every formula of the markdown (cells, show_doc cards, descriptions),
found by nbconvert's own maths rules, becomes MathML (KaTeX, run by Node.js from `tools/katex/`),
which browsers render natively: the pages need no script and no network. A formula KaTeX cannot
parse is reported (manifest `maths`; `--strict` fails) and shown as its TeX source in red.
`check_site` reports broken internal links and missing images.
"""
from __future__ import annotations
import argparse, hashlib, html, json, os, re, shutil, sys, time, traceback
import subprocess
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
PROC_VERSION = "1"  # bump to invalidate cached processed notebooks when the processing changes
KATEX_DIR = ROOT / "tools" / "katex"  # package.json (KaTeX, pinned), tex2mathml.js; `npm ci` there: tools/setup.sh
COPY_EXTS = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".csv", ".json", ".txt", ".pdf", ".tsv"}
MAX_COPY = 20 * 2**20  # bytes: larger repo files are linked on the forge instead of copied


# ----------------------------------------------------------------------------- discovery
def _cfg():
    from nbdev.config import get_config
    return get_config(path=ROOT)


def html_name(rel: Path) -> Path:
    "The page a notebook becomes, as nbdev names it (`00_data.ipynb` -> `data.html`)."
    from nbdev.doclinks import _nbpath2html
    return _nbpath2html(Path(rel))


FOLDER_ORDER = ["sections", "benchmarks"]  # after the library pages: the paper's sections, then the benchmarks
FOLDER_TITLES = {"sections": "The paper, section by section"}


def find_notebooks(nbs: Path) -> list[Path]:
    "Notebooks nbdev would render, relative to `nbs` (index first, then by folder and name)."
    from nbdev.doclinks import nbglob
    files = [Path(f).resolve().relative_to(nbs.resolve())
             for f in nbglob(nbs, skip_folder_re=r"(?:^[_.]|^www$)", skip_file_re=r"^[_.]")]
    def folder_rank(p: Path) -> int:
        return FOLDER_ORDER.index(p.parts[0]) if len(p.parts) > 1 and p.parts[0] in FOLDER_ORDER else len(FOLDER_ORDER)
    return sorted(files, key=lambda p: (len(p.parts) > 1, folder_rank(p), p.parts[:-1], p.name != "index.ipynb", p.name))


# ----------------------------------------------------------------------------- nbdev processing
def _inputs_digest() -> str:
    "Hash of what nbdev's processing reads besides the notebook (settings, library, symbol index)."
    import nbdev
    h = hashlib.sha256(f"{PROC_VERSION} nbdev {nbdev.__version__}".encode())
    cfg = _cfg()
    for p in [ROOT / "settings.ini", *sorted((ROOT / cfg.lib_path.name).rglob("*.py"))]:
        if "checkpoints" in p.parts: continue
        h.update(str(p.relative_to(ROOT)).encode()); h.update(p.read_bytes())
    return h.hexdigest()


def _proc_one(src: str, dst: str) -> str:
    "Run nbdev's docs processors on one notebook (cwd = the notebook's folder, as the test runner has it)."
    os.chdir(Path(src).parent)
    from nbdev import serve_drv
    from nbdev.processors import FilterDefaults
    tmp = Path(dst).with_suffix(f".tmp{os.getpid()}")
    serve_drv.main((Path(src), tmp, FilterDefaults))
    os.replace(tmp, dst)
    return dst


def _explain(e: BaseException) -> str:
    "nbdev's 'Error in notebook: T in cell N' with its cause, or the exception itself."
    cause = e.__cause__ or e.__context__
    msg = str(e)
    if msg.startswith("Error") and cause is not None:
        head, _, src = msg.partition("\n")
        return (f"{head.rstrip(' :')}: {type(cause).__name__}: {cause}\n(nbdev runs export cells and every cell that "
                f"imports something to draw show_doc cards: keep imports in cells of their own.)\n{src}")
    return f"{type(e).__name__}: {msg}"


def _proc_batch(jobs: str, result: str):
    "Worker: process the notebooks listed in the JSON file `jobs`, one interpreter for all (like nbdev's pool)."
    os.environ.setdefault("MPLBACKEND", "Agg")
    res = {}
    for src, dst in json.loads(Path(jobs).read_text()):
        try: _proc_one(src, dst); res[src] = None
        except BaseException as e:  # a notebook may even call sys.exit
            res[src] = _explain(e)
        Path(result).write_text(json.dumps(res))


def process_notebooks(nbs: Path, rels: list[Path], cache: Path, workers: int = 2, log=print, timeout: float = 900):
    "nbdev-processed copies of `rels`, cached by content hash: {rel: path of the processed notebook, or Exception}."
    cache.mkdir(parents=True, exist_ok=True)
    common = _inputs_digest()
    todo, out = {}, {}
    for rel in rels:
        key = hashlib.sha256((common + str(rel)).encode() + (nbs / rel).read_bytes()).hexdigest()[:20]
        dst = cache / f"{rel.stem}-{key}.ipynb"
        for old in cache.glob(f"{rel.stem}-*.*"):    # other versions of this notebook, unused for 10 minutes
            if old.stem != dst.stem and not old.name.startswith("_") and time.time() - old.stat().st_mtime > 600:
                old.unlink(missing_ok=True)
        if dst.exists(): out[rel] = dst
        elif dst.with_suffix(".err").exists() and time.time() - dst.with_suffix(".err").stat().st_mtime < 900:
            out[rel] = RuntimeError(dst.with_suffix(".err").read_text())  # failed minutes ago, nothing changed since
        else: todo[str((nbs / rel).resolve())] = (rel, dst)
    if not todo: return out
    log(f"[docs] nbdev processing {len(todo)} notebook(s) ({len(out)} cached)")
    t0, n = time.time(), max(1, min(workers, len(todo)))
    order = sorted(todo, key=lambda s: -Path(s).stat().st_size)       # biggest first, dealt round-robin
    batches = [[(s, str(todo[s][1])) for s in order[i::n]] for i in range(n)]
    procs = []
    for i, batch in enumerate(batches):
        jobs, result, logf = (cache / f"_batch{os.getpid()}-{i}.{x}" for x in ("jobs", "json", "log"))
        jobs.write_text(json.dumps(batch))
        pr = subprocess.Popen([sys.executable, __file__, "--proc-batch", str(jobs), str(result)],
                              stdout=logf.open("w"), stderr=subprocess.STDOUT, cwd=ROOT)
        procs.append((pr, batch, jobs, result, logf))
    for pr, batch, jobs, result, logf in procs:
        try: pr.wait(timeout=max(1.0, timeout * len(batch) - (time.time() - t0)))
        except subprocess.TimeoutExpired: pr.kill(); pr.wait()
        res = json.loads(result.read_text()) if result.exists() else {}
        for src, dst in batch:
            rel = todo[src][0]
            if src in res and res[src] is None and Path(dst).exists(): out[rel] = Path(dst)
            elif res.get(src):
                out[rel] = RuntimeError(res[src])
                Path(dst).with_suffix(".err").write_text(res[src])
            else:
                tail = "\n".join(logf.read_text(errors="replace").strip().splitlines()[-8:])
                out[rel] = RuntimeError(f"the processing worker died or timed out (exit code {pr.returncode}): {tail}")
        for f in (jobs, result, logf): f.unlink(missing_ok=True)
    log(f"[docs] processed in {time.time() - t0:.1f}s")
    return out


def _fallback_process(src: Path):
    "When nbdev's processing fails: the notebook with hidden/export cells removed and its front matter."
    from execnb.nbio import read_nb
    from nbdev.process import NBProcessor
    from nbdev.processors import FrontmatterProc, hide_, rm_export, populate_language, hide_line
    nb = read_nb(src)
    nb.path_ = str(src)
    NBProcessor(nb=nb, procs=[FrontmatterProc, populate_language, hide_line, rm_export, hide_]).process()
    return nb


# ----------------------------------------------------------------------------- notebook -> cells
_re_dir = re.compile(r"^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")
_re_fm = re.compile(r"^---\s*\n(.*?)\n---\s*$", re.S)
_re_pandoc_link = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\s]+)(?:\s+\"([^\"]*)\")?\)\{([^}\n]*)\}")
_re_attr = re.compile(r'([\w-]+)=(?:"([^"]*)"|(\S+))|\.([\w-]+)|#([\w-]+)')
_re_fence_div = re.compile(r"^:::+\s*(\{([^}]*)\}|[\w-]+)?\s*$")


def _attrs(s: str) -> dict:
    "Pandoc attribute list `{#id .cls key=val}` as HTML attributes."
    d, cls = {}, []
    for k, v1, v2, c, i in _re_attr.findall(s):
        if c: cls.append(c)
        elif i: d["id"] = i
        elif k: d[k] = v1 or v2
    if cls: d["class"] = " ".join(cls)
    return d


def pandoc_inline(md: str) -> str:
    "Links and images written with Pandoc attributes (`[x](u){target=...}`) as HTML tags."
    def f(m):
        bang, text, url, title, a = m.groups()
        a = _attrs(a)
        if title: a["title"] = title
        extra = "".join(f' {k}="{html.escape(v)}"' for k, v in a.items())
        if bang:
            if "width" in a and "style" not in a: extra += f' style="width:{html.escape(a["width"])}"'
            return f'<img src="{html.escape(url)}" alt="{html.escape(text)}"{extra}>'
        return f'<a href="{html.escape(url)}"{extra}>{text}</a>'
    return _re_pandoc_link.sub(f, md)


def _split_fenced_divs(src: str):
    "Split markdown at Quarto fenced divs (`::: {.callout-note}`): [(css class or None, text)]."
    out, cls, buf, in_code = [], [], [], False
    for line in src.splitlines():
        if line.lstrip().startswith("```"): in_code = not in_code
        m = None if in_code else _re_fence_div.match(line)
        if m:
            if buf: out.append((" ".join(cls) or None, "\n".join(buf))); buf = []
            if m.group(1):  # opening fence
                a = _attrs(m.group(2)) if m.group(2) else {"class": m.group(1)}
                c = a.get("class", "")
                if "callout" in c: c = "callout " + c
                cls.append(c or "div")
            elif cls: cls.pop()
            continue
        buf.append(line)
    if buf: out.append((" ".join(cls) or None, "\n".join(buf)))
    return out


def _unlink_in_fences(md: str) -> str:
    "nbdev links backticked names on every line of an output, code blocks too: there the link is only noise."
    out, fence = [], False
    for line in md.split("\n"):
        if line.lstrip().startswith("```"): fence = not fence
        elif fence: line = re.sub(r"\[(`[^`\]]+`)\]\([^)\s]*\)", r"\1", line)
        out.append(line)
    return "\n".join(out)


def prepare_nb(nb: dict) -> tuple[dict, dict]:
    "Turn a processed notebook (Quarto flavoured) into plain nbformat for nbconvert: (nb, front matter)."
    import copy, yaml
    nb, fm, cells = copy.deepcopy(nb), {}, []
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] == "raw":
            m = _re_fm.match(src.strip())
            if m and not fm:
                fm = yaml.safe_load(m.group(1)) or {}
                continue
            cells.append(dict(c, source=src)); continue
        if c["cell_type"] == "markdown":
            src = pandoc_inline(src)
            if src.strip() in ("<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->", ""): continue
            for cls, part in _split_fenced_divs(src):
                if not part.strip(): continue
                md = {"ead_class": cls} if cls else {}
                cells.append({"cell_type": "markdown", "metadata": md, "source": part})
            continue
        # code cell: Quarto cell options left by nbdev (`#| echo: false`, `#| code-fold: show`, ...)
        lines, opts = src.splitlines(), {}
        while lines and _re_dir.match(lines[0]):
            k, v = _re_dir.match(lines.pop(0)).groups()
            opts[k] = v.strip().strip("'\"")
        if opts.get("include", "").lower() == "false": continue
        md = {k: v for k, v in c.get("metadata", {}).items() if k in ("language",)}
        if opts.get("echo", "").lower() == "false": md["transient"] = {"remove_source": True}
        if "code-fold" in opts:
            md["ead_fold"] = opts["code-fold"]
            md["ead_summary"] = opts.get("code-summary", "Code")
        outs = [] if opts.get("output", "").lower() == "false" else c.get("outputs", [])
        for o in outs:  # nbformat's multi-line strings (lists of lines) as strings
            if isinstance(o.get("text"), list): o["text"] = "".join(o["text"])
            d = o.get("data", {})
            for k, v in d.items():
                if isinstance(v, list) and not k.endswith("json"): d[k] = "".join(v)
            if "text/markdown" in d:
                t = _unlink_in_fences(d["text/markdown"])
                if "show_doc(" in src:  # `### _Attack.__call__`: the name literally (no bold), so its id is nbdev's anchor
                    t = re.sub(r"^(#{1,6}\s+)(\S+)\s*$", lambda m: m.group(1) + re.sub(r"([_*])", r"\\\1", m.group(2)), t, flags=re.M)
                d["text/markdown"] = pandoc_inline(t)
        if opts.get("fig-cap"): md["ead_caption"] = opts["fig-cap"]
        code = "\n".join(lines).strip("\n")
        if not code and not outs: continue
        cells.append({"cell_type": "code", "metadata": md, "source": code, "outputs": outs, "execution_count": None})
    out = {"cells": cells, "metadata": {k: v for k, v in nb.get("metadata", {}).items() if k in ("kernelspec", "language_info")},
           "nbformat": 4, "nbformat_minor": 5}
    for i, c in enumerate(cells): c["id"] = f"c{i}"
    return out, fm


# ----------------------------------------------------------------------------- maths -> MathML
class Maths:
    """LaTeX -> MathML by KaTeX in one Node.js process for the whole build (tools/katex/tex2mathml.js).
    Conversions are cached; each formula that fails is recorded in `failures` with the page it is on."""
    def __init__(self, katex_dir: Path = KATEX_DIR):
        self.katex_dir, self.page = katex_dir, ""
        self.failures: list[dict] = []   # {page, tex, error}
        self.warnings: list[dict] = []   # {page, tex, warning}: LaTeX that KaTeX accepts and real LaTeX may not
        self._cache: dict = {}
        self._proc, self._broken = None, None

    def _start(self):
        "The Node.js process, or the reason there is none (in `_broken`)."
        node = shutil.which("node")
        if node is None: self._broken = "Node.js (`node`) is not installed"
        elif not (self.katex_dir / "node_modules" / "katex").is_dir():
            self._broken = f"KaTeX is not installed in {self.katex_dir}: run `bash tools/setup.sh`"
        else:
            self._proc = subprocess.Popen([node, str(self.katex_dir / "tex2mathml.js")], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1)

    def _ask(self, tex: str, display: bool) -> dict:
        if self._proc is None and self._broken is None: self._start()
        if self._broken: return {"error": self._broken}
        try:
            self._proc.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n"); self._proc.stdin.flush()
            line = self._proc.stdout.readline()
            if not line: raise RuntimeError(f"the KaTeX process died (exit code {self._proc.poll()})")
            return json.loads(line)
        except (OSError, RuntimeError, ValueError) as e:
            self._broken = f"KaTeX failed: {e}"
            return {"error": self._broken}

    def html(self, tex: str, display: bool = False) -> str:
        "MathML of one formula; on failure its TeX source, marked, and the failure recorded."
        key = (tex, display)
        if key not in self._cache: self._cache[key] = self._ask(tex.strip(), display)
        ans = self._cache[key]
        for w in ans.get("warnings", []): self.warnings.append({"page": self.page, "tex": tex, "warning": w})
        if "html" in ans:
            return f'<span class="math-display">{ans["html"]}</span>' if display else ans["html"]
        self.failures.append({"page": self.page, "tex": tex, "error": ans["error"]})
        d = "$$" if display else "$"
        return (f'<code class="math-error" title="{html.escape(ans["error"])}">'
                f'{html.escape(d + tex + d, quote=False)}</code>')

    def close(self):
        if self._proc is not None:
            self._proc.stdin.close(); self._proc.wait(timeout=10); self._proc = None


def _math_renderer(maths: Maths):
    "nbconvert's markdown renderer with its maths (`$..$`, `$$..$$`, `\\(..\\)`, `\\[..\\]`, environments) as MathML."
    from nbconvert.filters.markdown_mistune import IPythonRenderer
    class MathRenderer(IPythonRenderer):
        def block_math(self, body): return maths.html(body, display=True)
        def inline_math(self, body): return maths.html(body, display=False)
        def latex_environment(self, name, body): return maths.html(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)
        def multiline_math(self, text): return maths.html(text.strip()[2:-2], display=True)  # mistune 2 only
        def heading(self, text, level, **attrs):
            "nbconvert's id (made from the TeX, as before), without its ElementTree pass, which spoils MathML."
            if "<math" not in text: return super().heading(text, level, **attrs)
            tex = _re_katex.sub(lambda m: "$" + m.group(1) + "$", text)
            hid = re.search(r' id="([^"]*)"', super().heading(tex, level, **attrs))
            id_attr = f' id="{hid.group(1)}"' if hid else ""
            return f"<h{level}{id_attr}>{text}</h{level}>\n"
    return MathRenderer


_re_katex = re.compile(r'<span class="katex"><math.*?<annotation encoding="application/x-tex">(.*?)</annotation>'
                       r'</semantics></math></span>', re.S)


def markdown_html(text: str, maths: Maths | None) -> str:
    "Markdown as HTML, as nbconvert renders it, with the maths as MathML (`maths` None: left as TeX)."
    from nbconvert.filters.markdown_mistune import markdown2html_mistune, MarkdownWithMath
    if maths is None: return markdown2html_mistune(text)
    return MarkdownWithMath(renderer=_math_renderer(maths)(escape=False)).render(text)


_re_raw_tex = re.compile(r"\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{|\$[^$\n]*\\[A-Za-z]+[^$\n]*\$|\$[^$\s][^$\n]*[_^{][^$\n]*\$")


def raw_tex(text: str) -> list[str]:
    "Pieces of `text` that look like TeX maths left untypeset (`$$`, `\\(`, `\\[`, `\\begin{`, `$..\\cmd..$`, `$x_1$`)."
    return [m.group(0)[:80] for m in _re_raw_tex.finditer(text)]


_TEMPLATE = r"""{%- extends 'lab/index.html.j2' -%}
{%- block header -%}{%- endblock header -%}
{%- block body_header -%}{%- endblock body_header -%}
{%- block body_footer -%}{%- endblock body_footer -%}
{%- block footer -%}{%- endblock footer -%}
{% block input_group -%}
{%- if cell.metadata.get('ead_fold') -%}
<details class="code-fold"{% if cell.metadata.ead_fold != 'true' %} open{% endif %}><summary>{{ cell.metadata.ead_summary | e }}</summary>
{{ super() }}
</details>
{%- else -%}{{ super() }}{%- endif -%}
{%- endblock input_group %}
{% block output_group %}{{ super() }}
{%- if cell.metadata.get('ead_caption') -%}<p class="figure-caption">{{ cell.metadata.ead_caption | e }}</p>{%- endif -%}
{% endblock output_group %}
{% block markdowncell scoped %}
{%- if cell.metadata.get('ead_class') -%}<div class="{{ cell.metadata.ead_class | e }}">{{ super() }}</div>
{%- else -%}{{ super() }}{%- endif -%}
{%- endblock markdowncell %}
"""


def _exporter(maths: Maths | None = None):
    "nbconvert's HTML exporter with this site's template; its markdown's maths typeset by `maths`."
    import jinja2
    from nbconvert.exporters import HTMLExporter
    from nbconvert.filters.markdown_mistune import MarkdownWithMath
    class Exporter(HTMLExporter):
        @jinja2.pass_context
        def markdown2html(self, context, source):   # nbconvert's own, with the maths renderer
            if maths is None: return super().markdown2html(context, source)
            cell = context.get("cell", {})
            renderer = _math_renderer(maths)(
                escape=False, attachments=cell.get("attachments", {}), embed_images=self.embed_images,
                path=context.get("resources", {}).get("metadata", {}).get("path", ""),
                anchor_link_text=self.anchor_link_text, exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options)
            return MarkdownWithMath(renderer=renderer).render(source)
    return Exporter(template_name="lab", template_file="ead_page.html.j2",
                    extra_loaders=[jinja2.DictLoader({"ead_page.html.j2": _TEMPLATE})],
                    exclude_input_prompt=True, exclude_output_prompt=True, anchor_link_text="¶")


# ----------------------------------------------------------------------------- page shell
def heading_id(text: str) -> str:
    "Pandoc's automatic identifier (what Quarto and nbdev's symbol links use), keeping a leading `_`."
    t = re.sub(r"[^\w\s.\-]", "", text.strip().lower(), flags=re.U)
    t = re.sub(r"\s+", "-", t)
    t = re.sub(r"^[^a-z_]+", "", t)
    return t or "section"


_SITE_CSS = r"""
:root { --ead-accent: #2c5d8f; --ead-side: 17rem; --ead-toc: 14rem; }
html { scroll-padding-top: 4rem; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  color: #1f2328; background: #fff; line-height: 1.55; }
a { color: var(--ead-accent); }
.site-header { position: sticky; top: 0; z-index: 10; display: flex; align-items: center; gap: 1.5rem;
  height: 3.2rem; padding: 0 1.2rem; background: var(--ead-accent); color: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.2); }
.site-header a { color: #fff; text-decoration: none; }
.site-header .brand { font-weight: 650; font-size: 1.15rem; }
.site-header .tagline { opacity: .85; font-size: .9rem; flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.site-header .links a { margin-left: 1rem; font-size: .9rem; }
.layout { display: grid; grid-template-columns: var(--ead-side) minmax(0, 1fr) var(--ead-toc); gap: 0; max-width: 92rem; margin: 0 auto; }
.sidebar { position: sticky; top: 3.2rem; align-self: start; height: calc(100vh - 3.2rem); overflow-y: auto;
  padding: 1.2rem 1rem 2rem 1.2rem; border-right: 1px solid #e4e7eb; font-size: .92rem; box-sizing: border-box; }
.sidebar .section { margin: 1.1rem 0 .3rem; font-weight: 650; font-size: .78rem; letter-spacing: .06em; text-transform: uppercase; color: #57606a; }
.sidebar ul { list-style: none; margin: 0; padding: 0; }
.sidebar li a { display: block; padding: .22rem .5rem; border-radius: 4px; color: #1f2328; text-decoration: none; }
.sidebar li a:hover { background: #eef2f6; }
.sidebar li a.active { background: #e1ebf5; color: var(--ead-accent); font-weight: 600; }
.content { padding: 1.5rem 2.2rem 3rem; min-width: 0; }
.page-header h1 { font-size: 2.1rem; margin: .2rem 0 .4rem; line-height: 1.2; }
.page-header .description { font-size: 1.1rem; color: #57606a; margin: 0 0 1.2rem; }
.page-header { border-bottom: 1px solid #e4e7eb; margin-bottom: 1rem; padding-bottom: .6rem; }
.toc { position: sticky; top: 3.2rem; align-self: start; max-height: calc(100vh - 3.2rem); overflow-y: auto;
  padding: 1.6rem 1rem; font-size: .85rem; box-sizing: border-box; }
.toc .toc-title { font-weight: 650; color: #57606a; margin-bottom: .4rem; }
.toc ul { list-style: none; padding-left: 0; margin: 0; }
.toc li.l3 { padding-left: .8rem; }
.toc a { color: #57606a; text-decoration: none; display: block; padding: .12rem 0; }
.toc a:hover { color: var(--ead-accent); }
.site-footer { grid-column: 2; padding: 1.5rem 2.2rem 2.5rem; color: #6e7781; font-size: .82rem; border-top: 1px solid #e4e7eb; }
.content .anchor-link { visibility: hidden; text-decoration: none; margin-left: .35rem; font-size: .75em; color: #8c959f; }
.content :is(h1,h2,h3,h4,h5,h6):hover .anchor-link { visibility: visible; }
.content .jp-RenderedMarkdown pre { background: #f6f8fa; border: 1px solid #e4e7eb; border-radius: 6px; padding: .6rem .8rem; overflow-x: auto; }
.content a code { color: var(--ead-accent); }
.content .jp-RenderedMarkdown pre, .content .jp-RenderedMarkdown pre code { white-space: pre; word-break: normal; overflow-wrap: normal; }
.content .highlight .err { border: 0; background: none; }
.content .jp-RenderedHTMLCommon :not(pre) > code { background: #eff1f3; padding: .05em .3em; border-radius: 4px; }
.content .jp-OutputArea-output.jp-RenderedText pre, .content .jp-OutputArea-output > pre { background: #fbfbfc; }
/* maths: MathML from KaTeX, laid out by the browser with a math font when it has one */
math { font-family: "STIX Two Math", "Cambria Math", "Latin Modern Math", "DejaVu Math TeX Gyre", "TeX Gyre Termes Math", math; }
math { font-size: 1.08em; }
.math-display { display: block; overflow-x: auto; overflow-y: hidden; margin: .7rem 0; }
.math-display math { display: block math; }
code.math-error { color: #cf222e; background: #fff1f0; }
/* notebook cells */
.content .jp-Cell { padding: 0; margin: .35rem 0; }
.content .jp-InputArea-editor { border-radius: 6px; background: #f6f8fa; border: 1px solid #e4e7eb; }
.content .jp-RenderedHTMLCommon { padding-right: 0; font-size: 1rem; }
.content .jp-RenderedHTMLCommon h2 { margin-top: 1.8rem; border-bottom: 1px solid #eaecef; padding-bottom: .2rem; }
.content .jp-RenderedHTMLCommon h3 { margin-top: 1.3rem; }
.content .jp-OutputArea-output pre { font-size: .85rem; }
.content .jp-MarkdownOutput.jp-OutputArea-output { padding: .2rem .4rem; }
.content .jp-RenderedHTMLCommon table { margin: .6rem 0; }
.content details.code-fold > summary { cursor: pointer; color: #57606a; font-size: .88rem; margin: .2rem 0; }
.content a.source-link, .content a[style*="float:right"] { font-size: .85rem; }
.content .jp-RenderedMarkdown hr { margin: 1.8rem 0 .6rem; border: 0; border-top: 1px solid #d0d7de; }
.callout { border-left: 4px solid var(--ead-accent); background: #f3f7fb; padding: .3rem 1rem; margin: .8rem 0; border-radius: 4px; }
.callout-warning, .callout-caution { border-left-color: #bf8700; background: #fff8e5; }
.callout-important { border-left-color: #cf222e; background: #fff1f0; }
.callout-tip { border-left-color: #1a7f37; background: #effaf2; }
.figure-caption { color: #57606a; font-size: .9rem; text-align: center; margin: .2rem 0 1rem; }
.api-list dt { font-family: var(--jp-code-font-family, monospace); margin-top: .5rem; }
.api-list dd { margin-left: 1.2rem; color: #444; }
@media (max-width: 1100px) { .layout { grid-template-columns: var(--ead-side) minmax(0,1fr); } .toc { display: none; } }
@media (max-width: 760px) { .layout { display: block; } .sidebar { position: static; height: auto; border-right: 0; border-bottom: 1px solid #e4e7eb; }
  .content { padding: 1rem; } .site-header .tagline { display: none; } }
"""

class Site:
    "Everything that all pages share: navigation, names, settings."
    def __init__(self, out: Path, nbs: Path, maths: Maths | None = None):
        cfg = _cfg()
        self.out, self.nbs, self.maths = out, nbs, maths
        self.title = cfg.get("title", cfg.lib_name)
        self.description = cfg.get("description", "")
        self.git_url, self.branch = cfg.get("git_url", ""), cfg.get("branch", "main")
        self.doc_url = (cfg.get("doc_host", "") + cfg.get("doc_baseurl", "")).rstrip("/") + "/"
        self.baseurl = "/" + cfg.get("doc_baseurl", "").strip("/") + "/" if cfg.get("doc_baseurl", "").strip("/") else None
        self.pages: dict[Path, dict] = {}  # rel notebook -> {href, title, section}
        self.copied: set[Path] = set()

    def nav_html(self, here: str) -> str:
        up = "../" * here.count("/")
        groups: dict[str, list] = {}
        for rel, p in self.pages.items(): groups.setdefault(p["section"], []).append(p)
        parts = []
        for sec, ps in groups.items():
            if sec: parts.append(f'<div class="section">{html.escape(sec)}</div>')
            parts.append("<ul>")
            for p in ps:
                act = ' class="active"' if p["href"] == here else ""
                parts.append(f'<li><a href="{up}{quote(p["href"])}"{act}>{html.escape(p["label"])}</a></li>')
            parts.append("</ul>")
        return "\n".join(parts)

    def shell(self, here: str, title: str, description: str, body: str, toc: list) -> str:
        up = "../" * here.count("/")
        toc_html = ""
        if toc:
            toc_html = '<div class="toc-title">On this page</div><ul>' + "".join(
                f'<li class="l{lvl}"><a href="#{html.escape(i)}">{t}</a></li>' for lvl, i, t in toc) + "</ul>"
        gh = f'<a href="{html.escape(self.git_url)}">Source</a>' if self.git_url else ""
        desc = f'<p class="description">{description}</p>' if description else ""
        page_title = html.escape(title if here == "index.html" else f"{title} – {self.title}")
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{page_title}</title>
<meta name="description" content="{html.escape(re.sub('<[^>]+>', '', description))}">
<link rel="stylesheet" href="{up}_static/site.css">
</head>
<body data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
<header class="site-header"><a class="brand" href="{up}index.html">{html.escape(self.title)}</a>
<span class="tagline">{html.escape(self.description)}</span><span class="links"><a href="{up}api.html">API</a>{gh}</span></header>
<div class="layout">
<nav class="sidebar" aria-label="Pages">{self.nav_html(here)}</nav>
<main class="content jp-Notebook">
<header class="page-header"><h1 class="title">{html.escape(title)}</h1>{desc}</header>
{body}
</main>
<nav class="toc" aria-label="On this page">{toc_html}</nav>
<footer class="site-footer">Built offline by <code>tools/build_docs.py</code> from the notebooks in <code>nbs/</code>
(nbdev processing, saved outputs; maths typeset as MathML at build time).</footer>
</div>
</body>
</html>
"""

    # -- links and images
    def repo_href(self, target: Path, here: str, frag: str) -> str | None:
        "Where a link to a repository file should point from page `here`."
        try: rel = target.resolve().relative_to(ROOT)
        except ValueError: return None
        up = "../" * here.count("/")
        try: nbrel = target.resolve().relative_to(self.nbs.resolve())
        except ValueError: nbrel = None
        if nbrel is not None and nbrel in self.pages: return up + quote(self.pages[nbrel]["href"]) + frag
        if target.is_file() and target.suffix.lower() in COPY_EXTS and target.stat().st_size <= MAX_COPY:
            dst = self.out / "assets" / rel
            if rel not in self.copied:
                dst.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(target, dst); self.copied.add(rel)
            return up + quote(f"assets/{rel.as_posix()}") + frag
        if target.exists() and self.git_url:
            kind = "tree" if target.is_dir() else "blob"
            return f"{self.git_url}/{kind}/{self.branch}/{quote(rel.as_posix())}{frag}"
        return None

    def fix_url(self, url: str, here: str, src_dir: Path) -> str:
        if not url or url.startswith(("#", "data:", "mailto:", "javascript:")): return url
        up = "../" * here.count("/")
        if self.doc_url != "/" and url.startswith(self.doc_url):   # nbdev's absolute links into this site
            return up + url[len(self.doc_url):]
        sp = urlsplit(url)
        if sp.scheme or sp.netloc: return url
        frag = "#" + sp.fragment if sp.fragment else ""
        path = unquote(sp.path)
        if self.baseurl and path.startswith(self.baseurl): return up + path[len(self.baseurl):] + frag
        if path.startswith("/"): return url
        new = self.repo_href(src_dir / path, here, frag)
        return new if new is not None else url


def _heading_text(h) -> tuple[str, str]:
    "A heading's text with each formula as its TeX (as Pandoc makes ids from it), and its content as HTML for the TOC."
    import copy
    t = copy.copy(h)
    for a in t.find_all("a"): a.unwrap()
    content = "".join(str(c) for c in t.contents).strip()
    for m in t.find_all("math"):
        ann = m.find("annotation")
        m.replace_with(f"${ann.get_text()}$" if ann else m.get_text())
    return t.get_text(" ", strip=True), content


def render_page(site: Site, exporter, nb: dict, fm: dict, rel: Path, href: str, errors: list) -> str:
    "HTML of one page from a prepared notebook."
    from bs4 import BeautifulSoup
    import nbformat
    body, _ = exporter.from_notebook_node(nbformat.from_dict(nb), resources={"metadata": {"name": rel.stem}})
    soup = BeautifulSoup(body, "html.parser")
    src_dir = (site.nbs / rel).parent
    # headings: Pandoc-style ids (as Quarto makes them, and as nbdev's symbol links expect)
    used, toc = set(), []
    for h in soup.find_all(["h1", "h2", "h3", "h4", "h5", "h6"]):
        for a in h.find_all("a", class_="anchor-link"): a.decompose()
        text, content = _heading_text(h)
        old, new = h.get("id"), heading_id(text)
        i, base = 1, new
        while new in used: new = f"{base}-{i}"; i += 1
        used.add(new); h["id"] = new
        if old and old != new and old not in used:
            used.add(old); h.insert(0, soup.new_tag("span", id=old))
        anchor = soup.new_tag("a", href=f"#{new}", **{"class": "anchor-link"}); anchor.string = "¶"
        h.append(anchor)
        if h.name in ("h2", "h3"): toc.append((int(h.name[1]), new, content))
    for a in soup.find_all("a", href=True):
        if site.doc_url != "/" and a["href"].startswith(site.doc_url) and a.find("code"):
            a["class"] = a.get("class", []) + ["nbdev-link"]   # a symbol nbdev linked to its card
        a["href"] = site.fix_url(a["href"], href, src_dir)
    for img in soup.find_all("img", src=True): img["src"] = site.fix_url(img["src"], href, src_dir)
    title = fm.get("title") or rel.stem
    desc = inline_md(str(fm.get("description", "")), site.maths)
    if errors:
        warn = soup.new_tag("div", **{"class": "callout callout-warning"})
        warn.string = "This page was built without nbdev's processing (show_doc cards missing): " + "; ".join(errors)
        soup.insert(0, warn)
    return site.shell(href, str(title), desc, str(soup), toc)


def api_page(site: Site, entries: list) -> str:
    "The API page: every symbol that has a show_doc card, by module, linked to it."
    parts = ['<div class="jp-RenderedHTMLCommon"><p>Every documented symbol of the library, by the notebook '
             '(and module) that defines it.</p>']
    for page, module, syms in entries:
        if not syms: continue
        parts.append(f'<h2 id="{heading_id(module or page["label"])}"><a href="{quote(page["href"])}">'
                     f'{html.escape(page["label"])}</a>{f" <code>{html.escape(module)}</code>" if module else ""}</h2><dl class="api-list">')
        for name, doc in syms:
            parts.append(f'<dt><a href="{quote(page["href"])}#{quote(heading_id(name))}">{html.escape(name)}</a></dt>'
                         f'<dd>{doc}</dd>')
        parts.append("</dl>")
    parts.append("</div>")
    toc = [(2, heading_id(m or p["label"]), html.escape(p["label"])) for p, m, s in entries if s]
    return site.shell("api.html", "API", "Every exported function and class, linked to its documentation.", "\n".join(parts), toc)


_re_sd_name = re.compile(r"^#{2,4}\s+(\S+)\s*$", re.M)
_re_sd_doc = re.compile(r"^\*(.+?)\*\s*$", re.M)


def _show_doc_entries(nb: dict, maths: Maths | None = None) -> list:
    "(name, one-line docstring as HTML) of each show_doc card in a processed notebook."
    res = []
    for c in nb["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if c["cell_type"] != "code" or "show_doc(" not in src: continue
        for o in c.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if not md: continue
            md = "".join(md) if isinstance(md, list) else md
            m = _re_sd_name.search(md)
            if not m: continue
            d = _re_sd_doc.search(md[m.end():])
            doc = markdown_html(d.group(1), maths).strip() if d else ""
            doc = re.sub(r"^<p>|</p>$", "", doc)
            res.append((m.group(1), doc))
    return res


def inline_md(text: str, maths: Maths | None = None) -> str:
    "One line of markdown (a description) as inline HTML."
    return re.sub(r"^<p>|</p>$", "", markdown_html(text, maths).strip()) if text.strip() else ""


def title_cell_losses(nb: dict) -> list[str]:
    "Lines of the `# Title` cell that nbdev drops with it (it keeps only title, `> description`, `- key: value`)."
    for c in nb.get("cells", []):
        if c.get("cell_type") == "raw": continue
        if c.get("cell_type") != "markdown": return []
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        if not re.search(r"^#\s+\S", src, re.M): continue
        lines = [l for l in src.splitlines() if l.strip()]
        lost = [l for l in lines if not re.match(r"^(#\s+\S|>\s+\S|-\s+\S.*:)", l)]
        quoted = [l for l in lines if re.match(r"^>\s+\S", l)]
        return lost + quoted[1:]  # nbdev keeps the first `> description` line only
    return []


def section_of(rel: Path) -> str:
    if len(rel.parts) == 1: return "" if rel.name == "index.ipynb" else "Library"
    folder = rel.parts[0]
    return FOLDER_TITLES.get(folder) or re.sub(r"^\d+_", "", folder).replace("_", " ").capitalize()


def build(out: Path = ROOT / "_site", nbs: Path | None = None, cache: Path = ROOT / ".cache" / "docs-proc",
          workers: int = 2, strict: bool = False, log=print, katex_dir: Path = KATEX_DIR) -> dict:
    "Build the site into `out`; returns a summary with the pages, processing errors and formulas that failed."
    t0 = time.time()
    from execnb.nbio import read_nb
    from fastcore.foundation import L
    nbs = Path(nbs or ROOT / _cfg().nbs_path.name)
    rels = find_notebooks(nbs)
    if not rels: raise SystemExit(f"no notebooks under {nbs}")
    procd = process_notebooks(nbs, rels, cache, workers, log=log)
    if out.exists(): shutil.rmtree(out)
    (out / "_static").mkdir(parents=True)
    maths = Maths(katex_dir)
    site = Site(out, nbs, maths)
    errors, warnings = {}, {}
    prepared = {}
    for rel in rels:
        lost = title_cell_losses(json.loads((nbs / rel).read_text()))
        if lost:
            warnings[str(Path(nbs.name) / rel)] = w = (f"the title cell also holds {len(lost)} other line(s), which nbdev drops "
                                                       f"from the page (keep `# Title` and `> description` alone in their cell): {lost[0][:80]!r}")
            log(f"[docs] WARNING {rel}: {w}")
        p = procd[rel]
        errs = []
        if isinstance(p, Exception):
            errors[str(Path(nbs.name) / rel)] = str(p)
            log(f"[docs] WARNING nbdev processing failed for {rel}: {p}")
            errs.append(str(p).splitlines()[0][:400])
            nbx = _fallback_process(nbs / rel)
            raw = json.loads(json.dumps(nbx, default=lambda o: dict(o) if hasattr(o, "keys") else str(o)))
            raw["cells"] = [c for c in raw["cells"] if c.get("source") is not None]
        else:
            raw = json.loads(p.read_text())
        nb, fm = prepare_nb(raw)
        href = html_name(rel).as_posix()
        label = str(fm.get("title") or rel.stem)
        site.pages[rel] = {"href": href, "label": "Home" if href == "index.html" else label, "section": section_of(rel),
                           "title": label, "src": str(Path(nbs.name) / rel)}
        prepared[rel] = (nb, fm, errs, raw)
    site.pages[Path("__api__")] = {"href": "api.html", "label": "API", "section": "Reference", "title": "API"}
    exporter = _exporter(maths)
    t_maths = time.time()
    for rel, (nb, fm, errs, raw) in prepared.items():
        href = site.pages[rel]["href"]
        maths.page = href
        page = render_page(site, exporter, nb, fm, rel, href, errs)
        (out / href).parent.mkdir(parents=True, exist_ok=True)
        (out / href).write_text(page, encoding="utf-8")
    # API page from the show_doc cards
    from nbdev.processors import _default_exp
    entries = []
    for rel, (nb, fm, errs, raw) in prepared.items():
        try: mod = _default_exp(read_nb(nbs / rel))
        except Exception: mod = None
        maths.page = "api.html"
        entries.append((site.pages[rel], f"{_cfg().lib_name}.{mod}" if mod else "", _show_doc_entries(raw, maths)))
    (out / "api.html").write_text(api_page(site, entries), encoding="utf-8")
    maths.close()
    t_maths = time.time() - t_maths
    for f in maths.failures[:20]: log(f"[docs] MATHS {f['page']}: not typeset: {f['error']} (in ${f['tex'][:100]}$)")
    if len(maths.failures) > 20: log(f"[docs] MATHS ... and {len(maths.failures) - 20} more formula(s) not typeset")
    for w in maths.warnings[:10]: log(f"[docs] maths warning {w['page']}: {w['warning']} (in ${w['tex'][:80]}$)")
    # shared assets: JupyterLab's notebook CSS, the code highlighting, this site's own CSS and JS
    tdir = Path(exporter.template_paths[0])
    css = [(tdir / "static" / n).read_text() for n in ("index.css", "theme-light.css") if (tdir / "static" / n).exists()]
    from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
    res = {"config_dir": str(out / "_none")}
    CSSHTMLHeaderPreprocessor(highlight_class=".highlight").preprocess(__import__("nbformat").v4.new_notebook(),
                                                                       res)
    css += res.get("inlining", {}).get("css", [])
    (out / "_static" / "site.css").write_text("\n".join(css) + _SITE_CSS, encoding="utf-8")
    (out / ".nojekyll").write_text("")
    manifest = {"pages": {str(Path(nbs.name) / r): site.pages[r]["href"] for r in rels}, "errors": errors, "warnings": warnings,
                "api": "api.html", "seconds": round(time.time() - t0, 1),
                "maths": {"formulas": len(maths._cache), "failures": maths.failures, "warnings": maths.warnings,
                          "render_seconds": round(t_maths, 1)}}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    unlinked = unlink_missing_symbols(out)
    if unlinked: log(f"[docs] {len(unlinked)} link(s) to symbols without a show_doc card left as plain code: "
                     + ", ".join(sorted(set(unlinked))[:8]) + (" ..." if len(set(unlinked)) > 8 else ""))
    problems = check_site(out)
    for p in problems: log(f"[docs] BROKEN {p}")
    log(f"[docs] {len(rels) + 1} pages in {out} ({time.time() - t0:.1f}s); "
        f"{len(errors)} processing error(s), {len(problems)} broken link(s)/image(s), "
        f"{len(maths._cache)} formula(s) typeset as MathML, {len(maths.failures)} not")
    manifest["problems"] = problems
    if strict and (errors or problems or warnings or maths.failures):
        raise SystemExit(f"docs build failed: {len(errors)} processing error(s), {len(warnings)} title cell(s) losing text, "
                         f"{len(problems)} broken link(s)/image(s), {len(maths.failures)} formula(s) not typeset")
    return manifest


def unlink_missing_symbols(out: Path) -> list[str]:
    "nbdev links every backticked library name, private ones too; where no card has that anchor, keep the code, drop the link."
    from bs4 import BeautifulSoup
    soups = {f.resolve(): BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser") for f in out.rglob("*.html")}
    ids = {f: {t["id"] for t in s.find_all(id=True)} for f, s in soups.items()}
    gone = []
    for f, soup in soups.items():
        changed = False
        for a in soup.find_all("a", class_="nbdev-link"):
            sp = urlsplit(a["href"])
            tgt = (f.parent / unquote(sp.path)).resolve() if sp.path else f
            if tgt in ids and (not sp.fragment or unquote(sp.fragment) in ids[tgt]): continue
            gone.append(a.get_text()); a.unwrap(); changed = True
        if changed: f.write_text(str(soup), encoding="utf-8")
    return gone


# ----------------------------------------------------------------------------- checking
def check_site(out: Path) -> list[str]:
    "Broken internal links (file or #anchor missing) and missing images in the built site."
    from bs4 import BeautifulSoup
    pages, ids = {}, {}
    for f in out.rglob("*.html"):
        soup = BeautifulSoup(f.read_text(encoding="utf-8"), "html.parser")
        pages[f] = soup
        ids[f.resolve()] = {t["id"] for t in soup.find_all(id=True)}
    problems = []
    for f, soup in pages.items():
        name = f.relative_to(out).as_posix()
        refs = [("link", a["href"]) for a in soup.find_all("a", href=True)]
        refs += [("image", i["src"]) for i in soup.find_all("img", src=True)]
        refs += [("stylesheet", l["href"]) for l in soup.find_all("link", href=True)]
        refs += [("script", s["src"]) for s in soup.find_all("script", src=True)]
        for kind, url in refs:
            if url.startswith(("data:", "mailto:", "javascript:")): continue
            sp = urlsplit(url)
            if sp.scheme or sp.netloc: continue
            target = f if not sp.path else (f.parent / unquote(sp.path))
            if not target.resolve().is_relative_to(out.resolve()):
                problems.append(f"{name}: {kind} {url} points outside the site"); continue
            if not target.exists():
                problems.append(f"{name}: {kind} {url} -> missing file"); continue
            if sp.fragment and target.suffix == ".html" and unquote(sp.fragment) not in ids.get(target.resolve(), set()):
                problems.append(f"{name}: {kind} {url} -> no anchor #{sp.fragment}")
    return problems


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--proc-batch"]: return _proc_batch(*argv[1:3])
    ap = argparse.ArgumentParser(description="Build the docs site offline (no Quarto).")
    ap.add_argument("--out", default=str(ROOT / "_site"), help="output folder (default: _site/)")
    ap.add_argument("--nbs", default=None, help="notebooks folder (default: settings.ini's nbs_path)")
    ap.add_argument("--cache", default=str(ROOT / ".cache" / "docs-proc"), help="cache of processed notebooks")
    ap.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--strict", action="store_true", help="fail on a processing error or a broken link/image")
    a = ap.parse_args(argv)
    build(Path(a.out), Path(a.nbs) if a.nbs else None, Path(a.cache), a.workers, a.strict)


if __name__ == "__main__":
    main()
