"""Every library handle a binding object holds is freed when the object goes
(bl_debug_live_handles, exposed as bloomlink._live_handles)."""
import gc
import os
import unittest

import bloomlink as bl
import support


class TestLeaks(unittest.TestCase):
    def setUp(self):
        self.work = support.workspace()
        self.dir = support.tempdir()
        gc.collect()
        self.base = bl._live_handles()

    def assertBack(self):
        gc.collect()
        self.assertEqual(bl._live_handles(), self.base)

    def test_whole_flow(self):
        data = os.path.join(self.work, "data")
        schema = bl.Schema.load(os.path.join(data, "schema.json"))
        profile = bl.Profile.load(os.path.join(data, "gp.profile.json"), schema)
        key = bl.Key.load(os.path.join(self.work, "linkage.key"))
        enc = bl.Encoder(schema, profile, key)
        self.assertGreaterEqual(bl._live_handles(), self.base + 4)
        out = os.path.join(self.dir, "gp.ble")
        enc.encode_csv(os.path.join(data, "gp.csv"), out)
        rows = bl.read_csv(os.path.join(data, "gp.csv"), profile.separator,
                           profile.skip_initial_space)
        header = next(rows)
        recs = [enc.encode_row(r, header) for _, r in zip(range(20), rows)]
        enc.write_ble(os.path.join(self.dir, "rows.ble"), recs)
        reader = bl.EncodingReader(out)
        next(reader)
        ds = bl.Dataset([out, os.path.join(self.work, "housing.ble")])
        links = bl.match(ds, threads=2)
        bl.explain_pair(ds, links.model, 0, 1)
        links.write_csv(os.path.join(self.dir, "l.csv"))
        back = bl.LinkMap.read_csv(os.path.join(self.dir, "l.csv"))
        self.assertGreater(bl._live_handles(), self.base + 6)
        del schema, profile, key, enc, rows, recs, reader, ds, links, back
        self.assertBack()

    def test_closing_frees_at_once(self):
        key = bl.Key.load(os.path.join(self.work, "linkage.key"))
        self.assertEqual(bl._live_handles(), self.base + 1)
        key.close()
        self.assertEqual(bl._live_handles(), self.base)
        with open(os.path.join(self.work, "data", "schema.json"), encoding="utf-8") as f:
            text = f.read()
        other = text.replace('"clk": {"bits": 1024}', '"clk": {"bits": 2048}')
        self.assertNotEqual(other, text)
        schema = bl.Schema.parse(other)
        key = bl.Key.load(os.path.join(self.work, "linkage.key"))
        profile = bl.Profile.load(os.path.join(self.work, "data", "gp.profile.json"),
                                  bl.Schema.parse(text))
        with self.assertRaises(bl.MismatchError):
            bl.Encoder(schema, profile, key)  # profile made for another schema
        key.close()  # the failed encoder left no user behind
        del schema, profile, key
        self.assertBack()

    def test_key_outlives_its_close_while_used(self):
        data = os.path.join(self.work, "data")
        schema = bl.Schema.load(os.path.join(data, "schema.json"))
        profile = bl.Profile.load(os.path.join(data, "gp.profile.json"), schema)
        key = bl.Key.load(os.path.join(self.work, "linkage.key"))
        enc = bl.Encoder(schema, profile, key)
        n = bl._live_handles()
        key.close()
        self.assertEqual(bl._live_handles(), n)  # still borrowed by enc
        enc.close()
        self.assertEqual(bl._live_handles(), n - 2)  # encoder and key
        del schema, profile, key, enc
        self.assertBack()

    def test_error_paths(self):
        bad = os.path.join(self.dir, "bad.ble")
        with open(bad, "wb") as f:
            f.write(b"x" * 100)
        for _ in range(50):
            with self.assertRaises(bl.FormatError):
                bl.EncodingReader(bad)
            with self.assertRaises(bl.FormatError):
                bl.Dataset([os.path.join(self.work, "gp.ble"), bad])
            with self.assertRaises(bl.Error):
                bl.Schema.parse("{")
            with self.assertRaises(bl.Error):
                bl.EncodingWriter(os.path.join(self.dir, "no", "such", "dir.ble"),
                                  bl.EncodingReader(os.path.join(self.work, "gp.ble")).header)
            w = bl.EncodingWriter(os.path.join(self.dir, "dropped.ble"),
                                  bl.EncodingReader(os.path.join(self.work, "gp.ble")).header)
            del w  # never closed: discarded
        self.assertFalse(os.path.exists(os.path.join(self.dir, "dropped.ble")))
        self.assertBack()


if __name__ == "__main__":
    unittest.main()
