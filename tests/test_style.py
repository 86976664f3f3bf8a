"""The house style, where a machine can check it: code cells that fit a docs page (no line over 100
characters, one statement per line) and small export cells and functions (a screen or less)."""
import ast, json
from conftest import ROOT, NBS

MAX_LINE, MAX_CELL, MAX_FUNCTION = 100, 45, 45


def _code_cells(nb):
    for i, c in enumerate(json.loads(nb.read_text())["cells"]):
        if c["cell_type"] == "code": yield i, "".join(c["source"])


def _python(src: str) -> str:
    "The cell without nbdev directives and shell or magic lines."
    return "\n".join("" if l.startswith(("#|", "%", "!")) else l for l in src.splitlines())


def test_code_fits_a_page():
    long = [f"{nb.relative_to(ROOT)} cell {i}: {len(l)} characters" for nb in NBS for i, src in _code_cells(nb)
            for l in src.splitlines() if len(l) > MAX_LINE]
    assert not long, "lines over 100 characters:\n" + "\n".join(long)


def test_one_statement_per_line():
    joined = []
    for nb in NBS:
        for i, src in _code_cells(nb):
            lines = {}
            for node in ast.walk(ast.parse(_python(src))):
                if isinstance(node, ast.stmt) and not hasattr(node, "body"): lines.setdefault(node.lineno, []).append(node)
            joined += [f"{nb.relative_to(ROOT)} cell {i} line {n}" for n, s in lines.items() if len(s) > 1]
    assert not joined, "statements joined with ';':\n" + "\n".join(joined)


def test_small_cells_and_functions():
    big = []
    for nb in NBS:
        for i, src in _code_cells(nb):
            if not src.startswith("#| export"): continue
            if len(src.splitlines()) > MAX_CELL: big.append(f"{nb.relative_to(ROOT)} cell {i}: {len(src.splitlines())} lines")
            for node in ast.walk(ast.parse(_python(src))):
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.end_lineno - node.lineno >= MAX_FUNCTION:
                    big.append(f"{nb.relative_to(ROOT)} cell {i}: {node.name} {node.end_lineno - node.lineno + 1} lines")
    assert not big, "export cells or functions over a screen:\n" + "\n".join(big)


def test_imports_in_setup_cells():
    """nbdev's docs processing runs every cell holding an import, without the cells before it
    that it skips: a page's imports live in its setup cells (before any other non-export code cell),
    so no cell the docs build runs needs names from cells it does not run, nor runs an experiment.
    The index page is exempt: its visible examples read committed files and show their imports."""
    bad = []
    for nb in NBS:
        if nb.name == "index.ipynb": continue
        setup = True
        for i, src in _code_cells(nb):
            if src.startswith(("#| export", "#| exporti", "#| default_exp")) or "nbdev_export()" in src:
                continue
            tree = ast.parse(_python(src))
            imports = any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree))
            only = all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body)
            if imports and not only and not setup: bad.append(f"{nb.relative_to(ROOT)} cell {i}")
            if tree.body: setup = setup and imports
    assert not bad, "cells that import and run other code after the setup cells:\n" + "\n".join(bad)
