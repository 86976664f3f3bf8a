"""ead_repro as a user installs it. The wheel that `pip wheel --no-deps` builds is installed with
the dependencies it declares into a fresh virtual environment in a temporary folder, outside the
repository, and used there: `import ead_repro` and every module of it, the README's library
snippet, `ead_repro report` on a user's model defined in a file there, `ead_repro check`, and
`ead_repro train`, which must leave the shipped checkpoints byte-identical and its network found
by name afterwards. Nothing is written inside the installed package.

Cost: installing torch into a fresh environment means GBs (a CUDA build) and minutes. Torch alone
(and what torch itself requires) is lent to the fresh environment from this interpreter's
site-packages, by links in a folder that a .pth file adds to its path; pip sees it installed.
Every other dependency is resolved and installed by pip from the wheel's own Requires-Dist, so a
dependency the package does not declare is simply not there, and whatever imports it fails;
`pip check` must find the environment consistent. `test_every_import_is_declared` checks the
same statically, for the imports no command here reaches."""
import ast, hashlib, importlib.metadata as md, importlib.util, json, os, shutil, subprocess, sys
import venv
from configparser import ConfigParser
from pathlib import Path
import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "ead_repro"
LENT = "torch"  # the one heavy dependency lent to the fresh environment instead of installed


def settings() -> dict:
    "The requirement lists of settings.ini: {'requirements': [...], 'repro_requirements': ...}."
    cfg = ConfigParser(delimiters=["="])
    cfg.read(ROOT / "settings.ini", encoding="utf-8")
    return {k: cfg["DEFAULT"].get(k, "").split() for k in
            ("requirements", "repro_requirements", "bench_requirements")}


def _guards_import(node) -> bool:
    "Whether `node` is a `try` that catches ImportError: what it imports is optional."
    catches = lambda h: any(getattr(t, "id", None) in ("ImportError", "ModuleNotFoundError")
                            for t in (h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]))
    return isinstance(node, ast.Try) and any(h.type is not None and catches(h)
                                             for h in node.handlers)


def imports(path:Path) -> tuple:
    "(top-level imports, imports inside functions or `require(...)`) of a module, by name."
    top, lazy = set(), set()
    tree = ast.parse(path.read_text())
    def visit(node, inside:bool):
        if _guards_import(node): return  # optional, with a fallback or a message of its own
        for child in ast.iter_child_nodes(node):
            names = []
            if isinstance(child, ast.Import): names = [a.name for a in child.names]
            elif isinstance(child, ast.ImportFrom) and not child.level: names = [child.module]
            elif (isinstance(child, ast.Call) and getattr(child.func, "id", None) == "require"
                  and child.args and isinstance(child.args[0], ast.Constant)):
                names = [child.args[0].value]
            (lazy if inside else top).update(n.split(".")[0] for n in names)
            visit(child, inside or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)))
    visit(tree, False)
    return top, lazy


def dist_names(reqs:list) -> set:
    "The normalised distribution names of requirement strings."
    return {Requirement(r).name.lower().replace("_", "-") for r in reqs}


NOTEBOOK_ONLY = {"IPython"}  # `runner.show_figures` draws on a notebook page, which has IPython


def test_every_import_is_declared():
    "A module imported at import time is a requirement; one imported lazily at least an extra."
    s, owners = settings(), md.packages_distributions()
    core = dist_names(s["requirements"])
    extras = core | dist_names(s["repro_requirements"]) | dist_names(s["bench_requirements"])
    bad = []
    for f in sorted(PKG.rglob("*.py")):
        top, lazy = imports(f)
        for name, allowed in [(n, core) for n in top] + [(n, extras) for n in lazy - top]:
            if name in sys.stdlib_module_names or name in ("ead_repro", "__future__"): continue
            if name in NOTEBOOK_ONLY and allowed is extras: continue
            dists = {d.lower().replace("_", "-") for d in owners.get(name, [name])}
            if not dists & allowed:
                bad.append(f"{f.relative_to(ROOT)} imports {name} ({sorted(dists)}): "
                           f"not in settings.ini {'requirements' if allowed is core else 'extras'}")
    assert not bad, "\n".join(bad)


def closure(name:str) -> list:
    "The installed distribution `name` and every one it requires here, recursively, extras too."
    seen, todo = {}, [(name, set())]
    while todo:
        dist_name, extras = todo.pop()
        d = md.distribution(dist_name)
        key = d.metadata["Name"].lower().replace("_", "-")
        have = seen[key][1] if key in seen else None
        if have is not None and extras <= have: continue
        extras |= have or set()
        seen[key] = (d, extras)
        for r in map(Requirement, d.requires or []):
            wanted = r.marker is None or any(r.marker.evaluate({"extra": e})
                                             for e in {"", *extras})
            if wanted: todo.append((r.name, set(r.extras)))
    return [d for d, _ in seen.values()]


def lend(dist_name:str, base:Path):
    "Link `dist_name` and what it requires, with their metadata, from site-packages into `base`."
    base.mkdir(parents=True, exist_ok=True)
    for d in closure(dist_name):
        site = Path(d.locate_file(""))
        for top in {Path(str(f)).parts[0] for f in d.files or []} - {".."}:
            if (site / top).exists() and not (base / top).exists():
                (base / top).symlink_to(site / top)


def tree_digest(folder:Path) -> dict:
    "{file: sha256} of every file under `folder`, bytecode caches aside."
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    "A fresh venv outside the repository with the built wheel installed; runs commands there."
    tmp = tmp_path_factory.mktemp("user-install")
    src = tmp / "src"  # build from a copy: the build must not need the rest of the repository
    src.mkdir()
    for f in ("setup.py", "settings.ini", "pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(PKG, src / "ead_repro", ignore=shutil.ignore_patterns("__pycache__", ".*"))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w",
                            str(tmp / "dist"), str(src)], capture_output=True, text=True)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    wheel, = (tmp / "dist").glob("ead_repro-*.whl")
    env_dir = tmp / "venv"
    venv.create(env_dir, with_pip=True, clear=True)
    py = env_dir / "bin" / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(subprocess.check_output([str(py), "-c", purelib], text=True).strip())
    lend(LENT, tmp / "lent")
    (site / "_lent_by_test.pth").write_text(str(tmp / "lent") + "\n")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("EAD_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE"))}
    mnist = importlib.util.find_spec("mnist")  # the data file: as a user gives it, $EAD_MNIST
    pkl = Path(list(mnist.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    env.update(PATH=f"{env_dir / 'bin'}{os.pathsep}{env['PATH']}", EAD_HOME=str(tmp / "home"),
               EAD_MNIST=str(pkl), MPLBACKEND="Agg", OMP_NUM_THREADS="1", CI="1")
    work = tmp / "work"
    work.mkdir()
    def run(*cmd, ok=True, timeout=900, **more_env):
        r = subprocess.run([str(c) for c in cmd], cwd=work, env={**env, **more_env},
                           capture_output=True, text=True, timeout=timeout)
        if ok: assert r.returncode == 0, f"{cmd}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
        return r
    pip = run(py, "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel)  # + its deps
    installed = site / "ead_repro"
    before = tree_digest(installed)
    return dict(run=run, py=py, site=site, installed=installed, before=before, work=work,
                home=tmp / "home", build=built, pip=pip)


def test_wheel_metadata(user):
    "The wheel builds without deprecation warnings and carries the license file and the extras."
    log = user["build"].stdout + user["build"].stderr
    assert "Deprecat" not in log and "deprecated" not in log, log[-3000:]
    meta = md.Distribution.at(next(user["site"].glob("ead_repro-*.dist-info"))).metadata
    assert meta["License-Expression"] == "Apache-2.0", meta["License-Expression"]
    assert not [c for c in meta.get_all("Classifier") if c.startswith("License ::")]
    assert "LICENSE" in meta.get_all("License-File")
    lic = next(user["site"].glob("ead_repro-*.dist-info")) / "licenses" / "LICENSE"
    assert lic.read_text() == (ROOT / "LICENSE").read_text()
    assert set(meta.get_all("Provides-Extra")) >= {"repro", "bench"}
    req = meta.get_all("Requires-Dist")
    assert any(r.startswith("fastcore") for r in req) and any(r.startswith("torch>=") for r in req)
    assert Requirement(next(r for r in req if r.startswith("torch>="))).specifier.contains(
        md.version("torch"))  # the tested torch is inside the declared range


def test_environment_is_consistent(user):
    "pip check: every requirement of every installed package is met (none is installed --no-deps)."
    r = user["run"](user["py"], "-m", "pip", "check", "--disable-pip-version-check", ok=False)
    assert r.returncode == 0, r.stdout + r.stderr


def test_imports_outside_the_repository(user):
    "`import ead_repro` comes from the fresh environment, and every module of it imports."
    code = ("import ead_repro, pkgutil, importlib; print(ead_repro.__file__); "
            "[importlib.import_module(m.name) for m in "
            "pkgutil.walk_packages(ead_repro.__path__, 'ead_repro.')]")
    r = user["run"](user["py"], "-c", code)
    assert r.stdout.strip() == str(user["installed"] / "__init__.py"), r.stdout


def readme_snippet() -> str:
    "The code cells of the README's 'Attack your own model' section (nbs/index.ipynb)."
    cells = json.loads((ROOT / "nbs" / "index.ipynb").read_text())["cells"]
    out, inside = [], False
    for c in cells:
        text = "".join(c["source"])
        heads = [l for l in text.splitlines() if l.startswith("## ")]
        if c["cell_type"] == "markdown" and heads:
            inside = heads[-1] == "## Attack your own model"
        elif inside and c["cell_type"] == "code": out.append(text)
    assert len(out) >= 2, out
    return "\n".join(out)


def test_readme_snippet(user):
    "The README's library snippet runs as it is written, in the user's folder."
    (user["work"] / "snippet.py").write_text(readme_snippet() + "\nprint('snippet ok')\n")
    r = user["run"](user["py"], "snippet.py")
    assert "snippet ok" in r.stdout


USER_MODEL = '''
import torch
from torch import nn
from ead_repro.data import load_mnist

def build():
    "A user's classifier: the nearest class mean of 1,000 MNIST training images, as a linear layer."
    train = load_mnist("train").subset(range(1000))
    x = train.x.flatten(1)
    means = torch.stack([x[train.y == k].mean(0) for k in range(10)])
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        net[1].weight.copy_(means)
        net[1].bias.copy_(-0.5 * (means ** 2).sum(1))
    return net
'''


def test_report_on_a_user_model(user):
    "`ead_repro report` on a model defined in the user's own .py file: its page and numbers."
    (user["work"] / "mynet.py").write_text(USER_MODEL)
    r = user["run"]("ead_repro", "report", "--model", "mynet.py:build", "--data", "mnist",
                    "--n", "4", "--iterations", "30", "--steps", "4", "--initial-const", "1",
                    "--out", "rep")
    rep = user["work"] / "rep"
    for f in ("report.html", "results.csv", "summary.json"): assert (rep / f).is_file(), r.stdout
    summary = json.loads((rep / "summary.json").read_text())
    assert summary["images"] >= 1 and summary["asr"] > 0, summary


def test_check_outside_the_repository(user):
    "`ead_repro check` checks MNIST, skips what is not installed here, says how to get it."
    r = user["run"]("ead_repro", "check")
    lines = r.stdout.splitlines()
    assert any(l.startswith("mnist") and "accuracy 9" in l for l in lines), r.stdout
    assert any(l.startswith("cifar     skipped: CIFAR-10: no source") for l in lines), r.stdout
    assert any(l.startswith("imagenet  skipped:") and "pip install" in l for l in lines), r.stdout
    r = user["run"]("ead_repro", "check", "--only", "imagenet", ok=False)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1 and "pip install" in err[0], r.stderr


def test_missing_extra_is_one_line(user):
    "The original CIFAR-10 batches need torchvision (the `repro` extra): one line says so."
    r = user["run"]("ead_repro", "check", "--only", "cifar", ok=False,
                    EAD_CIFAR10=str(user["work"] / "cifar-10-batches-py"))
    err = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(err) == 1, r.stderr
    assert 'pip install torchvision (or "ead_repro[repro]")' in err[0], err


def test_train_writes_to_the_user_folder(user):
    "`ead_repro train` never writes into the package; the network is found by name afterwards."
    shipped = tree_digest(user["installed"] / "checkpoints")
    r = user["run"]("ead_repro", "train", "mnist", "--epochs", "1", "--limit", "200")
    mine = user["home"] / "checkpoints"
    assert (mine / "mnist.pt").is_file() and (mine / "mnist.json").is_file(), r.stdout
    assert f"load_model('mnist', folder='{mine}')" in r.stdout, r.stdout
    user["run"]("ead_repro", "train", "mnist", "--epochs", "1", "--limit", "200",
                "--name", "my-mnist")
    assert tree_digest(user["installed"] / "checkpoints") == shipped
    code = ("import torch, warnings\nfrom ead_repro.models import load_model, CHECKPOINTS\n"
            "same = lambda m, f: all(torch.equal(v, torch.load(f, weights_only=True)[k])\n"
            "                        for k, v in m.state_dict().items())\n"
            f"mine = {str(mine)!r}\n"
            "assert same(load_model('my-mnist'), mine + '/my-mnist.pt')\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('always')\n"
            "    assert same(load_model('mnist'), CHECKPOINTS / 'mnist.pt')\n"
            "assert 'the shipped one is used' in str(w[0].message)\n"
            "assert same(load_model('mnist', folder=mine), mine + '/mnist.pt')\n"
            "print('found')\n")
    assert user["run"](user["py"], "-c", code).stdout.strip() == "found"


def test_nothing_written_inside_the_package(user):
    "After every command above (pytest keeps the file's order), the package is as installed."
    assert tree_digest(user["installed"]) == user["before"]
