#!/usr/bin/env python3
"""Run every code snippet in README.md, docs/*.md and bindings/*/README.md against the build tree.

A fenced block is handled by its info string and by an optional HTML comment on the line before
its opening fence (invisible when the Markdown is rendered):

  ```c        with `main(`: a complete program. Compiled with -std=c11 -Wall -Wextra -Werror
              against the build's library and headers, then run; it must exit 0.
  ```c        without `main(`: must follow `<!-- excerpt: PATH -->`, and its lines must appear in
              PATH (a file of this repository that is itself built and tested) as one contiguous
              run; a line `/* ... */` or `...` in the snippet stands for lines left out.
  ```python   run, with every `expr  # -> value` answer checked, by the ffi suite's
              tests/bindings/python/test_doc_snippets.py: here the document must be on that
              test's DOCS list (or the block an excerpt).
  ```js       the same, by bindings/node/test/doc-snippets.test.js (`// -> value` answers).
  ```sh       after `<!-- snippet: run -->`: run with bash in the document's work directory (see
              below) with the build's tools on PATH and pkg-config finding the uninstalled
              library; the script must exit 0. Whole lines `# text` after the commands list
              expected output: each must appear in stdout, in order. Otherwise a sh block must
              follow `<!-- snippet: not run: WHY -->`.
  ```console  lines `$ command` run in the work directory; the lines after each, up to the next
              `$`, are its exact expected stdout, and it must exit 0.
`<!-- snippet: file NAME -->` before any block also writes its body to NAME in the work
directory, for the blocks after it. Each document gets its own work directory, laid out like a
checkout (symlinks to the source tree's top-level entries, `build` to the build tree), so
commands written for the repository root (`build/examples/demo`, `$PWD/bindings/python`) run
as written, and files they create stay in the temporary directory.
  ``` (none)  text (synopses, tables of output): not run.

Usage: check-snippets.py SOURCE_ROOT BUILD_ROOT [FILE.md ...]
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^(\s*)```\s*([A-Za-z0-9_+-]*)\s*$")
MARK = re.compile(r"^<!--\s*(excerpt|snippet):\s*(.*?)\s*-->\s*$")
GAP = {"/* ... */", "..."}


def blocks(path):
    """Yield (first line number, info string, marker or None, body lines)."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, info, start = m.group(1), m.group(2), i + 1
        j = i - 1
        while j >= 0 and not lines[j].strip():
            j -= 1
        mark = MARK.match(lines[j]) if j >= 0 else None
        body = []
        i += 1
        while i < len(lines) and not lines[i].strip().startswith("```"):
            # A fence inside a list item is indented: the body is, by the same amount.
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        if i == len(lines):
            raise SystemExit(f"{path}:{start}: unterminated code fence")
        yield start, info, (mark.group(1), mark.group(2)) if mark else None, body
        i += 1


class Checker:
    def __init__(self, src, build):
        self.src, self.build = os.path.abspath(src), os.path.abspath(build)
        self.failures, self.counts = [], {}
        self.tmp = tempfile.mkdtemp(prefix="of-snippets-")
        # Shell snippets run against an installation, as a user's would: the build is installed
        # into a temporary root, pkg-config looks there (through its sysroot), and the installed
        # programs come first on PATH.
        dest = os.path.join(self.tmp, "root")
        r = subprocess.run(["meson", "install", "-C", self.build, "--no-rebuild", "--quiet", "--destdir", dest],
                           capture_output=True, text=True)
        if r.returncode:
            raise SystemExit("meson install into a temporary root failed:\n" + r.stdout + r.stderr)
        pcs = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs if f == "openfault.pc"]
        libs = [d for d, _, fs in os.walk(dest) for f in fs if f.startswith("libopenfault.so")]
        bins = [d for d, _, fs in os.walk(dest) for f in fs if f == "oflock"]
        if not pcs or not libs:
            raise SystemExit("no openfault.pc or libopenfault.so in the temporary installation")
        self.env = dict(os.environ)
        self.env.update({
            "PATH": os.pathsep.join(bins[:1] + [os.path.join(self.build, "tools"), os.path.join(self.build, "examples"),
                                                self.env.get("PATH", "/usr/bin:/bin")]),
            "PKG_CONFIG_PATH": os.path.dirname(pcs[0]),
            "PKG_CONFIG_SYSROOT_DIR": dest,
            "PYTHONPATH": os.path.join(self.src, "bindings", "python"),
            "OPENFAULT_LIBRARY": os.path.join(self.build, "libopenfault.so"),
            "LD_LIBRARY_PATH": libs[0],
        })

    def fail(self, where, msg):
        self.failures.append(f"{where}: {msg}")

    def count(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def run(self, argv, where, **kw):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=240, env=self.env, **kw)
        except subprocess.TimeoutExpired:
            self.fail(where, f"timed out: {' '.join(argv)}")
            return None

    def excerpt(self, where, target, body):
        path = os.path.join(self.src, target)
        if not os.path.isfile(path):
            return self.fail(where, f"excerpt of a missing file {target}")
        have = [l.rstrip() for l in open(path, encoding="utf-8").read().split("\n")]
        pos = 0
        runs, run = [], []
        for l in body:
            if l.strip() in GAP:
                runs.append(run)
                run = []
            else:
                run.append(l.rstrip())
        runs.append(run)
        for run in runs:
            while run and not run[0]:
                run.pop(0)
            if not run:
                continue
            found = next((k for k in range(pos, len(have) - len(run) + 1) if have[k:k + len(run)] == run), None)
            if found is None:
                return self.fail(where, f"not an excerpt of {target} (from line {pos + 1}): {run[0]!r} ...")
            pos = found + len(run)
        self.count("excerpt")

    def c_program(self, where, body):
        d = tempfile.mkdtemp(dir=self.tmp)
        src, exe = os.path.join(d, "snippet.c"), os.path.join(d, "snippet")
        open(src, "w").write("\n".join(body) + "\n")
        cc = os.environ.get("CC", "cc")
        argv = [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", os.path.join(self.src, "include"),
                "-I", os.path.join(self.build, "include"), src, "-o", exe, "-L", self.build, "-lopenfault",
                "-Wl,-rpath," + self.build, "-pthread"]
        r = self.run(argv, where)
        if r is None:
            return
        if r.returncode:
            return self.fail(where, "does not compile:\n" + r.stderr)
        r = self.run([exe], where, cwd=d)
        if r is not None and r.returncode:
            self.fail(where, f"exited {r.returncode}:\n{r.stdout}{r.stderr}")
        self.count("c program")

    def in_binding_test(self, where, rel, lang, test):
        # One checker per language: the binding's own doc test, which runs the blocks in the ffi
        # suite with the interpreter set up as the other binding tests are.
        listed = re.search(r"^(?:const )?DOCS = [\[(](.*?)[\])]", open(os.path.join(self.src, test), encoding="utf-8").read(),
                           re.M | re.S)
        if not listed or not re.search(r"""["']%s["']""" % re.escape(rel), listed.group(1)):
            return self.fail(where, f"a ```{lang} block in {rel}, which {test} does not run")
        self.count(f"{lang} (in the ffi suite)")

    def shell(self, where, body):
        script, expected = [], []
        for l in body:
            s = l.strip()
            if s.startswith("# ") and script:
                expected.append(s[2:])
            elif not expected:
                script.append(l)
        r = self.run(["bash", "-o", "pipefail", "-c", "\n".join(script)], where, cwd=self.workdir)
        if r is None:
            return
        if r.returncode:
            return self.fail(where, f"exited {r.returncode}:\n{r.stdout}{r.stderr}")
        out = r.stdout.split("\n")
        k = 0
        for e in expected:
            while k < len(out) and out[k].rstrip() != e:
                k += 1
            if k == len(out):
                return self.fail(where, f"expected output line {e!r} not found (in order) in:\n{r.stdout}")
            k += 1
        self.count("sh")

    def console(self, where, body):
        cwd = self.workdir
        cmds = []
        for l in body:
            if l.startswith("$ "):
                cmds.append((l[2:], []))
            elif cmds:
                cmds[-1][1].append(l)
            elif l.strip():
                return self.fail(where, "console block must start with a `$ ` line")
        for cmd, want in cmds:
            r = self.run(["bash", "-o", "pipefail", "-c", cmd], where, cwd=cwd)
            if r is None:
                return
            while want and not want[-1].strip():
                want.pop()
            got = r.stdout.rstrip("\n").split("\n") if r.stdout else []
            if r.returncode or got != want:
                return self.fail(where, f"`{cmd}` exited {r.returncode}; expected:\n" + "\n".join(want) +
                                 "\ngot:\n" + r.stdout + r.stderr)
        self.count("console")

    def new_workdir(self):
        self.workdir = tempfile.mkdtemp(dir=self.tmp)
        for entry in os.listdir(self.src):
            if entry not in (".git", "build") and not entry.startswith("build-"):
                os.symlink(os.path.join(self.src, entry), os.path.join(self.workdir, entry))
        os.symlink(self.build, os.path.join(self.workdir, "build"))

    def check(self, md):
        rel = os.path.relpath(md, self.src)
        self.new_workdir()
        for line, info, mark, body in blocks(md):
            where = f"{rel}:{line}"
            if mark and mark[0] == "snippet" and mark[1].startswith("file "):
                with open(os.path.join(self.workdir, mark[1][5:].strip()), "w") as f:
                    f.write("\n".join(body) + "\n")
                mark = None
            if mark and mark[0] == "snippet" and mark[1].startswith("not run:"):
                if len(mark[1]) <= len("not run:") + 3:
                    self.fail(where, "a `not run:` marker needs its reason")
                self.count("not run")
                print(f"{where}: not run ({mark[1][8:].strip()})")
                continue
            if mark and mark[0] == "excerpt":
                self.excerpt(where, mark[1], body)
            elif info == "c":
                if any("main(" in l for l in body):
                    self.c_program(where, body)
                else:
                    self.fail(where, "a C fragment must be a complete program or an <!-- excerpt: FILE -->")
            elif info == "python":
                self.in_binding_test(where, rel, "python", "tests/bindings/python/test_doc_snippets.py")
            elif info == "js":
                self.in_binding_test(where, rel, "js", "bindings/node/test/doc-snippets.test.js")
            elif info in ("sh", "bash", "shell"):
                if mark == ("snippet", "run"):
                    self.shell(where, body)
                else:
                    self.fail(where, "a sh block needs <!-- snippet: run --> or <!-- snippet: not run: WHY -->")
            elif info == "console":
                self.console(where, body)
            elif info in ("", "text", "meson", "ini", "cmake"):
                if any(l.startswith("$ ") for l in body):
                    self.fail(where, "a transcript with `$ ` lines belongs in a ```console block")
                self.count("text")
            else:
                self.fail(where, f"unknown snippet language {info!r}")


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    src, build = sys.argv[1], sys.argv[2]
    bindings = os.path.join(src, "bindings")
    files = sys.argv[3:] or [os.path.join(src, "README.md")] + sorted(
        os.path.join(src, "docs", f) for f in os.listdir(os.path.join(src, "docs")) if f.endswith(".md")) + sorted(
        os.path.join(bindings, d, "README.md") for d in os.listdir(bindings)
        if os.path.isfile(os.path.join(bindings, d, "README.md")))
    c = Checker(src, build)
    try:
        for f in files:
            c.check(f)
    finally:
        shutil.rmtree(c.tmp, ignore_errors=True)
    print("checked:", ", ".join(f"{n} {k}" for k, n in sorted(c.counts.items())))
    for f in c.failures:
        print("FAIL", f, file=sys.stderr)
    return 1 if c.failures else 0


if __name__ == "__main__":
    sys.exit(main())
