"""Python and the bloomlink command agree byte for byte: the same synthetic
extracts, the same encodings (records: tokens, presence, filters, CLK,
blocking keys; not whole files, whose header has a timestamp), the same link
map and the same evaluation."""
import csv
import filecmp
import json
import os
import unittest

import bloomlink as bl
import support


class TestCrossCheck(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = support.workspace()
        cls.data = os.path.join(cls.work, "data")
        cls.dir = support.tempdir()
        cls.schema = bl.Schema.load(os.path.join(cls.data, "schema.json"))

    def cli_records(self, source):
        return bl.read_ble(os.path.join(self.work, source + ".ble"))

    def test_synth_is_identical(self):
        out = os.path.join(self.dir, "synth")
        bl.synth(out, people=support.PEOPLE, seed=support.SEED)
        names = sorted(os.listdir(self.data))
        self.assertEqual(sorted(os.listdir(out)), names)
        match, mismatch, errors = filecmp.cmpfiles(self.data, out, names, shallow=False)
        self.assertEqual((mismatch, errors), ([], []))

    def test_encode_csv_matches_cli(self):
        with bl.Key.load(os.path.join(self.work, "linkage.key")) as key:
            for s in support.SOURCES:
                prof = bl.Profile.load(os.path.join(self.data, s + ".profile.json"), self.schema)
                with bl.Encoder(self.schema, prof, key) as enc:
                    out = os.path.join(self.dir, s + ".ble")
                    ids = os.path.join(self.dir, s + ".ids")
                    content = os.path.join(self.dir, s + ".content.csv")
                    enc.encode_csv(os.path.join(self.data, s + ".csv"), out,
                                   content_path=content, id_map_path=ids)
                    cli = self.cli_records(s)
                    self.assertGreater(len(cli), 100)
                    self.assertEqual(bl.read_ble(out), cli, s)
                    with bl.EncodingReader(out) as a, \
                            bl.EncodingReader(os.path.join(self.work, s + ".ble")) as b:
                        self.assertEqual(a.header, b.header)
                    self.assertTrue(filecmp.cmp(ids, os.path.join(self.work, s + ".ids"),
                                                shallow=False))
                    self.assertTrue(filecmp.cmp(content,
                                                os.path.join(self.work, s + ".content.csv"),
                                                shallow=False))

    def test_encode_row_matches_cli(self):
        """Row by row through encode_row (rows as lists and as dicts) gives the
        records the CLI wrote, in the same order (first row per record id)."""
        with bl.Key.load(os.path.join(self.work, "linkage.key")) as key:
            for s in support.SOURCES:
                prof = bl.Profile.load(os.path.join(self.data, s + ".profile.json"), self.schema)
                with bl.Encoder(self.schema, prof, key) as enc:
                    rows = bl.read_csv(os.path.join(self.data, s + ".csv"), prof.separator,
                                       prof.skip_initial_space)
                    header = next(rows)
                    idcol = header.index(prof.record_id_column)
                    got, seen = [], set()
                    for i, row in enumerate(rows):
                        if not row[idcol]:
                            continue
                        rec = enc.encode_row(row, header) if i % 2 else \
                            enc.encode_row(dict(zip(header, row)))
                        if rec.token in seen:
                            continue
                        seen.add(rec.token)
                        got.append(rec)
                    cli = self.cli_records(s)
                    self.assertEqual(len(got), len(cli), s)
                    for a, b in zip(got, cli):
                        self.assertEqual(a, b, s)
                    # and written by Python, read back the same
                    p = os.path.join(self.dir, s + ".rows.ble")
                    enc.write_ble(p, got)
                    self.assertEqual(bl.read_ble(p), cli)

    def test_match_and_evaluate_match_cli(self):
        files = [os.path.join(self.work, s + ".ble") for s in support.SOURCES]
        cli_links = os.path.join(self.dir, "cli-links.csv")
        support.run("match", "--out", cli_links, "--threads", "2", "--quiet", *files)
        ds = bl.Dataset(files)
        self.assertEqual(ds.sources, support.SOURCES)
        links = bl.match(ds, threads=2)
        py_links = os.path.join(self.dir, "py-links.csv")
        links.write_csv(py_links)
        with open(cli_links, newline="") as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), len(links))
        for want, got in zip(rows, links):
            self.assertEqual(got["source"], want["source"])
            self.assertEqual(got["record_token"], want["record_token"])
            self.assertEqual(got["entity_id"], int(want["entity_id"]))
            self.assertAlmostEqual(got["match_probability"], float(want["match_probability"]),
                                   places=5)
        self.assertTrue(filecmp.cmp(py_links, cli_links, shallow=False))
        self.assertTrue(links.model.trained)
        self.assertEqual(links.stats["records"], len(links))

        id_maps = {s: os.path.join(self.work, s + ".ids") for s in support.SOURCES}
        args = ["evaluate", "--truth", os.path.join(self.data, "truth.csv"),
                "--linkmap", cli_links, "--json"]
        for s in support.SOURCES:
            args += ["--id-map", "%s=%s" % (s, id_maps[s])]
        want = json.loads(support.run(*args))
        got = bl.evaluate(os.path.join(self.data, "truth.csv"), id_maps, links)
        self.assertEqual(got, want)
        self.assertGreater(got["overall"]["f1"], 0.9)


if __name__ == "__main__":
    unittest.main()
