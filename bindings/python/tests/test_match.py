"""Datasets, models, link maps, explanations, and refusal of mixed keys."""
import logging
import os
import unittest

import bloomlink as bl
import support


class TestMatch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = support.workspace()
        cls.dir = support.tempdir()
        cls.files = [os.path.join(cls.work, s + ".ble") for s in support.SOURCES]
        cls.ds = bl.Dataset(cls.files)
        cls.links = bl.match(cls.ds, threads=2)

    def test_link_map(self):
        n = len(self.ds)
        self.assertEqual(len(self.links), n)
        recs = self.links.records()
        self.assertEqual(recs[0], self.links[0])
        self.assertEqual(recs[-1], self.links[-1])
        with self.assertRaises(IndexError):
            self.links[n]
        self.assertEqual(set(r["source"] for r in recs), set(support.SOURCES))
        sizes = {}
        for r in recs:
            sizes[r["entity_id"]] = sizes.get(r["entity_id"], 0) + 1
        for r in recs:
            self.assertEqual(r["entity_size"], sizes[r["entity_id"]])
            self.assertRegex(r["record_token"], "^[0-9a-f]{32}$")
        self.assertEqual(self.links.stats["entities"], len(sizes))
        report = self.links.report()
        self.assertIn("by_source_age_band", report)
        p = os.path.join(self.dir, "links.csv")
        r = os.path.join(self.dir, "review.csv")
        self.links.write_csv(p)
        self.links.write_review_csv(r)
        back = bl.LinkMap.read_csv(p, r)
        got = back.records()
        self.assertEqual(len(got), len(recs))
        for a, b in zip(got, recs):
            self.assertAlmostEqual(a.pop("match_probability"), b["match_probability"], places=5)
            self.assertEqual(a, {k: v for k, v in b.items() if k != "match_probability"})
        self.assertEqual(len(back.review_pairs()), len(self.links.review_pairs()))
        for rp in self.links.review_pairs()[:5]:
            self.assertIn(rp["reason"], ("grey-band", "weak-bridge", "unique-source"))

    @unittest.skipUnless(support.have("pandas"), "pandas not installed")
    def test_dataframe(self):
        df = self.links.to_dataframe()
        self.assertEqual(len(df), len(self.links))
        self.assertEqual(list(df.columns)[:3], ["source", "record_token", "entity_id"])

    def test_dataset_find_and_explain(self):
        recs = self.links.records()
        by_entity = {}
        pair = None
        for i, r in enumerate(recs):
            if r["entity_id"] in by_entity:
                pair = (by_entity[r["entity_id"]], i)
                break
            by_entity[r["entity_id"]] = i
        self.assertIsNotNone(pair)
        a, b = (recs[i] for i in pair)
        ia = self.ds.find(a["record_token"], a["source"])
        ib = self.ds.find(bytes.fromhex(b["record_token"]))
        ex = bl.explain_pair(self.ds, self.links.model, ia, ib)
        self.assertGreaterEqual(ex["probability"], 0.9)
        self.assertEqual(len(ex["fields"]), len(bl.Schema.load(
            os.path.join(self.work, "data", "schema.json")).fields))
        total = ex["prior_weight"] + ex["related_adjustment"] + sum(
            f["weight"] + f["tf_adjustment"] for f in ex["fields"])
        self.assertAlmostEqual(total, ex["weight"], places=6)
        same = bl.explain_pair(self.ds, self.links.model, (a["source"], a["record_token"]),
                               b["record_token"])
        self.assertEqual(same, ex)
        with self.assertRaises(bl.NotFoundError):
            self.ds.find("0" * 32)
        with self.assertRaises(bl.MisuseError):
            self.ds.find("xyz")

    def test_model_round_trip(self):
        model = self.links.model
        p = os.path.join(self.dir, "model.json")
        model.save(p)
        again = bl.Model.load(p)
        self.assertTrue(again.trained)
        self.assertEqual(bl.Model.parse(model.to_json()).to_json(), again.to_json())
        links2 = bl.match(self.ds, again, threads=2)
        self.assertEqual(links2.records(), self.links.records())
        fresh = bl.Model.default(self.ds)
        self.assertFalse(fresh.trained)
        stats = fresh.train(self.ds, threads=2)
        self.assertTrue(fresh.trained)
        self.assertGreater(stats["candidate_pairs"], 0)

    def test_options_and_callbacks(self):
        seen, logs = [], []
        links = bl.match(self.ds, threshold=0.95, review_low=0.6, threads=1,
                         unique_sources=["gp"], progress=lambda *a: seen.append(a),
                         log=lambda level, msg: logs.append((level, msg)))
        self.assertEqual(len(links), len(self.ds))
        self.assertTrue(seen)
        with self.assertRaises(TypeError):
            bl.match(self.ds, no_such_option=1)
        with self.assertRaises(bl.MisuseError):
            bl.match(self.ds, threshold=0.5, review_low=0.7)

        def stop(*a):
            raise RuntimeError("cancel")
        with self.assertRaises(RuntimeError):
            bl.match(self.ds, threads=2, progress=stop)

    def test_default_log_goes_to_logging(self):
        with self.assertLogs("bloomlink", level="WARNING") as cm:
            bl.match(self.ds, threads=1, max_block=2)  # every block capped: warnings
            logging.getLogger("bloomlink").warning("sentinel")
        self.assertGreater(len(cm.output), 1)

    def test_mixed_keys_refused(self):
        key2 = os.path.join(self.dir, "k2")
        other = os.path.join(self.dir, "other.ble")
        data = os.path.join(self.work, "data")
        schema = bl.Schema.load(os.path.join(data, "schema.json"))
        with bl.Key.generate(key2) as k, bl.Encoder(
                schema, bl.Profile.load(os.path.join(data, "housing.profile.json"), schema),
                k) as enc:
            enc.encode_csv(os.path.join(data, "housing.csv"), other)
        ds = bl.Dataset([self.files[0]])
        with self.assertRaises(bl.MismatchError) as cm:
            ds.add_file(other)
        self.assertIn("other.ble", str(cm.exception))
        self.assertIn("gp.ble", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
