"""The demo flow from Python: synthetic extracts -> encode x4 -> match -> evaluate.

    python3 examples/python_demo.py [OUT_DIR] [PEOPLE]

Needs the bloomlink module (docs/python.md says how to build it).  Each
holder encodes its own extract with the shared key; the linkage service
matches the encodings without the key; F1 is measured against the truth.
"""
import sys

import bloomlink as bl

out, people = (sys.argv[1:] + ["demo-py"])[0], int((sys.argv[2:] + ["5000"])[0])
sources = bl.DEMO_SOURCES  # gp, social_care, housing, education

bl.synth(out, people=people)                                    # extracts, truth, schema, profiles
schema = bl.Schema.load(f"{out}/schema.json")
with bl.Key.generate(f"{out}/linkage.key", overwrite=True) as key:  # shared by the holders only
    for s in sources:                                           # at each holder
        with bl.Encoder(schema, bl.Profile.load(f"{out}/{s}.profile.json", schema), key) as enc:
            enc.encode_csv(f"{out}/{s}.csv", f"{out}/{s}.ble", id_map_path=f"{out}/{s}.ids")
links = bl.match(bl.Dataset(f"{out}/{s}.ble" for s in sources))  # at the linkage service
links.write_csv(f"{out}/links.csv")
ev = bl.evaluate(f"{out}/truth.csv", {s: f"{out}/{s}.ids" for s in sources}, links)
print(f"{len(links)} records, {links.stats['entities']} entities, "
      f"F1 {ev['overall']['f1']:.3f} (precision {ev['overall']['precision']:.3f}, "
      f"recall {ev['overall']['recall']:.3f})")
