"""The type hints (bloomlink/__init__.pyi) match the module at run time
(mypy's stubtest), when mypy is installed."""
import os
import subprocess
import sys
import unittest

import bloomlink
import support


class TestStub(unittest.TestCase):
    @unittest.skipUnless(support.have("mypy"), "mypy not installed")
    def test_stubtest(self):
        pkg = os.path.dirname(bloomlink.__file__)
        self.assertTrue(os.path.exists(os.path.join(pkg, "__init__.pyi")))
        self.assertTrue(os.path.exists(os.path.join(pkg, "py.typed")))
        env = dict(os.environ, PYTHONPATH=os.path.dirname(pkg))
        r = subprocess.run([sys.executable, "-m", "mypy.stubtest", "bloomlink"],
                           capture_output=True, text=True, env=env,
                           cwd=support.tempdir())
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)


if __name__ == "__main__":
    unittest.main()
