"""The docs site: built offline (tools/build_docs.py) into a temporary folder, every notebook has a
page, every formula is typeset as MathML at build time, every internal link and image resolves, the
README is what nbs/index.ipynb makes, and real pages open in headless Chromium with the network off
without errors, not blank, their maths laid out as maths and no TeX source left in their text.

Screenshots go to a temporary folder, or to $EAD_DOCS_SHOTS when set. Refresh the committed
figures/docs-index.png with `bash tools/docs.sh --screenshot`."""
import json, os, re, shutil, sys
from pathlib import Path
import pytest
from conftest import ROOT, NBS

sys.path.insert(0, str(ROOT / "tools"))
import build_docs as bd  # noqa: E402

SECTIONS = sorted(p for p in NBS if p.parent.name == "sections")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    "The site built into a temporary folder (processed notebooks are cached in .cache/docs-proc)."
    out = tmp_path_factory.mktemp("site")
    manifest = bd.build(out=out, workers=2, strict=False)
    return out, manifest


def _page(nb: Path) -> str:
    return bd.html_name(nb.relative_to(ROOT / "nbs")).as_posix()


@pytest.mark.parametrize("nb", NBS, ids=[str(p.relative_to(ROOT / "nbs")) for p in NBS])
def test_notebook_has_page(site, nb):
    "Each notebook has its page, processed by nbdev without error, with its title and its maths intact."
    out, manifest = site
    rel = str(nb.relative_to(ROOT))
    assert rel not in manifest["errors"], f"nbdev's docs processing failed for {rel}:\n{manifest['errors'].get(rel)}"
    assert rel not in manifest["warnings"], f"{rel}: {manifest['warnings'].get(rel)}"
    page = out / _page(nb)
    assert page.exists(), f"no page {page.name} for {rel}"
    text = page.read_text()
    src = json.loads(nb.read_text())
    md = "\n".join("".join(c["source"]) for c in src["cells"] if c["cell_type"] == "markdown")
    title = re.search(r"^#\s+(\S.*?)\s*$", md, re.M)
    if title:
        from html import unescape
        shown = [unescape(t) for t in re.findall(r'<h1 class="title">(.*?)</h1>', text)]
        assert title.group(1) in shown, f"{page.name} lacks its title {title.group(1)!r}: {shown}"
    for tex in re.findall(r"\$\$(.+?)\$\$", md, re.S):   # display maths reaches the page as MathML, its TeX unmangled
        from html import escape
        assert f'<annotation encoding="application/x-tex">{escape(tex.strip(), quote=False)}</annotation>' in text, \
            f"{page.name}: display maths not typeset or mangled: {tex.strip()[:80]}"
    if re.search(r"\$[^$\n]+\$", md): assert "<math" in text, f"{page.name}: maths in {rel} but no <math> on the page"
    assert 'class="math-error"' not in text, f"{page.name}: formulas not typeset (see test_every_formula_typeset)"


def test_every_formula_typeset(site):
    "Every formula of every page (markdown cells, show_doc cards, descriptions) became MathML at build time."
    out, manifest = site
    m = manifest["maths"]
    assert m["formulas"] > 0, "no maths found in the notebooks"
    assert not m["failures"], f"{len(m['failures'])} formula(s) not typeset:\n" + "\n".join(
        f"{f['page']}: {f['error']} in ${f['tex']}$" for f in m["failures"][:20])
    pages = "".join(p.read_text() for p in out.rglob("*.html"))
    assert "data-mathjax" not in pages and "mathjax" not in pages.lower(), "a page still loads MathJax"


def test_maths_failures_reported(tmp_path):
    """A formula KaTeX cannot parse is recorded with its page and shown as marked TeX; without KaTeX, every one is.
    Letters in a style (\\mathbb) are Unicode letters of that style, which browsers draw (they ignore mathvariant)."""
    m = bd.Maths()
    m.page = "p.html"
    good = bd.markdown_html(r"Good $\|\delta\|_1$, $\mathbb{R}^K$ and $$\tfrac{k}{k+3}$$, bad $x^{$ here.", m)
    m.close()
    assert good.count("<math") == 3 and 'display="block"' in good, good
    assert "\u211d" in good and "double-struck" not in good, good   # ℝ
    assert [f["tex"] for f in m.failures] == ["x^{"] and m.failures[0]["page"] == "p.html", m.failures
    assert '<code class="math-error"' in good and "$x^{$" in good
    none = bd.Maths(katex_dir=tmp_path)   # KaTeX not installed there
    assert "math-error" in bd.markdown_html("$x$", none) and "not installed" in none.failures[0]["error"]


def test_raw_tex_detector():
    "The raw-TeX check finds untypeset maths in text and leaves plain prose alone."
    assert bd.raw_tex(r"cost $\kappa \in \{0, 5, \dots\}$ here") and bd.raw_tex("a $x_0$ b") and bd.raw_tex(r"\(a\)")
    assert bd.raw_tex("$$x$$") and not bd.raw_tex("costs $5 and $10, or $EAD_HOME") and not bd.raw_tex("x_0 = 1")


def test_links_and_images_resolve(site):
    "Every internal link (file and #anchor), stylesheet, script and image of every page exists."
    out, manifest = site
    problems = bd.check_site(out)
    assert not problems, "broken links/images:\n" + "\n".join(problems[:40])
    hrefs = {p.relative_to(out).as_posix() for p in out.rglob("*.html")}
    assert hrefs == set(manifest["pages"].values()) | {"api.html"}, "pages built differ from the notebooks"


def test_checker_catches_breakage(tmp_path):
    "The link checker fails on a missing page, a missing anchor and a missing image."
    (tmp_path / "a.html").write_text('<h2 id="here">x</h2><a href="b.html">b</a><a href="a.html#here">ok</a>'
                                     '<a href="a.html#nowhere">bad</a><img src="fig.png"><a href="https://x.org/y">ext</a>')
    problems = bd.check_site(tmp_path)
    assert len(problems) == 3 and any("b.html" in p for p in problems) and any("#nowhere" in p for p in problems) \
        and any("fig.png" in p for p in problems), problems


def test_api_page_links_symbols(site):
    "The API page lists every public function and class of every library module, each linked (checked above)."
    import importlib, inspect
    out, _ = site
    api = (out / "api.html").read_text()
    listed = set(re.findall(r'<dt><a href="[^"]*">([^<]+)</a></dt>', api))
    import ead_repro
    modules = [m.stem for m in (ROOT / "ead_repro").glob("*.py") if not m.stem.startswith("_")]
    modules += ["sections." + m.stem for m in (ROOT / "ead_repro" / "sections").glob("*.py") if m.stem != "__init__"]
    missing = []
    for name in modules:
        mod = importlib.import_module(f"ead_repro.{name}")
        for sym in getattr(mod, "__all__", []):
            obj = getattr(mod, sym)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == mod.__name__ and sym not in listed:
                missing.append(f"ead_repro.{name}.{sym}")
    assert listed and not missing, f"not on the API page: {missing}"


def test_readme_up_to_date():
    "README.md is what tools/readme.py makes from nbs/index.ipynb."
    import readme
    want = readme.render(write_images=False)
    have = (ROOT / "README.md").read_text()
    assert have == want, "README.md is out of date with nbs/index.ipynb: run `.venv/bin/python tools/readme.py`"


def test_blank_detector():
    "The blank-page measure tells a blank screenshot from a drawn one."
    import io
    from PIL import Image, ImageDraw
    from browse import blank_fraction
    def png(draw):
        im = Image.new("RGB", (640, 400), "white")
        if draw:
            d = ImageDraw.Draw(im)
            for y in range(20, 400, 18): d.text((20, y), "EAD elastic-net attack " * 4, fill="black")
        b = io.BytesIO(); im.save(b, "PNG"); return b.getvalue()
    assert blank_fraction(png(False)) > 0.99 and blank_fraction(png(True)) < 0.97


def _browser_pages():
    "The index and one section page (any other page while there is no section notebook)."
    other = SECTIONS[:1] or [p for p in NBS if p.name != "index.ipynb"][:1]
    return [ROOT / "nbs" / "index.ipynb", *other]


def test_pages_in_chromium(site, tmp_path):
    """Index and a section page open in headless Chromium with the network off: no console error, exception or
    failed local load, no broken image; the page has text and its screenshot is not one flat colour; its maths
    is MathML the browser lays out (each formula drawn, subscripts lowered, fractions stacked) and no TeX
    source shows in its prose."""
    from browse import Browser, blank_fraction, find_chromium
    if find_chromium() is None:
        msg = "Chromium not installed: run `bash tools/setup-chromium.sh`"
        if os.environ.get("CI"): pytest.fail(msg)
        pytest.skip(msg)
    out, _ = site
    shots = Path(os.environ.get("EAD_DOCS_SHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    with Browser(1280, 800, offline=True) as b:
        for nb in _browser_pages():
            page = out / _page(nb)
            r = b.open(str(page), settle=1.0)
            (shots / (page.stem + ".png")).write_bytes(r.png)
            assert not r.errors, f"{page.name}: errors in the browser:\n" + "\n".join(r.errors)
            assert not r.images_broken, f"{page.name}: images that did not load: {r.images_broken}"
            body = r.text.strip()
            assert len(body) > 200, f"{page.name}: page text nearly empty ({len(body)} chars)"
            frac = blank_fraction(r.png)
            assert frac < 0.97, f"{page.name}: screenshot is {frac:.1%} one colour: blank page?"
            assert r.title, f"{page.name}: no <title>"
            m = r.math
            assert m["count"] > 0 and m["drawn"] == m["count"], f"{page.name}: formulas not drawn: {m}"
            assert m["subscripts"] > 0 and m["lowered"] == m["subscripts"], f"{page.name}: subscripts not set: {m}"
            assert m["stacked"] == m["fractions"], f"{page.name}: fractions not stacked: {m}"
            assert not bd.raw_tex(r.prose), f"{page.name}: TeX source in the page's text: {bd.raw_tex(r.prose)[:5]}"


def _nb(cells):
    import nbformat
    nb = nbformat.v4.new_notebook()
    for kind, src, outs in cells:
        c = nbformat.v4.new_markdown_cell(src) if kind == "md" else nbformat.v4.new_code_cell(src)
        if kind == "code": c.outputs = [nbformat.from_dict(o) for o in outs]
        nb.cells.append(c)
    return nbformat.writes(nb)


def test_builder_on_a_synthetic_project(tmp_path):
    """An experiment folder, a figure file, a saved image output, a table, a callout, hidden cells, maths and
    links between notebooks all come out right (this runs whatever notebooks the project has today); a
    malformed formula is reported with its page, and fails a strict build."""
    import base64, io
    from PIL import Image
    b = io.BytesIO(); Image.new("RGB", (40, 30), (200, 30, 30)).save(b, "PNG")
    png = base64.b64encode(b.getvalue()).decode()
    nbs = ROOT / ".cache" / f"test-nbs-{os.getpid()}"   # inside the repository, where nbdev finds settings.ini
    try:
        (nbs / "experiments").mkdir(parents=True)
        (nbs / "index.ipynb").write_text(_nb([("md", "# Demo\n> The index", []), ("md", "See [the lib](00_lib.ipynb) and "
                                                     "[the experiment](experiments/10_exp.ipynb#results).", [])]))
        (nbs / "00_lib.ipynb").write_text(_nb([("md", "# Lib\n> A library page", []), ("md", "## Maths\n\n$$\\|x-x_0\\|_1 + \\beta_2$$", []),
                                               ("code", "#| hide\nsecret = 1", []),
                                               ("code", "#| echo: false\nprint('shown')", [{"output_type": "stream", "name": "stdout", "text": "only the output\n"}])]))
        (nbs / "experiments" / "10_exp.ipynb").write_text(_nb([
            ("md", "# Exp\n> An experiment", []), ("md", "## Results\n\n![the index](../../../figures/docs-index.png)\n\n"
                   "::: {.callout-note}\nA *note*.\n:::\n\nBack to [the library](../00_lib.ipynb#maths). "
                   "Broken: $\\frac{1}{$.", []),
            ("code", "plot()", [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}]),
            ("code", "df", [{"output_type": "execute_result", "metadata": {}, "execution_count": None,
                             "data": {"text/html": ["<table><tr><th>ASR</th></tr>\n", "<tr><td>100</td></tr></table>"], "text/plain": "df"}}])]))
        out = tmp_path / "site"
        m = bd.build(out=out, nbs=nbs, cache=tmp_path / "cache", workers=2, log=lambda *a: None)
        assert not m["errors"] and not m["problems"] and not m["warnings"], (m["errors"], m["problems"], m["warnings"])
        exp = (out / "experiments" / "exp.html").read_text()
        assert 'src="../assets/figures/docs-index.png"' in exp and (out / "assets/figures/docs-index.png").exists()
        assert "data:image/png;base64," in exp and "<td>100</td>" in exp and "['" not in exp
        assert 'class="callout callout-note"' in exp and 'href="../lib.html#maths"' in exp
        assert '<div class="section">Experiments</div>' in exp
        lib = (out / "lib.html").read_text()
        assert "secret" not in lib and "only the output" in lib and "print(" not in lib
        assert "\\|x-x_0\\|_1 + \\beta_2</annotation>" in lib and 'display="block"' in lib   # typeset
        assert 'href="experiments/exp.html#results"' in (out / "index.html").read_text()
        assert [(f["page"], f["tex"]) for f in m["maths"]["failures"]] == [("experiments/exp.html", "\\frac{1}{")]
        assert '<code class="math-error"' in exp
        with pytest.raises(SystemExit, match="1 formula"):
            bd.build(out=out, nbs=nbs, cache=tmp_path / "cache", workers=2, strict=True, log=lambda *a: None)
    finally:
        shutil.rmtree(nbs, ignore_errors=True)
