"""Open pages in headless Chromium and report what a reader would see: a screenshot, the page's
text, console errors, uncaught exceptions and failed loads.

Talks the DevTools protocol over `--remote-debugging-pipe` (file descriptors 3 and 4), so it needs
no pip package and no port. Install the browser with `bash tools/setup-chromium.sh`.

    .venv/bin/python tools/browse.py _site/index.html --out shot.png
"""
from __future__ import annotations
import argparse, base64, json, os, select, shutil, subprocess, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = os.environ.get("EAD_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
         "--remote-debugging-pipe"]
# The docs are read offline here: every host name fails at once (no hanging on a CDN), while
# file:// pages load as usual. Pass offline=False to let the browser use the network.
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND"]
# How the page's MathML is laid out: formulas drawn (a box of some size), subscripts set below their
# base and fractions stacked; where a browser did not typeset MathML, scripts sit on the baseline.
MATH_PROBE = """(() => {
  const box = e => e.getBoundingClientRect();
  const ms = Array.from(document.querySelectorAll('math'));
  const subs = Array.from(document.querySelectorAll('msub, msubsup')).filter(e => e.children.length > 1);
  const fracs = Array.from(document.querySelectorAll('mfrac')).filter(e => e.children.length > 1);
  const lowered = e => box(e.children[1]).bottom > box(e.children[0]).bottom + 0.5;
  const stacked = e => box(e.children[1]).top >= box(e.children[0]).bottom - 0.5;
  return {count: ms.length, drawn: ms.filter(m => box(m).width > 0 && box(m).height > 0).length,
          subscripts: subs.length, lowered: subs.filter(lowered).length,
          fractions: fracs.length, stacked: fracs.filter(stacked).length};
})()"""
# The page's prose as a reader sees it: body text outside code blocks, code spans and formulas.
PROSE = """(() => { const b = document.body.cloneNode(true);
  b.querySelectorAll('pre, code:not(.math-error), script, style, math').forEach(e => e.remove());
  return b.textContent; })()"""


def find_chromium() -> str | None:
    "Path of the Chromium binary, or None when it is not installed."
    for c in (CHROMIUM, shutil.which("chromium") or "", shutil.which("chromium-browser") or ""):
        if c and os.access(c, os.X_OK): return c
    return None


@dataclass
class PageReport:
    "What one page showed: its text, the screenshot (PNG bytes) and the problems the browser saw."
    url: str
    title: str = ""
    text: str = ""
    png: bytes = b""
    errors: list = field(default_factory=list)    # console errors, exceptions, failed local loads
    ignored: list = field(default_factory=list)   # failed loads of remote resources (fonts, a CDN)
    images_broken: list = field(default_factory=list)  # <img> elements that did not decode
    prose: str = ""  # body text outside code and formulas (PROSE)
    math: dict = field(default_factory=dict)  # how its MathML is laid out (MATH_PROBE)

    def __repr__(self):
        return (f"PageReport({self.url!r}, title={self.title!r}, {len(self.text)} chars of text, "
                f"{len(self.png)} bytes of PNG, maths {self.math or 'none'}, {len(self.errors)} errors, {len(self.ignored)} ignored)")


class Browser:
    "A headless Chromium driven over the DevTools pipe; use as a context manager."
    def __init__(self, width=1280, height=800, offline=True, timeout=30.0):
        self.width, self.height, self.offline, self.timeout = width, height, offline, timeout
        self._id, self._buf, self._events = 0, b"", []

    def __enter__(self):
        exe = find_chromium()
        if exe is None: raise FileNotFoundError("Chromium not found: run `bash tools/setup-chromium.sh`")
        self._profile = tempfile.mkdtemp(prefix="ead-chromium-")
        r_in, self._w = os.pipe()      # we write commands -> chromium reads fd 3
        self._r, w_out = os.pipe()     # chromium writes fd 4 -> we read
        def _fds():                    # in the child: put the pipe ends at fds 3 and 4
            a, b = os.dup(r_in) + 100, os.dup(w_out) + 100  # move out of the way first
            os.dup2(r_in, a); os.dup2(w_out, b); os.dup2(a, 3); os.dup2(b, 4)
        args = [exe, *FLAGS, *(OFFLINE if self.offline else []), f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}", "about:blank"]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, preexec_fn=_fds, pass_fds=(3, 4))
        os.close(r_in); os.close(w_out)
        return self

    def __exit__(self, *exc):
        try: self._send("Browser.close")
        except Exception: pass
        try: self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill(); self._proc.wait()
        for fd in (self._w, self._r):
            try: os.close(fd)
            except OSError: pass
        shutil.rmtree(self._profile, ignore_errors=True)

    # -- the protocol: JSON messages separated by NUL bytes
    def _read_msg(self, deadline):
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0: raise TimeoutError("Chromium did not answer in time")
            ready, _, _ = select.select([self._r], [], [], left)
            if not ready: continue
            chunk = os.read(self._r, 1 << 20)
            if not chunk: raise RuntimeError("Chromium closed the DevTools pipe (did it crash?)")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def _send(self, method, params=None, session=None):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session: msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._id

    def call(self, method, params=None, session=None):
        "Send one command and wait for its answer; events that arrive meanwhile are kept."
        i = self._send(method, params, session)
        deadline = time.monotonic() + self.timeout
        while True:
            m = self._read_msg(deadline)
            if m.get("id") == i:
                if "error" in m: raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self._events.append(m)

    def _pump(self, seconds):
        "Collect events for `seconds`."
        deadline = time.monotonic() + seconds
        while True:
            try: self._events.append(self._read_msg(deadline))
            except TimeoutError: return

    def _wait_event(self, method, session, seconds):
        deadline = time.monotonic() + seconds
        while True:
            for m in self._events:
                if m.get("method") == method and m.get("sessionId") == session: return m
            try: self._events.append(self._read_msg(deadline))
            except TimeoutError: return None

    def open(self, url: str, settle: float = 1.0, full_page=False, wait_js: str | None = None,
             wait_s: float = 20.0) -> PageReport:
        "Load `url` in a fresh tab, let it settle (until `wait_js` is true), and report text, screenshot and errors."
        if "://" not in url: url = Path(url).resolve().as_uri()
        tid = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = self.call("Target.attachToTarget", {"targetId": tid, "flatten": True})["sessionId"]
        self._events = []
        for dom in ("Page", "Runtime", "Log", "Network"): self.call(f"{dom}.enable", {}, s)
        self.call("Emulation.setDeviceMetricsOverride", {"width": self.width, "height": self.height,
                  "deviceScaleFactor": 1, "mobile": False}, s)
        self.call("Page.navigate", {"url": url}, s)
        if self._wait_event("Page.loadEventFired", s, self.timeout) is None:
            raise TimeoutError(f"{url} did not finish loading in {self.timeout}s")
        self._pump(settle)
        rep = PageReport(url)
        ev = lambda js: self.call("Runtime.evaluate", {"expression": js, "returnByValue": True}, s)["result"].get("value")
        t_end = time.monotonic() + wait_s
        while wait_js and not ev(wait_js) and time.monotonic() < t_end: self._pump(0.2)
        rep.math = ev(MATH_PROBE) or {}
        rep.prose = ev(PROSE) or ""
        rep.title = ev("document.title") or ""
        rep.text = ev("document.body ? document.body.innerText : ''") or ""
        rep.images_broken = ev("Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0))"
                               ".map(i => i.getAttribute('src').slice(0, 120))") or []
        shot = {"format": "png"}
        if full_page:
            h = ev("Math.min(document.documentElement.scrollHeight, 8000)") or self.height
            shot["clip"] = {"x": 0, "y": 0, "width": self.width, "height": h, "scale": 1}
            shot["captureBeyondViewport"] = True
        rep.png = base64.b64decode(self.call("Page.captureScreenshot", shot, s)["data"])
        self._pump(0.05)
        failed_req = {}
        for m in self._events:
            if m.get("sessionId") != s: continue
            meth, p = m.get("method"), m.get("params", {})
            if meth == "Network.requestWillBeSent": failed_req[p["requestId"]] = p["request"]["url"]
            elif meth == "Network.loadingFailed":
                u = failed_req.get(p["requestId"], "?")
                (rep.errors if u.startswith("file:") else rep.ignored).append(f"load failed: {u} ({p.get('errorText')})")
            elif meth == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                rep.errors.append("exception: " + (d.get("exception", {}).get("description") or d.get("text", "")))
            elif meth == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                rep.errors.append("console.error: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif meth == "Log.entryAdded" and p["entry"].get("level") == "error":
                e = p["entry"]; u = e.get("url", "")
                # a remote resource failing offline (a CDN, web fonts) is not a page error
                (rep.ignored if e.get("source") == "network" and u and not u.startswith("file:") else rep.errors
                 ).append(f"{e.get('source')}: {e.get('text')} {u}".strip())
        self.call("Target.closeTarget", {"targetId": tid})
        return rep


def blank_fraction(png: bytes) -> float:
    "Share of the screenshot's pixels that have the most common colour (1.0 = a blank page)."
    from PIL import Image
    import io
    im = Image.open(io.BytesIO(png)).convert("RGB").resize((320, 200))
    counts = im.getcolors(320 * 200)
    return max(c for c, _ in counts) / (320 * 200)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", help="HTML files or URLs")
    ap.add_argument("--out", help="screenshot of the first page (PNG)")
    ap.add_argument("--online", action="store_true", help="let the browser reach the network")
    ap.add_argument("--width", type=int, default=1280); ap.add_argument("--height", type=int, default=800)
    a = ap.parse_args(argv)
    bad = 0
    with Browser(a.width, a.height, offline=not a.online) as b:
        for i, p in enumerate(a.pages):
            r = b.open(p, settle=3.0 if a.online else 1.0)
            print(r, f"blank={blank_fraction(r.png):.2f}")
            for e in r.errors: print("  ERROR", e)
            for e in r.ignored: print("  ignored", e)
            bad += bool(r.errors)
            if i == 0 and a.out: Path(a.out).write_bytes(r.png)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
