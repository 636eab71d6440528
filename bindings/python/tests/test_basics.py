"""Versions, errors, keys, schema and profile, Dice kernels, normalisers."""
import os
import pickle
import random
import stat
import unittest

import bloomlink as bl
import support


def ref_dice(a, b):
    pa = sum(bin(x).count("1") for x in a)
    pb = sum(bin(x).count("1") for x in b)
    both = sum(bin(x & y).count("1") for x, y in zip(a, b))
    return 0.0 if pa + pb == 0 else 2.0 * both / (pa + pb)


class TestVersion(unittest.TestCase):
    def test_versions_agree(self):
        self.assertEqual(bl.version(), bl.HEADER_VERSION)
        self.assertEqual(bl.__version__, bl.version())
        self.assertRegex(bl.version(), r"^\d+\.\d+\.\d+")

    def test_docstrings(self):
        for name in ("Key", "Schema", "Profile", "Encoder", "EncodingReader", "EncodingWriter",
                     "Dataset", "Model", "LinkMap", "match", "dice", "evaluate_files", "emit",
                     "synth", "explain_pair", "dice_scan"):
            self.assertTrue(getattr(bl, name).__doc__, name)
        self.assertIn("encode_row", bl.Encoder.encode_row.__doc__)


class TestErrors(unittest.TestCase):
    def setUp(self):
        self.dir = support.tempdir()

    def test_parse_error_names_line_and_column(self):
        with self.assertRaises(bl.Error) as cm:
            bl.Schema.parse('{"fields": [\n  {"name": }\n]}', name="s.json")
        e = cm.exception
        self.assertIsInstance(e, (bl.ParseError, bl.SchemaError))
        self.assertIsInstance(e, ValueError)
        self.assertIn(e.code, (bl.Status.EPARSE, bl.Status.ESCHEMA))
        self.assertEqual(e.source, "s.json")
        self.assertEqual(e.line, 2)
        self.assertIsNotNone(e.column)
        self.assertTrue(e.text)
        self.assertTrue(str(e).startswith("s.json:2:"), str(e))

    def test_schema_error_names_field(self):
        with self.assertRaises(bl.SchemaError) as cm:
            bl.Schema.parse('{"fields": 3}')
        self.assertEqual(cm.exception.code, bl.Status.ESCHEMA)
        self.assertIsNone(cm.exception.record)

    def test_missing_file_is_file_io_error(self):
        with self.assertRaises(bl.FileIOError) as cm:
            bl.Schema.load(os.path.join(self.dir, "nope.json"))
        self.assertIsInstance(cm.exception, OSError)
        self.assertEqual(cm.exception.code, bl.Status.EIO)

    def test_not_a_ble_file(self):
        p = os.path.join(self.dir, "x.ble")
        with open(p, "wb") as f:
            f.write(b"hello, this is not an encoding file" * 10)
        with self.assertRaises(bl.FormatError) as cm:
            bl.EncodingReader(p)
        self.assertEqual(cm.exception.source, p)

    def test_status_names(self):
        self.assertEqual(bl.Status(6).name, "EFORMAT")
        for cls in (bl.ParseError, bl.SchemaError, bl.KeyFileError, bl.FormatError,
                    bl.ChecksumError, bl.MismatchError, bl.PolicyError, bl.SignatureError,
                    bl.ExpiredError, bl.NotFoundError, bl.MisuseError, bl.CancelledError):
            self.assertTrue(issubclass(cls, bl.Error))
        self.assertTrue(issubclass(bl.NotFoundError, LookupError))
        self.assertTrue(issubclass(bl.ExistsError, FileExistsError))


class TestKey(unittest.TestCase):
    def setUp(self):
        self.dir = support.tempdir()

    def test_generate_load_fingerprint(self):
        p = os.path.join(self.dir, "k")
        with bl.Key.generate(p) as k:
            fp = k.fingerprint
        self.assertEqual(stat.S_IMODE(os.stat(p).st_mode), 0o600)
        with bl.Key.load(p) as k2:
            self.assertEqual(k2.fingerprint, fp)
        self.assertTrue(k2.closed)
        with self.assertRaises(bl.MisuseError):
            k2.fingerprint
        with self.assertRaises(bl.ExistsError):
            bl.Key.generate(p)
        bl.Key.generate(p, overwrite=True).close()

    def test_group_readable_key_refused(self):
        p = os.path.join(self.dir, "k")
        bl.Key.generate(p).close()
        os.chmod(p, 0o640)
        with self.assertRaises(bl.KeyFileError) as cm:
            bl.Key.load(p)
        self.assertEqual(cm.exception.code, bl.Status.EKEY)

    def test_key_never_exposed(self):
        k = bl.Key.from_bytes(bytearray(range(32)))
        self.assertNotIn("000102", repr(k))
        for attr in dir(k):
            if attr.startswith("__"):
                continue
            v = getattr(k, attr)
            self.assertNotIsInstance(v, (bytes, bytearray, memoryview), attr)
        with self.assertRaises(TypeError):
            pickle.dumps(k)
        with self.assertRaises(TypeError):
            bytes(k)
        with self.assertRaises(TypeError):
            memoryview(k)
        k.close()
        k.close()  # twice is fine

    def test_from_bytes_buffer_protocol(self):
        a = bl.Key.from_bytes(bytes(32))
        b = bl.Key.from_bytes(memoryview(bytearray(32)))
        self.assertEqual(a.fingerprint, b.fingerprint)
        with self.assertRaises(bl.KeyFileError):
            bl.Key.from_bytes(b"short")

    def test_cannot_construct_directly(self):
        with self.assertRaises(TypeError):
            bl.Key()


class TestSchemaProfile(unittest.TestCase):
    def test_default_schema(self):
        s = bl.Schema.default()
        names = s.field_names
        self.assertIn("given_name", names)
        self.assertEqual([f["name"] for f in s.fields], list(names))
        self.assertTrue(all(f["bits"] % 64 == 0 for f in s.fields))
        self.assertEqual(len(s.fingerprint), 64)
        again = bl.Schema.parse(s.canonical_json.encode())
        self.assertEqual(again.fingerprint, s.fingerprint)
        self.assertEqual(bl.Schema.parse(bl.Schema.default_json()).fingerprint, s.fingerprint)
        self.assertGreater(s.clk_bits, 0)
        self.assertGreater(len(s.blocking_keys), 0)

    def test_profile(self):
        d = support.workspace()
        schema = bl.Schema.load(os.path.join(d, "data", "schema.json"))
        p = bl.Profile.load(os.path.join(d, "data", "gp.profile.json"), schema)
        self.assertEqual(p.source, "gp")
        self.assertTrue(p.record_id_column)
        self.assertEqual(set(p.field_columns), set(schema.field_names))
        self.assertIs(p.schema, schema)
        self.assertEqual(len(p.separator), 1)
        self.assertIsInstance(p.content_columns, tuple)
        self.assertIsNone(p.field_column("no_such_field"))


class TestDice(unittest.TestCase):
    def test_matches_reference_on_every_kernel(self):
        rng = random.Random(5)
        kernels = bl.kernels()
        self.assertIn("scalar", kernels)
        try:
            for words in (1, 2, 7, 8, 9, 16, 17):
                a = [rng.getrandbits(64) for _ in range(words)]
                b = [rng.getrandbits(64) for _ in range(words)]
                ab = b"".join(x.to_bytes(8, "little") for x in a)
                bb = b"".join(x.to_bytes(8, "little") for x in b)
                for k in kernels:
                    bl.set_kernel(k)
                    self.assertEqual(bl.kernel_name(), k)
                    self.assertAlmostEqual(bl.dice(ab, bb), ref_dice(a, b), places=12)
                    self.assertEqual(bl.popcount(ab), sum(bin(x).count("1") for x in a))
        finally:
            bl.set_kernel("auto")
        with self.assertRaises(bl.MisuseError):
            bl.set_kernel("sse9")

    def test_empty_and_bad_lengths(self):
        self.assertEqual(bl.dice(bytes(16), bytes(16)), 0.0)
        with self.assertRaises(bl.MisuseError):
            bl.dice(bytes(16), bytes(24))
        with self.assertRaises(bl.MisuseError):
            bl.dice(bytes(15), bytes(15))

    def test_dice_scan(self):
        rng = random.Random(9)
        words = 16
        one = [rng.getrandbits(64) for _ in range(words)]
        many = []
        for i in range(300):
            # half near copies of `one`, half random
            f = [x ^ (rng.getrandbits(64) & rng.getrandbits(64) & rng.getrandbits(64))
                 if i % 2 else rng.getrandbits(64) for x in one]
            many.append(f)
        ob = b"".join(x.to_bytes(8, "little") for x in one)
        mb = [b"".join(x.to_bytes(8, "little") for x in f) for f in many]
        want = [i for i, f in enumerate(many) if ref_dice(one, f) >= 0.8]
        self.assertTrue(want)
        self.assertEqual(bl.dice_scan(ob, b"".join(mb), 0.8), want)
        self.assertEqual(bl.dice_scan(ob, mb, (4, 5)), want)
        self.assertEqual(bl.dice_scan(memoryview(ob), bytearray(b"".join(mb)), 0.8), want)
        self.assertEqual(bl.dice_scan(ob, b"", 0.5), [])
        with self.assertRaises(bl.MisuseError):
            bl.dice_scan(ob, b"".join(mb) + b"x" * 8, 0.8)

    @unittest.skipUnless(support.have("numpy"), "numpy not installed")
    def test_dice_scan_numpy(self):
        import numpy as np
        rng = np.random.default_rng(1)
        many = rng.integers(0, 2**63, size=(100, 8), dtype=np.uint64)
        one = many[17].copy()
        got = bl.dice_scan(one, many, 0.99)
        self.assertIsInstance(got, np.ndarray)
        self.assertIn(17, got.tolist())


class TestNormalisers(unittest.TestCase):
    def test_values(self):
        self.assertEqual(bl.normalise_name("O'Brien-Smith"), "OBRIENSMITH")
        self.assertIsNone(bl.normalise_name(""))
        self.assertEqual(bl.normalise_postcode("ox12jd"), "OX1 2JD")
        self.assertEqual(bl.normalise_date("03/02/1970"), "19700203")
        self.assertEqual(bl.normalise_date("1970-02-03", formats=["%Y-%m-%d"]), "19700203")
        with self.assertRaises(bl.InvalidValueError):
            bl.normalise_date("31/02/1970")
        self.assertEqual(bl.normalise_sex("Female"), "F")
        given, family = bl.normalise_full_name("SMITH, John Paul")
        self.assertEqual((given, family), ("JOHN", "SMITH"))
        self.assertTrue(bl.nhs_number_valid("9434765919"))
        self.assertFalse(bl.nhs_number_valid("9434765918"))
        with self.assertRaises(bl.InvalidValueError) as cm:
            bl.normalise_nhs_number("943 476 5918")
        self.assertIsInstance(cm.exception, ValueError)


if __name__ == "__main__":
    unittest.main()
