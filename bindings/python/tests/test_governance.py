"""Agreements (sign, verify, tamper), opt-out tokens, the emitter and the
audit log, on synthetic data with a link map built from the truth (so the
test does not depend on the matcher's accuracy)."""
import csv
import json
import os
import sqlite3
import unittest

import bloomlink as bl
import support

PLACEHOLDERS = {"icb-analytics": "1" * 64, "gp-federation": "2" * 64, "county-council": "3" * 64}


class TestGovernance(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = support.workspace()
        cls.data = os.path.join(cls.work, "data")
        cls.dir = d = support.tempdir()
        example = os.path.join(support.src_dir(), "examples", "dsa.json")
        if not os.path.exists(example):
            raise unittest.SkipTest("no examples/dsa.json in " + support.src_dir())
        with open(example, encoding="utf-8") as f:
            text = f.read()
        cls.signing = {}
        for party, placeholder in PLACEHOLDERS.items():
            path = os.path.join(d, party + ".pem")
            pub = bl.generate_signing_key(path)
            cls.assert_hex(pub)
            assert bl.signing_key_public(path) == pub
            cls.signing[party] = path
            text = text.replace(placeholder, pub)
        cls.dsa_path = os.path.join(d, "dsa.json")
        with open(cls.dsa_path, "w", encoding="utf-8") as f:
            f.write(text)
        cls.project_key = os.path.join(d, "project.key")
        bl.Key.generate(cls.project_key).close()
        # link map from the truth: entity = person
        person = {}
        with open(os.path.join(cls.data, "truth.csv"), newline="") as f:
            for r in csv.DictReader(f):
                person[(r["source"], r["record_id"])] = r["person_id"]
        ids = {}
        cls.links = os.path.join(d, "links.csv")
        with open(cls.links, "w", newline="") as out:
            w = csv.writer(out, lineterminator="\n")
            w.writerow(["source", "record_token", "entity_id", "match_probability"])
            for s in support.SOURCES:
                with open(os.path.join(cls.work, s + ".ids"), newline="") as f:
                    for r in csv.DictReader(f):
                        p = person.get((s, r["record_id"]))
                        if p is not None:
                            eid = ids.setdefault(p, len(ids) + 1)
                            w.writerow([s, r["record_token"], eid, "1.0"])

    @staticmethod
    def assert_hex(s):
        assert len(s) == 64 and all(c in "0123456789abcdef" for c in s), s

    def signed(self):
        dsa = bl.Agreement.load(self.dsa_path)
        for path in self.signing.values():
            dsa.sign(path)
        return dsa

    def test_agreement(self):
        dsa = bl.Agreement.load(self.dsa_path)
        self.assertEqual(dsa.project_id, "oxon-frailty-2024")
        self.assertEqual({p["signature"] for p in dsa.parties}, {"unsigned"})
        with self.assertRaises(bl.SignatureError):
            dsa.verify()
        dsa = self.signed()
        dsa.verify()
        self.assertEqual({p["signature"] for p in dsa.parties}, {"signed"})
        self.assertEqual(len(dsa.hash), 64)
        p = os.path.join(self.dir, "signed.json")
        dsa.save(p)
        bl.Agreement.load(p).verify()
        with self.assertRaises(bl.ExpiredError):
            dsa.verify(now=4102444800)  # 2100-01-01
        # tampering breaks the signatures
        with open(p, encoding="utf-8") as f:
            doc = json.load(f)
        doc["purpose"] += " And anything else."
        tampered = bl.Agreement.parse(json.dumps(doc), name="tampered.json")
        with self.assertRaises(bl.SignatureError):
            tampered.verify()
        self.assertIn("bad-signature", {x["signature"] for x in tampered.parties})

    def test_pseudonym(self):
        with bl.Key.load(self.project_key) as k:
            a = bl.pseudonym(k, "p1", "42")
            self.assertEqual(a, bl.pseudonym(k, "p1", "42"))
            self.assertNotEqual(a, bl.pseudonym(k, "p2", "42"))
            self.assertRegex(a, "^[0-9a-f]{32}$")

    def optout_files(self):
        schema = bl.Schema.load(os.path.join(self.data, "schema.json"))
        files = {}
        with bl.Key.load(os.path.join(self.work, "linkage.key")) as key:
            for s in ("gp", "social_care"):
                prof = bl.Profile.load(os.path.join(self.data, s + ".profile.json"), schema)
                out = os.path.join(self.dir, s + ".optout.csv")
                st = bl.optout_tokens(schema, prof, key, os.path.join(self.data, s + ".csv"),
                                      os.path.join(self.data, "optout.csv"), out)
                self.assertGreater(st["list_entries"], 0)
                files[s] = out
            prof = bl.Profile.load(os.path.join(self.data, "housing.profile.json"), schema)
            with self.assertRaises(bl.NotFoundError):
                bl.optout_tokens(schema, prof, key, os.path.join(self.data, "housing.csv"),
                                 os.path.join(self.data, "optout.csv"),
                                 os.path.join(self.dir, "housing.optout.csv"))
        return files

    def test_emit(self):
        signed = os.path.join(self.dir, "emit-dsa.json")
        self.signed().save(signed)
        optout = self.optout_files()
        content = {s: os.path.join(self.work, s + ".content.csv") for s in support.SOURCES}
        audit = os.path.join(self.dir, "audit.log")
        common = dict(dsa_path=signed, project_key_path=self.project_key,
                      linkmap_path=self.links, content=content, audit_log_path=audit,
                      actor="python-test")
        # refused without the social care opt-out list; nothing written; logged
        out = os.path.join(self.dir, "ds.sqlite")
        with self.assertRaises(bl.PolicyError):
            bl.emit(out_path=out, optout={"gp": optout["gp"]}, **common)
        self.assertFalse(os.path.exists(out))
        # refused under an unsigned agreement
        with self.assertRaises(bl.SignatureError):
            bl.emit(out_path=out, optout=optout, **dict(common, dsa_path=self.dsa_path))
        self.assertFalse(os.path.exists(out))

        res = bl.emit(out_path=out, optout=optout, **common)
        self.assertGreater(res["persons"], 100)
        self.assertGreater(res["events"], 0)
        self.assertGreater(res["optout_persons"], 0)
        self.assertEqual(res["dsa_hash"], bl.Agreement.load(signed).hash)
        self.assertIsInstance(res["report"], (dict, type(None)))
        con = sqlite3.connect(out)
        try:
            n = con.execute("SELECT count(*) FROM person").fetchone()[0]
        finally:
            con.close()
        self.assertEqual(n, res["persons"])
        with self.assertRaises(bl.ExistsError):
            bl.emit(out_path=out, optout=optout, **common)

        counts = os.path.join(self.dir, "counts.csv")
        res = bl.emit(out_path=counts, optout=optout, format="aggregate",
                      aggregate_by=["in_social_care", "in_housing"], **common)
        self.assertGreater(res["aggregate_cells"], 0)
        with open(counts, newline="") as f:
            for row in list(csv.reader(f))[1:]:
                v = row[-1]
                self.assertTrue(v in ("*", "0") or int(v) % 5 == 0, row)

        entries, head = bl.audit_verify(audit)
        self.assertGreaterEqual(entries, 4)
        self.assertEqual(bl.audit_verify(audit, expect_head=head), (entries, head))
        with self.assertRaises(bl.ChecksumError):
            bl.audit_verify(audit, expect_head="0" * 64)
        new_head = bl.audit_append(audit, "python-test", "note", json.dumps({"n": 1}))
        self.assertEqual(bl.audit_verify(audit), (entries + 1, new_head))
        with self.assertRaises(bl.MisuseError):
            bl.emit(out_path=out, optout=optout, format="xml", **common)


if __name__ == "__main__":
    unittest.main()
