"""Shared set-up for the binding tests: where the CLI and the source tree
are, and one synthetic workspace (made once per run, removed at exit)."""
import atexit
import os
import shutil
import subprocess
import tempfile
import unittest

import bloomlink as bl

SOURCES = bl.DEMO_SOURCES
PEOPLE = 2000
SEED = 11


def src_dir():
    d = os.environ.get("BLOOMLINK_SRC_DIR")
    if d:
        return d
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def cli():
    """Path of the bloomlink command (BLOOMLINK_CLI, else PATH); skips without one."""
    p = os.environ.get("BLOOMLINK_CLI") or shutil.which("bloomlink")
    if not p or not os.access(p, os.X_OK):
        raise unittest.SkipTest("no bloomlink command: set BLOOMLINK_CLI")
    return p


def run(*args, cwd=None):
    """Run the CLI; returns stdout; fails loudly with stderr."""
    r = subprocess.run([cli(), *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise AssertionError("bloomlink %s failed (%d): %s" % (" ".join(args), r.returncode,
                                                               r.stderr.strip()))
    return r.stdout


def tempdir(prefix="bloomlink-test-"):
    d = tempfile.mkdtemp(prefix=prefix)
    atexit.register(shutil.rmtree, d, True)
    return d


_work = None


def workspace():
    """A directory with the CLI's synthetic extracts (synth --people 2000), a
    linkage key (keygen) and the CLI's encodings of the four sources
    (SOURCE.ble, SOURCE.ids, SOURCE.content.csv)."""
    global _work
    if _work is None:
        d = tempdir()
        run("synth", "--people", str(PEOPLE), "--seed", str(SEED), "--out", "data", cwd=d)
        run("keygen", "linkage.key", cwd=d)
        for s in SOURCES:
            run("encode", "--schema", "data/schema.json", "--profile", "data/%s.profile.json" % s,
                "--key", "linkage.key", "--in", "data/%s.csv" % s, "--out", "%s.ble" % s,
                "--content-out", "%s.content.csv" % s, "--id-map", "%s.ids" % s, "--quiet", cwd=d)
        _work = d
    return _work


def have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False
