"""examples/python_demo.py runs end to end and reports a good F1."""
import os
import re
import subprocess
import sys
import unittest

import support


class TestExample(unittest.TestCase):
    def test_python_demo(self):
        script = os.path.join(support.src_dir(), "examples", "python_demo.py")
        if not os.path.exists(script):
            self.skipTest("no examples/python_demo.py")
        out = os.path.join(support.tempdir(), "demo")
        r = subprocess.run([sys.executable, script, out, "1500"], capture_output=True, text=True,
                           env=dict(os.environ))
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(r"F1 ([0-9.]+)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        self.assertGreater(float(m.group(1)), 0.9)
        self.assertTrue(os.path.exists(os.path.join(out, "links.csv")))


if __name__ == "__main__":
    unittest.main()
