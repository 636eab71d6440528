# r_demo.R - the bloomlink demo flow from R: synthesise four extracts, encode
# each under one linkage key, link them, and score the links against the truth.
#   Rscript examples/r_demo.R [DIR [PEOPLE]]      (install first: docs/r.md)
library(bloomlink)
args <- commandArgs(trailingOnly = TRUE)
dir <- if (length(args) >= 1) args[[1]] else tempfile("bloomlink-demo-")
people <- if (length(args) >= 2) as.numeric(args[[2]]) else 20000

f <- bl_synth(dir, people = people)                                 # four extracts + truth
bl_keygen(key_file <- file.path(dir, "linkage.key"), overwrite = TRUE)
key <- bl_key_load(key_file); schema <- bl_schema_load(f$schema)
ble <- ids <- character()
for (src in names(f$extracts)) {                                    # each holder encodes
  ble[src] <- file.path(dir, paste0(src, ".ble")); ids[src] <- file.path(dir, paste0(src, ".ids"))
  bl_encode_csv(bl_encoder(schema, bl_profile_load(f$profiles[[src]], schema), key),
                f$extracts[[src]], ble[[src]], id_map = ids[[src]])
}
links <- bl_match(ble, out = file.path(dir, "links.csv"))           # the linkage service
ev <- bl_evaluate(f$truth, ids, links); print(ev)                   # precision, recall, F1
cat(sprintf("F1 %.4f: %d records in %d entities (files in %s)\n", ev$overall$f1,
            nrow(links), length(unique(links$entity_id)), dir))
