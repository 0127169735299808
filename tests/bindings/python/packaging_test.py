"""Run by meson as its own test (python-package: a venv and a pip install take a while).

The package as a user installs it: `pip install ./bindings/python` offline in a fresh venv
(the in-tree, standard-library-only build backend), its metadata, type information, and how it
finds the library (and says so when it cannot)."""
import inspect
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import unittest
import zipfile

import openfault
from openfault import _native

ROOT = pathlib.Path(__file__).resolve().parents[3]
PKG = ROOT / "bindings" / "python"
sys.path.insert(0, str(PKG / "backend"))
import ofbuild  # noqa: E402  (the backend itself, for the checks that need no pip)

LIBRARY = os.environ["OPENFAULT_LIBRARY"]


def tree(path):
    """Every file under @p path except byte code (which Python may write anywhere)."""
    out = set()
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        out.update(os.path.relpath(os.path.join(dirpath, f), path) for f in filenames)
    return out


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "OPENFAULT_LIBRARY", "PIP_INDEX_URL", "PIP_FIND_LINKS")}
    env.update(PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_CACHE_DIR="1",
               PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


class PipInstallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="of-pyvenv-")
        cls.venv = os.path.join(cls.tmp.name, "venv")
        subprocess.run([sys.executable, "-m", "venv", cls.venv], check=True, timeout=120,
                       env=clean_env())
        cls.py = os.path.join(cls.venv, "bin", "python")
        cls.before = tree(PKG)
        cls.install = subprocess.run([cls.py, "-m", "pip", "install", "--no-index", str(PKG)],
                                     cwd=cls.tmp.name, timeout=300, env=clean_env(),
                                     capture_output=True, text=True)
        cls.after = tree(PKG)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def run_py(self, code, **env):
        return subprocess.run([self.py, "-c", code], cwd=self.tmp.name, timeout=120,
                              env=clean_env(**env), capture_output=True, text=True)

    def test_pip_install_offline_then_import(self):
        self.assertEqual(self.install.returncode, 0, self.install.stdout + self.install.stderr)
        self.assertEqual(self.after, self.before, "the build left files in the source tree")
        r = self.run_py(
            "import openfault, os, importlib.metadata as m\n"
            "print(os.path.dirname(openfault.__file__))\n"
            "print(m.version('openfault'))\n"
            "print(os.path.exists(os.path.join(os.path.dirname(openfault.__file__), 'py.typed')))\n"
            "r = openfault.Ring(['a', 'b'])\n"
            "p = openfault.LocalProvider()\n"
            "with p.lock('x', timeout=5, blocking_timeout=2) as lk:\n"
            "    print(lk.owned())\n"
            "p.close()\n",
            OPENFAULT_LIBRARY=LIBRARY)
        self.assertEqual(r.returncode, 0, r.stderr)
        where, version, typed, owned = r.stdout.split("\n")[:4]
        self.assertTrue(where.startswith(self.venv), where)
        self.assertEqual(version, ofbuild.project()["version"])
        self.assertEqual((typed, owned), ("True", "True"))

    def test_import_without_the_library_says_how_to_fix_it(self):
        self.assertEqual(self.install.returncode, 0, self.install.stderr)
        missing = os.path.join(self.tmp.name, "nowhere", "libopenfault.so.0")
        r = self.run_py("import openfault", OPENFAULT_LIBRARY=missing)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn(missing, r.stderr)
        self.assertIn("OPENFAULT_LIBRARY", r.stderr)
        self.assertNotIn("OSError", r.stderr.splitlines()[-1])


class BuildBackendTest(unittest.TestCase):
    def test_version_is_the_c_librarys(self):
        meson = (ROOT / "meson.build").read_text()
        m = re.search(r"project\([^)]*?version:\s*'([^']+)'", meson, re.S)
        self.assertEqual(ofbuild.project()["version"], m.group(1))
        self.assertEqual(openfault.version(), m.group(1))  # the library the tests run on

    def test_fallback_parser_agrees_with_tomllib(self):
        import tomllib
        text = (PKG / "pyproject.toml").read_text()
        want = {k: v for k, v in tomllib.loads(text)["project"].items() if isinstance(v, str)}
        self.assertEqual(ofbuild._parse_project_fallback(text), want)
        self.assertEqual(set(want), {"name", "version", "description", "requires-python",
                                     "license"})

    def test_wheel_and_sdist_contents(self):
        with tempfile.TemporaryDirectory() as d:
            name = ofbuild.build_wheel(d)
            self.assertEqual(name, "openfault-%s-py3-none-any.whl" % ofbuild.project()["version"])
            with zipfile.ZipFile(os.path.join(d, name)) as z:
                names = set(z.namelist())
                dist = [n for n in names if n.endswith(".dist-info/RECORD")][0].rsplit("/", 1)[0]
                record = z.read(dist + "/RECORD").decode().splitlines()
                self.assertIn("Name: openfault", z.read(dist + "/METADATA").decode())
                self.assertIn("Root-Is-Purelib: true", z.read(dist + "/WHEEL").decode())
            shipped = {p.name for p in (PKG / "openfault").iterdir()
                       if p.suffix == ".py" or p.name == "py.typed"}
            self.assertEqual({n.split("/", 1)[1] for n in names if n.startswith("openfault/")},
                             shipped)
            self.assertEqual(len(record), len(names))
            sdist = ofbuild.build_sdist(d)
            import tarfile
            with tarfile.open(os.path.join(d, sdist)) as t:
                members = {m.name.split("/", 1)[1] for m in t.getmembers()}
            self.assertTrue({"pyproject.toml", "backend/ofbuild.py", "PKG-INFO",
                             "openfault/py.typed", "openfault/_lock.py"} <= members, members)


class LibrarySearchTest(unittest.TestCase):
    def test_search_order_and_message(self):
        with tempfile.TemporaryDirectory() as d:
            empty = os.path.join(d, "empty")
            os.mkdir(empty)
            fake = "libopenfault-test-%d.so.0" % os.getpid()  # unknown to the loader
            with self.assertRaises(ImportError) as cm:
                _native.find_library(None, [empty], soname=fake)
            msg = str(cm.exception)
            self.assertIn(fake + " (the dynamic loader's search", msg)
            self.assertIn(os.path.join(empty, fake) + ": no such file", msg)
            self.assertIn("OPENFAULT_LIBRARY", msg)
            # found in one of the install directories, after the loader's search failed
            found = os.path.join(d, "lib")
            os.mkdir(found)
            os.symlink(os.path.realpath(LIBRARY), os.path.join(found, fake))
            lib, plib = _native.find_library(None, [empty, found], soname=fake)
            self.assertEqual(lib._name, os.path.join(found, fake))
            self.assertEqual(lib.of_version_number(), plib.of_version_number())
            # an explicit $OPENFAULT_LIBRARY is used alone: a bad one is an error
            not_a_lib = os.path.join(d, "not-a-library.so")
            pathlib.Path(not_a_lib).write_text("no ELF here")
            with self.assertRaises(ImportError) as cm:
                _native.find_library(not_a_lib, [found], soname=fake)
            self.assertIn("$OPENFAULT_LIBRARY=" + not_a_lib, str(cm.exception))
            self.assertNotIn(found, str(cm.exception))

    def test_soname_through_the_loader(self):
        # The soname is what an installed library (or LD_LIBRARY_PATH) provides.
        env = clean_env(LD_LIBRARY_PATH=os.path.dirname(os.path.realpath(LIBRARY)),
                        PYTHONPATH=str(PKG))
        r = subprocess.run([sys.executable, "-c",
                            "import openfault._native as n; print(n.lib._name)"],
                           env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), _native.SONAME)

    def test_default_dirs(self):
        dirs = _native.install_dirs()
        self.assertEqual(dirs[0], "/usr/local/lib")
        for d in ("/usr/local/lib64", "/usr/lib64"):
            self.assertIn(d, dirs)
        import sysconfig
        arch = sysconfig.get_config_var("MULTIARCH")
        if arch:
            self.assertIn("/usr/local/lib/" + arch, dirs)
            self.assertIn("/usr/lib/" + arch, dirs)


class TypeHintsTest(unittest.TestCase):
    """py.typed promises annotations: every public function and method has them."""

    def test_public_api_is_annotated(self):
        missing = []
        for name in openfault.__all__:
            obj = getattr(openfault, name)
            targets = []
            if inspect.isfunction(obj):
                targets.append((name, obj))
            elif inspect.isclass(obj) and not issubclass(obj, BaseException):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr not in ("__init__", "__enter__",
                                                             "__exit__"):
                        continue
                    if isinstance(member, property):
                        member = member.fget
                    if inspect.isfunction(member):
                        targets.append(("%s.%s" % (name, attr), member))
            for label, fn in targets:
                sig = inspect.signature(fn)
                params = [p for p in sig.parameters.values() if p.name not in ("self", "cls")]
                if "return" not in fn.__annotations__ or any(
                        p.annotation is inspect.Parameter.empty for p in params):
                    missing.append(label)
        self.assertEqual(missing, [])
        self.assertTrue((PKG / "openfault" / "py.typed").exists())


class ExceptionFamilyTest(unittest.TestCase):
    """Every error the binding raises is an openfault.Error; misuse is also the builtin the
    standard library would raise; TimeoutError is also the builtin."""

    def assert_family(self, fn, *builtin):
        with self.assertRaises(openfault.Error) as cm:
            fn()
        for b in builtin:
            self.assertIsInstance(cm.exception, b)
        return cm.exception

    def test_misuse_raises_openfault_errors(self):
        p = openfault.LocalProvider()
        ring = openfault.Ring(["a"])
        ix = openfault.Index([1, 2, 3])
        cases = [
            (lambda: p.lock("x", ttl=0), ValueError),
            (lambda: p.lock("x", ttl="10"), TypeError),
            (lambda: p.lock("x", wait=-1), ValueError),
            (lambda: p.lock("x", ttl=float("inf")), ValueError),
            (lambda: p.lock(42), TypeError),
            (lambda: p.lock("\udc80"), ValueError),
            (lambda: p.lock("x").release(), ValueError),
            (lambda: p.lock("x").fence, ValueError),
            (lambda: p.lock("x").acquire(sleep=-1), ValueError),
            (lambda: ring.add_node("b", weight="1"), TypeError),
            (lambda: ring.add_node("b", weight=0), ValueError),
            (lambda: ring.get_n("k", 0), ValueError),
            (lambda: ring.get_hash(-1), OverflowError),
            (lambda: openfault.Ring(vnodes="x"), TypeError),
            (lambda: openfault.Ring(seed=-1), OverflowError),
            (lambda: openfault.hash64(b"x", seed=2 ** 64), OverflowError),
            (lambda: ix.insert_left(-1), OverflowError),
            (lambda: ix.insert_left("1"), TypeError),
            (lambda: ix[10], IndexError),
            (lambda: ix["a"], TypeError),
            (lambda: ix.pop(7), IndexError),
            (lambda: ix.remove(99), KeyError),
            (lambda: openfault.Index([1], [1, 2]), ValueError),
            (lambda: openfault.FrozenIndex(), TypeError),
            (lambda: openfault.insort_left(ix, 2.5), TypeError),
            (lambda: ring.remove_node("zz"), KeyError),
        ]
        try:
            for fn, builtin in cases:
                with self.subTest(fn=inspect.getsource(fn).strip()):
                    self.assert_family(fn, builtin)
            p.close()
            self.assert_family(lambda: p.lock("x").acquire(), ValueError)
            ring.close()
            self.assert_family(lambda: ring.get("k"), ValueError)
        finally:
            p.close()
            ring.close()

    def test_status_errors_and_builtins(self):
        p = openfault.LocalProvider()
        try:
            held = p.acquire("t", ttl=30)
            e = self.assert_family(lambda: p.acquire("t", wait=0.05), TimeoutError,
                                   openfault.LockError)
            self.assertIsInstance(e, openfault.TimeoutError)
            self.assertEqual((e.status, e.name, e.lock_name), (-8, "OF_ERR_TIMEOUT", "t"))
            self.assertIn("OF_ERR_TIMEOUT", str(e))
            self.assert_family(lambda: p.acquire("t", wait=0), openfault.BusyError,
                               openfault.LockError)
            held.release()
        finally:
            p.close()
        self.assertTrue(issubclass(openfault.InvalidError, ValueError))
        self.assertTrue(issubclass(openfault.NotFoundError, KeyError))
        for name in ("Error", "LockError", "TimeoutError", "InvalidError"):
            self.assertEqual(getattr(openfault, name).__module__, "openfault")
        # constructed with only a status, as code that raises them may do
        e = openfault.NotOwnerError(-9)
        self.assertEqual(e.name, "OF_ERR_NOT_OWNER")


if __name__ == "__main__":
    unittest.main()
