"""Encoding rows and files, .ble reading and writing, callbacks and threads."""
import csv
import os
import threading
import types
import unittest

import bloomlink as bl
import support


class EncodeBase(unittest.TestCase):
    def setUp(self):
        self.work = support.workspace()
        self.dir = support.tempdir()
        data = os.path.join(self.work, "data")
        self.schema = bl.Schema.load(os.path.join(data, "schema.json"))
        self.profile = bl.Profile.load(os.path.join(data, "gp.profile.json"), self.schema)
        self.key = bl.Key.load(os.path.join(self.work, "linkage.key"))
        self.enc = bl.Encoder(self.schema, self.profile, self.key)
        rows = bl.read_csv(os.path.join(data, "gp.csv"), self.profile.separator,
                           self.profile.skip_initial_space)
        self.header = next(rows)
        self.rows = [r for _, r in zip(range(50), rows)]

    def tearDown(self):
        self.enc.close()
        self.key.close()


class TestEncodeRow(EncodeBase):
    def test_dict_and_sequence_agree(self):
        for row in self.rows:
            a = self.enc.encode_row(row, columns=self.header)
            b = self.enc.encode_row(dict(zip(self.header, row)))
            c = self.enc.encode_row(tuple(row), self.header)
            self.assertEqual(a, b)
            self.assertEqual(a, c)
            self.assertIsInstance(a.token, bytes)
            self.assertEqual(len(a.token), bl.TOKEN_BYTES)
            self.assertEqual(set(a.fields), set(self.schema.field_names))
            for f in self.schema.fields:
                self.assertEqual(len(a.fields[f["name"]]) * 8, f["bits"])
            self.assertEqual(len(a.clk) * 8, self.schema.clk_bits)
            self.assertEqual(set(a.blocking_keys), set(self.schema.blocking_keys))
            rid = row[self.header.index(self.profile.record_id_column)]
            self.assertEqual(self.enc.record_token(rid), a.token.hex())
        self.assertEqual(self.enc.stats["records_encoded"], 0)  # only encode_csv counts records

    def test_presence_mask(self):
        row = dict(zip(self.header, self.rows[0]))
        full = self.enc.encode_row(row)
        names = self.schema.field_names
        col = self.profile.field_columns[names[0]]
        if col is None:
            self.skipTest("first field not in this source")
        row[col] = None
        part = self.enc.encode_row(row)
        self.assertTrue(full.present & 1)
        self.assertFalse(part.present & 1)
        self.assertEqual(part.fields[names[0]], bytes(len(part.fields[names[0]])))
        self.assertNotEqual(full.clk, part.clk)

    def test_values_are_converted(self):
        row = dict(zip(self.header, self.rows[0]))
        as_bytes = {k: v.encode() for k, v in row.items()}
        self.assertEqual(self.enc.encode_row(row), self.enc.encode_row(as_bytes))
        nan = dict(row)
        blank = dict(row)
        col = self.profile.field_columns[self.schema.field_names[0]]
        nan[col] = float("nan")
        blank[col] = ""
        self.assertEqual(self.enc.encode_row(nan), self.enc.encode_row(blank))

    def test_errors(self):
        row = dict(zip(self.header, self.rows[0]))
        with self.assertRaises(bl.MisuseError):
            self.enc.encode_row(list(row.values()))  # a sequence needs columns
        missing = dict(row)
        del missing[self.profile.record_id_column]
        with self.assertRaises(bl.NotFoundError) as cm:
            self.enc.encode_row(missing)
        self.assertEqual(cm.exception.field, self.profile.record_id_column)
        empty = dict(row)
        empty[self.profile.record_id_column] = ""
        with self.assertRaises(bl.InvalidValueError):
            self.enc.encode_row(empty)
        with self.assertRaises(bl.MisuseError):
            self.enc.encode_row(self.rows[0], self.header[:-1])

    def test_invalid_values_counted(self):
        row = dict(zip(self.header, self.rows[0]))
        col = self.profile.field_columns.get("postcode")
        if not col:
            self.skipTest("no postcode in gp")
        before = self.enc.stats["invalid_postcode"]
        row[col] = "NOT A POSTCODE"
        rec = self.enc.encode_row(row)
        self.assertEqual(self.enc.stats["invalid_postcode"], before + 1)
        i = self.schema.field_names.index("postcode")
        self.assertFalse(rec.present & (1 << i))

    @unittest.skipUnless(support.have("pandas"), "pandas not installed")
    def test_dataframe(self):
        import pandas as pd
        df = pd.DataFrame(self.rows, columns=self.header)
        got = self.enc.encode_rows(df)
        want = [self.enc.encode_row(r, self.header) for r in self.rows]
        self.assertEqual(got, want)

    def test_encode_rows(self):
        got = self.enc.encode_rows(self.rows, self.header)
        self.assertEqual(got, [self.enc.encode_row(r, self.header) for r in self.rows])
        self.assertEqual(self.enc.encode_rows([dict(zip(self.header, self.rows[0]))]), got[:1])


class TestFiles(EncodeBase):
    def test_writer_reader_round_trip(self):
        recs = self.enc.encode_rows(self.rows, self.header)
        p = os.path.join(self.dir, "rows.ble")
        self.assertEqual(self.enc.write_ble(p, recs), len(recs))
        with bl.EncodingReader(p) as r:
            h = r.header
            back = list(r)
        self.assertEqual(back, recs)
        self.assertEqual(h["source"], "gp")
        self.assertEqual(h["schema_fingerprint"], self.schema.fingerprint)
        self.assertEqual(h["key_fingerprint"], self.key.fingerprint)
        self.assertEqual(h["record_count"], len(recs))
        self.assertEqual([f["name"] for f in h["fields"]], list(self.schema.field_names))
        # what the matcher needs from format 1.1 headers survives the binding
        fields = {f["name"]: f for f in h["fields"]}
        self.assertEqual(fields["given_name"].get("swap_group"), "name")
        self.assertEqual(fields["family_name"].get("swap_group"), "name")
        self.assertTrue(fields["given_name"].get("salted"))
        self.assertNotIn("salted", fields["dob"])
        self.assertTrue(all(r.cohort != 0 for r in recs if r.present & 4))
        self.assertEqual(bl.read_ble(p), recs)

    def test_writer_discards_on_exception(self):
        p = os.path.join(self.dir, "partial.ble")
        with self.assertRaises(RuntimeError):
            with bl.EncodingWriter(p, self.enc.header) as w:
                w.add(self.enc.encode_row(self.rows[0], self.header))
                raise RuntimeError("stop")
        self.assertFalse(os.path.exists(p))
        self.assertEqual([f for f in os.listdir(self.dir) if f.startswith("partial")], [])

    def test_writer_rejects_bad_records(self):
        p = os.path.join(self.dir, "bad.ble")
        rec = self.enc.encode_row(self.rows[0], self.header)
        with bl.EncodingWriter(p, self.enc.header) as w:
            def like(**kw):
                names = ("token", "present", "fields", "clk", "blocking_keys", "sex", "age_band",
                         "cohort")
                d = dict(zip(names, rec))
                d.update(kw)
                return types.SimpleNamespace(**d)
            with self.assertRaises(bl.MisuseError):
                w.add(like(token=b"short"))
            with self.assertRaises(bl.MisuseError):
                w.add(like(clk=rec.clk[:-8]))
            w.add(like(fields=list(rec.fields.values())))  # fields by position
            w.add(rec)
        self.assertEqual(bl.read_ble(p), [rec, rec])

    def test_damaged_file(self):
        p = os.path.join(self.dir, "d.ble")
        self.enc.encode_csv(os.path.join(self.work, "data", "gp.csv"), p)
        data = bytearray(open(p, "rb").read())
        data[len(data) // 2] ^= 0x55
        q = os.path.join(self.dir, "damaged.ble")
        with open(q, "wb") as f:
            f.write(data)
        with self.assertRaises((bl.ChecksumError, bl.FormatError)):
            bl.read_ble(q)
        with open(q, "wb") as f:
            f.write(open(p, "rb").read()[:-40])
        with self.assertRaises((bl.ChecksumError, bl.FormatError)):
            bl.read_ble(q)

    def test_encode_csv_stats_and_outputs(self):
        out = os.path.join(self.dir, "gp.ble")
        ids = os.path.join(self.dir, "gp.ids")
        content = os.path.join(self.dir, "gp.content.csv")
        st = self.enc.encode_csv(os.path.join(self.work, "data", "gp.csv"), out,
                                 content_path=content, id_map_path=ids)
        self.assertGreater(st["records_encoded"], 0)
        self.assertEqual(st["records_read"], st["records_encoded"] + st["records_rejected"])
        self.assertEqual(len(bl.read_ble(out)), st["records_encoded"])
        self.assertTrue(os.path.exists(ids) and os.path.exists(content))
        with self.assertRaises(bl.FileIOError):
            self.enc.encode_csv(os.path.join(self.dir, "missing.csv"),
                                os.path.join(self.dir, "never.ble"))
        self.assertFalse(os.path.exists(os.path.join(self.dir, "never.ble")))

    @unittest.skipUnless(support.have("numpy"), "numpy not installed")
    def test_ble_arrays(self):
        p = os.path.join(self.work, "gp.ble")
        a = bl.ble_arrays(p)
        recs = bl.read_ble(p)
        self.assertEqual(a["token"].shape, (len(recs), 16))
        self.assertEqual(bytes(a["token"][3]), recs[3].token)
        name = self.schema.field_names[0]
        self.assertEqual(a["fields"][name][5].tobytes(), recs[5].fields[name])
        self.assertEqual(a["clk"][7].tobytes(), recs[7].clk)


class TestCallbacksAndThreads(EncodeBase):
    def test_progress_exception_cancels(self):
        # Progress is reported every 8192 records; make an extract that long.
        big = os.path.join(self.dir, "big.csv")
        rows = list(bl.read_csv(os.path.join(self.work, "data", "gp.csv"),
                                self.profile.separator, self.profile.skip_initial_space))
        idcol = self.header.index(self.profile.record_id_column)
        with open(big, "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, delimiter=self.profile.separator, lineterminator="\n")
            w.writerow(rows[0])
            for rep in range(9000 // (len(rows) - 1) + 1):
                for row in rows[1:]:
                    row = list(row)
                    row[idcol] = "%s-%d" % (row[idcol], rep)
                    w.writerow(row)
        seen = []

        def progress(what, done, total):
            seen.append((what, done))
            # the encoder is busy: another call on it is refused, not raced
            with self.assertRaises(bl.MisuseError):
                self.enc.encode_row(self.rows[0], self.header)
            raise KeyboardInterrupt("stop here")

        out = os.path.join(self.dir, "big.ble")
        with self.assertRaises(KeyboardInterrupt):
            self.enc.encode_csv(big, out, progress=progress)
        self.assertTrue(seen)
        self.assertFalse(os.path.exists(out))
        # and the encoder is usable again
        self.enc.encode_row(self.rows[0], self.header)

        calls = []
        st = self.enc.encode_csv(big, out, progress=lambda *a: calls.append(a))
        self.assertTrue(calls)
        self.assertEqual(calls[-1][1], st["records_read"])

    def test_threads_in_parallel(self):
        """encode_csv releases the GIL: two encoders in two threads give the
        same files as one after the other."""
        data = os.path.join(self.work, "data")
        results = {}

        def work(source, tag):
            p = bl.Profile.load(os.path.join(data, "%s.profile.json" % source), self.schema)
            with bl.Encoder(self.schema, p, self.key) as e:
                out = os.path.join(self.dir, "%s-%s.ble" % (source, tag))
                e.encode_csv(os.path.join(data, "%s.csv" % source), out)
                results[(source, tag)] = bl.read_ble(out)

        threads = [threading.Thread(target=work, args=(s, "t")) for s in ("gp", "housing")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        work("gp", "s")
        work("housing", "s")
        self.assertEqual(results[("gp", "t")], results[("gp", "s")])
        self.assertEqual(results[("housing", "t")], results[("housing", "s")])

    def test_key_closed_while_encoder_alive(self):
        k = bl.Key.load(os.path.join(self.work, "linkage.key"))
        e = bl.Encoder(self.schema, self.profile, k)
        rec = e.encode_row(self.rows[0], self.header)
        k.close()
        self.assertTrue(k.closed)
        with self.assertRaises(bl.MisuseError):
            bl.Encoder(self.schema, self.profile, k)
        self.assertEqual(e.encode_row(self.rows[0], self.header), rec)
        e.close()
        with self.assertRaises(bl.MisuseError):
            e.encode_row(self.rows[0], self.header)


if __name__ == "__main__":
    unittest.main()
