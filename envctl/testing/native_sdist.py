"""Tiny native sdists, written on the fly, for testing native builds without the network.

``tinyext-0.1.tar.gz`` builds ``libtinymath.so.1`` (C) and links the C extension
``tinyext._tiny`` against it with an absolute RUNPATH into its build directory, so
``auditwheel repair`` must vendor the library. ``tinyextcpp-0.1.tar.gz`` is the same with a C++
extension (``std::vector``, ``std::string``, exceptions), which makes zig build its libc++ too
(a minute more on a cold zig cache). Each carries its own PEP 517 backend (``backend-path``)
with no build requirements, so pip's build isolation installs nothing and needs no index. The
backend honours ``CC``, ``CXX``, ``SOURCE_DATE_EPOCH``, ``_PYTHON_HOST_PLATFORM`` and
``SETUPTOOLS_EXT_SUFFIX`` like setuptools does. ``describe(3)`` returns ``"0;1;2;5"`` and a
negative argument raises ``ValueError``.
"""

from __future__ import annotations

from pathlib import Path

from envctl.testing.wheels import tar_gz_bytes

NAME = "tinyext"
CXX_NAME = "tinyextcpp"
VERSION = "0.1"

_PYPROJECT = """\
[build-system]
requires = []
build-backend = "tiny_backend"
backend-path = ["."]
"""

_TINYMATH_C = """\
#include "tinymath.h"
#include <math.h>
double tiny_hypot(double a, double b) { return sqrt(a * a + b * b); }
"""

_TINYMATH_H = "double tiny_hypot(double a, double b);\n"

_EXTENSION_CPP = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>
extern "C" {
#include "tinymath.h"
}

static std::string describe(long n) {
    if (n < 0) throw std::invalid_argument("n must not be negative");
    std::vector<std::string> parts;
    for (long i = 0; i < n; ++i) parts.push_back(std::to_string(i));
    std::ostringstream out;
    for (const auto &part : parts) out << part << ';';
    out << tiny_hypot(3.0, 4.0);
    return out.str();
}

static PyObject *py_describe(PyObject *self, PyObject *args) {
    long n;
    if (!PyArg_ParseTuple(args, "l", &n)) return NULL;
    try {
        std::string text = describe(n);
        return PyUnicode_FromStringAndSize(text.data(), (Py_ssize_t)text.size());
    } catch (const std::exception &exc) {
        PyErr_SetString(PyExc_ValueError, exc.what());
        return NULL;
    }
}

static PyMethodDef methods[] = {
    {"describe", py_describe, METH_VARARGS, "0;1;...;n-1; then hypot(3, 4)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tiny", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tiny(void) { return PyModule_Create(&module); }
"""

_EXTENSION_C = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>
#include "tinymath.h"

static PyObject *py_describe(PyObject *self, PyObject *args) {
    long n, i;
    char text[256] = "";
    size_t used = 0;
    if (!PyArg_ParseTuple(args, "l", &n)) return NULL;
    if (n < 0 || n > 20) {
        PyErr_SetString(PyExc_ValueError, "n must be between 0 and 20");
        return NULL;
    }
    for (i = 0; i < n; ++i) used += snprintf(text + used, sizeof text - used, "%ld;", i);
    snprintf(text + used, sizeof text - used, "%g", tiny_hypot(3.0, 4.0));
    return PyUnicode_FromString(text);
}

static PyMethodDef methods[] = {
    {"describe", py_describe, METH_VARARGS, "0;1;...;n-1; then hypot(3, 4)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_tiny", NULL, -1, methods};

PyMODINIT_FUNC PyInit__tiny(void) { return PyModule_Create(&module); }
"""

_BACKEND = '''\
"""In-tree PEP 517 backend for @NAME@: cc/c++ from the environment, stdlib only."""
import base64
import hashlib
import os
import shlex
import subprocess
import sys
import sysconfig
import time
import zipfile

NAME, VERSION, LANGUAGE = "@NAME@", "@VERSION@", "@LANGUAGE@"


def _run(command):
    print(" ".join(command), flush=True)
    subprocess.check_call(command)


def _tags():
    python = "cp%d%d" % sys.version_info[:2]
    abi = python + ("m" if sys.version_info < (3, 8) else "")
    platform = os.environ.get("_PYTHON_HOST_PLATFORM") or sysconfig.get_platform()
    return python, abi, platform.replace("-", "_").replace(".", "_")


def _metadata():
    return "Metadata-Version: 2.1\\nName: %s\\nVersion: %s\\n" % (NAME, VERSION)


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = "%s-%s.dist-info" % (NAME, VERSION)
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as handle:
        handle.write(_metadata())
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    cc = shlex.split(os.environ.get("CC", "cc"))
    cxx = shlex.split(os.environ.get("CXX", "c++"))
    build = os.path.abspath("build")
    lib_dir = os.path.join(build, "lib")
    os.makedirs(lib_dir, exist_ok=True)
    lib = os.path.join(lib_dir, "libtinymath.so.1")
    _run(cc + ["-shared", "-fPIC", "-O2", "-Wl,-soname,libtinymath.so.1", "src/tinymath.c",
               "-lm", "-o", lib])
    link = os.path.join(lib_dir, "libtinymath.so")
    if not os.path.lexists(link):
        os.symlink("libtinymath.so.1", link)
    suffix = os.environ.get("SETUPTOOLS_EXT_SUFFIX") or sysconfig.get_config_var("EXT_SUFFIX")
    ext = os.path.join(build, "_tiny" + suffix)
    compiler = cxx + ["-std=c++17"] if LANGUAGE == "c++" else cc
    source = "src/_tiny.cpp" if LANGUAGE == "c++" else "src/_tiny.c"
    _run(compiler + ["-shared", "-fPIC", "-O2", "-Isrc",
                "-I" + sysconfig.get_paths()["include"], source, "-L" + lib_dir,
                "-ltinymath", "-Wl,-rpath," + lib_dir, "-o", ext])
    python, abi, platform = _tags()
    name = "%s-%s-%s-%s-%s.whl" % (NAME, VERSION, python, abi, platform)
    dist_info = "%s-%s.dist-info" % (NAME, VERSION)
    wheel_text = ("Wheel-Version: 1.0\\nGenerator: tiny_backend\\nRoot-Is-Purelib: false\\n"
                  "Tag: %s-%s-%s\\n" % (python, abi, platform))
    with open(NAME + "/__init__.py", "rb") as handle:
        init = handle.read()
    with open(ext, "rb") as handle:
        ext_bytes = handle.read()
    files = [
        (NAME + "/__init__.py", init),
        (NAME + "/_tiny" + suffix, ext_bytes),
        (dist_info + "/METADATA", _metadata().encode()),
        (dist_info + "/WHEEL", wheel_text.encode()),
    ]
    stamp = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", "315532800")))[:6]
    record = []
    path = os.path.join(wheel_directory, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files:
            info = zipfile.ZipInfo(member, date_time=stamp)
            info.external_attr = 0o755 << 16 if member.endswith(".so") else 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            record.append("%s,sha256=%s,%d" % (member, digest.decode(), len(data)))
        record.append(dist_info + "/RECORD,,")
        info = zipfile.ZipInfo(dist_info + "/RECORD", date_time=stamp)
        info.external_attr = 0o644 << 16
        archive.writestr(info, "\\n".join(record) + "\\n")
    return name
'''


def make_tiny_sdist(dest: Path, *, cxx: bool = False) -> Path:
    """Write ``tinyext-0.1.tar.gz`` (``tinyextcpp`` with ``cxx``) into ``dest``; its path.

    The bytes are the same on every call (fixed mtimes and order), so the sha256 is too.
    """
    name = CXX_NAME if cxx else NAME
    root = f"{name}-{VERSION}"
    backend = _BACKEND.replace("@NAME@", name).replace("@VERSION@", VERSION)
    files = {
        "pyproject.toml": _PYPROJECT,
        "tiny_backend.py": backend.replace("@LANGUAGE@", "c++" if cxx else "c"),
        "PKG-INFO": f"Metadata-Version: 2.1\nName: {name}\nVersion: {VERSION}\n",
        "src/tinymath.c": _TINYMATH_C,
        "src/tinymath.h": _TINYMATH_H,
        f"{name}/__init__.py": f"from {name}._tiny import describe\n\n__all__ = ['describe']\n",
    }
    if cxx:
        files["src/_tiny.cpp"] = _EXTENSION_CPP
    else:
        files["src/_tiny.c"] = _EXTENSION_C
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{root}.tar.gz"
    path.write_bytes(tar_gz_bytes({f"{root}/{m}": text.encode() for m, text in files.items()}))
    return path
