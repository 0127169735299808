"""A PEP 517 / PEP 660 build backend written with the standard library only.

The openfault package is pure Python (it loads the C library at import), so a wheel is a zip of
openfault/ plus the metadata files of the wheel format (PEP 427, core metadata 2.1). Using
nothing but the standard library lets `pip install ./bindings/python` work offline in a fresh
venv: pip's isolated build environment needs no setuptools download.
"""
import base64
import hashlib
import io
import os
import re
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "openfault"
# Files shipped from the package directory.
SHIPPED = re.compile(r".*\.(py|pyi)$|^py\.typed$")
TAG = "py3-none-any"


def _parse_project_fallback(text):
    """The [project] table's `key = "string"` entries, for a Python without tomllib (3.10):
    the subset pyproject.toml here is written in."""
    out, section = {}, None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^\[([^\]]+)\]$", line)
        if m:
            section = m.group(1).strip()
            continue
        if section != "project":
            continue
        m = re.match(r'^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(#.*)?$', line)
        if m:
            out[m.group(1)] = m.group(2).encode().decode("unicode_escape")
    return out


def project(root=ROOT):
    """The [project] table of pyproject.toml (name, version, description, ...)."""
    with open(os.path.join(root, "pyproject.toml"), "rb") as f:
        data = f.read()
    try:
        import tomllib
    except ImportError:
        return _parse_project_fallback(data.decode("utf-8"))
    return tomllib.loads(data.decode("utf-8"))["project"]


def _meta(root=ROOT):
    p = project(root)
    name, version = p["name"], p["version"]
    lines = ["Metadata-Version: 2.1", "Name: " + name, "Version: " + version]
    if p.get("description"):
        lines.append("Summary: " + p["description"])
    if p.get("requires-python"):
        lines.append("Requires-Python: " + p["requires-python"])
    lic = p.get("license")
    if isinstance(lic, dict):
        lic = lic.get("text")
    if lic:
        lines.append("License: " + lic)
    return name, version, "\n".join(lines) + "\n"


def _dist_info(name, version):
    return "%s-%s.dist-info" % (name.replace("-", "_"), version)


def _package_files(root=ROOT):
    """(path in the wheel, path on disk) of every shipped file, sorted."""
    out = []
    base = os.path.join(root, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if SHIPPED.match(fn):
                full = os.path.join(dirpath, fn)
                out.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
    return out


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (arcname, digest, len(data))


def _date_time():
    # Reproducible when SOURCE_DATE_EPOCH is set (zip times start in 1980).
    t = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    return time.gmtime(max(t, 315532800))[:6]


def _write_wheel(wheel_directory, entries, name, version, metadata):
    """entries: [(arcname, bytes)]. Returns the wheel's file name."""
    dist = _dist_info(name, version)
    entries = list(entries) + [
        (dist + "/METADATA", metadata.encode()),
        (dist + "/WHEEL", ("Wheel-Version: 1.0\nGenerator: ofbuild\nRoot-Is-Purelib: true\n"
                           "Tag: %s\n" % TAG).encode()),
    ]
    record = "".join(_record_line(a, d) + "\n" for a, d in entries) + dist + "/RECORD,,\n"
    entries.append((dist + "/RECORD", record.encode()))
    filename = "%s-%s-%s.whl" % (name.replace("-", "_"), version, TAG)
    when = _date_time()
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w",
                         zipfile.ZIP_DEFLATED) as z:
        for arcname, data in entries:
            info = zipfile.ZipInfo(arcname, when)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return filename


def _read(path):
    with open(path, "rb") as f:
        return f.read()


# -- PEP 517 hooks ---------------------------------------------------------------------------
def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    name, version, metadata = _meta()
    dist = _dist_info(name, version)
    os.makedirs(os.path.join(metadata_directory, dist), exist_ok=True)
    with open(os.path.join(metadata_directory, dist, "METADATA"), "w", encoding="utf-8") as f:
        f.write(metadata)
    return dist


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version, metadata = _meta()
    entries = [(arc, _read(full)) for arc, full in _package_files()]
    return _write_wheel(wheel_directory, entries, name, version, metadata)


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel whose .pth file puts this source directory on sys.path."""
    name, version, metadata = _meta()
    entries = [("_%s_editable.pth" % name, (ROOT + "\n").encode())]
    return _write_wheel(wheel_directory, entries, name, version, metadata)


def build_sdist(sdist_directory, config_settings=None):
    name, version, metadata = _meta()
    base = "%s-%s" % (name, version)
    filename = base + ".tar.gz"
    files = [("pyproject.toml", os.path.join(ROOT, "pyproject.toml")),
             ("backend/ofbuild.py", os.path.abspath(__file__))] + _package_files()
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    path = os.path.join(sdist_directory, filename)
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as t:
        def add(arcname, data):
            info = tarfile.TarInfo(base + "/" + arcname)
            info.size, info.mtime, info.mode = len(data), mtime, 0o644
            t.addfile(info, io.BytesIO(data))
        add("PKG-INFO", metadata.encode())
        for arc, full in files:
            add(arc, _read(full))
    return filename
