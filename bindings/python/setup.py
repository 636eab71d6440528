"""Build the bloomlink Python extension over libbloomlink.

Only setuptools is needed (no downloads).  Where the C library is found:

1. BLOOMLINK_BUILD_DIR: a configured, built C tree (the directory holding
   .libs/libbloomlink.so and include/bloomlink_version.h); the headers come
   from BLOOMLINK_SRC_DIR (default: two levels up from this file) and an rpath
   to the build tree is recorded, so nothing needs installing.
2. pkg-config bloomlink (after `make install`).
3. Otherwise the compiler's default paths and -lbloomlink.

    BLOOMLINK_BUILD_DIR=$PWD/build python3 -m pip install --no-build-isolation ./bindings/python
    python3 setup.py build_ext --build-lib DIR   # out-of-tree, what run-tests.sh does
"""
import base64
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile

from setuptools import Command, Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _pkg_config():
    try:
        out = subprocess.run(["pkg-config", "--cflags", "--libs", "bloomlink"],
                             check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    inc, libdirs, libs, rpath = [], [], [], []
    for tok in shlex.split(out):
        if tok.startswith("-I"):
            inc.append(tok[2:])
        elif tok.startswith("-L"):
            libdirs.append(tok[2:])
            rpath.append(tok[2:])
        elif tok.startswith("-l"):
            libs.append(tok[2:])
    return inc, libdirs, libs or ["bloomlink"], rpath


def _library():
    """(include_dirs, library_dirs, libraries, runtime_library_dirs, version_header)."""
    build = os.environ.get("BLOOMLINK_BUILD_DIR")
    if build:
        build = os.path.abspath(build)
        src = os.path.abspath(os.environ.get("BLOOMLINK_SRC_DIR", os.path.join(HERE, "..", "..")))
        libs = os.path.join(build, ".libs")
        for need in (os.path.join(src, "include", "bloomlink.h"),
                     os.path.join(build, "include", "bloomlink_version.h")):
            if not os.path.exists(need):
                sys.exit("bloomlink: %s not found; set BLOOMLINK_BUILD_DIR to a configured and "
                         "built C tree (and BLOOMLINK_SRC_DIR to its source)" % need)
        return ([os.path.join(src, "include"), os.path.join(build, "include")], [libs],
                ["bloomlink"], [libs], os.path.join(build, "include", "bloomlink_version.h"))
    pc = _pkg_config()
    if pc:
        inc, libdirs, libs, rpath = pc
        header = next((os.path.join(d, "bloomlink_version.h") for d in inc
                       if os.path.exists(os.path.join(d, "bloomlink_version.h"))), None)
        return inc, libdirs, libs, rpath, header
    if "egg_info" not in sys.argv and "dist_info" not in sys.argv and not any(
            os.path.exists(os.path.join(d, "bloomlink.h"))
            for d in ("/usr/local/include", "/usr/include")):
        sys.exit("bloomlink: libbloomlink not found.  Build the C library, then either\n"
                 "  BLOOMLINK_BUILD_DIR=/path/to/build python3 -m pip install "
                 "--no-build-isolation ./bindings/python\n"
                 "or `make install` it (pkg-config bloomlink).")
    return [], [], ["bloomlink"], [], None


def _version(header):
    if header and os.path.exists(header):
        with open(header, encoding="utf-8") as f:
            m = re.search(r'#define BL_VERSION_STRING "([^"]+)"', f.read())
        if m:
            return m.group(1)
    return "0.1.0"


class _minimal_bdist_wheel(Command):
    """bdist_wheel for setuptools older than 70.1 without the `wheel` package
    (pyenv or venv Pythons offline): pip --no-build-isolation needs the
    command, and PyPI is out of reach.  Writes a plain platform wheel."""

    description = "build a wheel (bloomlink's fallback when `wheel` is not installed)"
    user_options = [("dist-dir=", "d", "directory for the wheel"),
                    ("bdist-dir=", "b", "ignored"), ("plat-name=", "p", "ignored"),
                    ("keep-temp", "k", "ignored"), ("python-tag=", None, "ignored"),
                    ("py-limited-api=", None, "ignored")]
    boolean_options = ["keep-temp"]

    def initialize_options(self):
        self.dist_dir = self.bdist_dir = self.plat_name = self.python_tag = None
        self.py_limited_api = None
        self.keep_temp = False

    def finalize_options(self):
        self.dist_dir = self.dist_dir or "dist"

    @staticmethod
    def egg2dist(egg_info, dist_info):
        os.makedirs(dist_info, exist_ok=True)
        for name in os.listdir(egg_info):
            src = os.path.join(egg_info, name)
            if name == "PKG-INFO":
                shutil.copyfile(src, os.path.join(dist_info, "METADATA"))
            elif name in ("top_level.txt", "entry_points.txt"):
                shutil.copyfile(src, os.path.join(dist_info, name))

    def run(self):
        self.run_command("build")
        build_lib = self.get_finalized_command("build").build_lib
        name = self.distribution.get_name()
        version = self.distribution.get_version()
        tag = "cp%d%d" % sys.version_info[:2]
        abi = "cp%d%d%s" % (sys.version_info[0], sys.version_info[1], sys.abiflags)
        plat = re.sub(r"[-.]", "_", sysconfig.get_platform())
        dist_info = "%s-%s.dist-info" % (name, version)
        with tempfile.TemporaryDirectory() as tmp:
            egg = self.reinitialize_command("egg_info")
            egg.egg_base = tmp
            self.run_command("egg_info")
            egg_dir = self.get_finalized_command("egg_info").egg_info
            self.egg2dist(egg_dir, os.path.join(tmp, dist_info))
            with open(os.path.join(tmp, dist_info, "WHEEL"), "w") as f:
                f.write("Wheel-Version: 1.0\nGenerator: bloomlink-setup\n"
                        "Root-Is-Purelib: false\nTag: %s-%s-%s\n" % (tag, abi, plat))
            files = []
            for root, _, names in os.walk(build_lib):
                files += [(os.path.join(root, n), os.path.relpath(os.path.join(root, n), build_lib))
                          for n in names]
            for n in os.listdir(os.path.join(tmp, dist_info)):
                files.append((os.path.join(tmp, dist_info, n), dist_info + "/" + n))
            os.makedirs(self.dist_dir, exist_ok=True)
            whl = os.path.join(self.dist_dir, "%s-%s-%s-%s-%s.whl" % (name, version, tag, abi, plat))
            record = []
            with zipfile.ZipFile(whl, "w", zipfile.ZIP_DEFLATED) as z:
                for path, arc in sorted(files, key=lambda x: x[1]):
                    with open(path, "rb") as f:
                        data = f.read()
                    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
                    record.append("%s,sha256=%s,%d" % (arc, digest.decode(), len(data)))
                    z.writestr(arc, data)
                record.append(dist_info + "/RECORD,,")
                z.writestr(dist_info + "/RECORD", "\n".join(record) + "\n")


def _cmdclass():
    try:
        import setuptools.command.bdist_wheel  # noqa: F401  (setuptools >= 70.1)
        return {}
    except ImportError:
        pass
    try:
        import wheel.bdist_wheel  # noqa: F401
        return {}
    except ImportError:
        return {"bdist_wheel": _minimal_bdist_wheel}


include_dirs, library_dirs, libraries, rpath, version_header = _library()
sources = sorted(os.path.join("c-ext", f) for f in os.listdir(os.path.join(HERE, "c-ext"))
                 if f.endswith(".c"))

setup(
    name="bloomlink",
    version=_version(version_header),
    description="Privacy-preserving record linkage with Bloom filter encodings "
                "(CPython bindings to libbloomlink)",
    license="see the bloomlink source tree",
    python_requires=">=3.10",
    packages=["bloomlink"],
    package_data={"bloomlink": ["py.typed", "*.pyi"]},
    ext_modules=[Extension(
        "bloomlink._bloomlink",
        sources=sources,
        depends=[os.path.join("c-ext", "bloomlink_ext.h")],
        include_dirs=["c-ext"] + include_dirs,
        library_dirs=library_dirs,
        runtime_library_dirs=rpath,
        libraries=libraries,
        extra_compile_args=["-Wall", "-Wextra", "-Wno-missing-field-initializers",
                            "-Wno-unused-parameter", "-Wno-cast-function-type"],
    )],
    zip_safe=False,
    cmdclass=_cmdclass(),
)
