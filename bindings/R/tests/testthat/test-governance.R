# The data controller's steps: a signed agreement, opt-outs, emit, audit.

gov_fixture <- function() {
  skip_if_no_cli()  # the example agreement comes from `bloomlink dsa example`
  fx <- fixture()
  dir <- tempfile("bloomlink-gov-")
  dir.create(dir)
  dsa_path <- file.path(dir, "dsa.json")
  run_cli("dsa", "example", "--out", dsa_path)
  list(fx = fx, dir = dir, dsa = dsa_path)
}

test_that("an agreement must be signed by every party before emit runs", {
  g <- gov_fixture()
  dsa <- bl_dsa_load(g$dsa)
  parties <- bl_dsa_info(dsa)$parties$party
  expect_gt(length(parties), 1)
  keys <- file.path(g$dir, paste0(parties, ".pem"))
  for (i in seq_along(parties)) {
    pub <- bl_signing_keygen(keys[i])
    expect_match(pub, "^[0-9a-f]{64}$")
    expect_identical(bl_signing_key_public(keys[i]), pub)
    bl_dsa_set_party_key(dsa, parties[i], pub)
  }
  expect_error(bl_dsa_verify(dsa), class = "bloomlink_signature_error")
  bl_dsa_sign(dsa, keys[1])
  e <- expect_error(bl_dsa_verify(dsa), class = "bloomlink_signature_error")
  expect_match(conditionMessage(e), parties[2], fixed = TRUE)
  for (k in keys[-1]) bl_dsa_sign(dsa, k)
  expect_true(bl_dsa_verify(dsa))
  expect_equal(bl_dsa_info(dsa)$parties$signature, rep("signed", length(parties)))
  expect_output(print(dsa), "signed")
  bl_dsa_save(dsa, g$dsa)
  expect_true(bl_dsa_verify(bl_dsa_load(g$dsa)))
  # an outsider's key cannot sign
  outsider <- file.path(g$dir, "outsider.pem")
  bl_signing_keygen(outsider)
  expect_error(bl_dsa_sign(bl_dsa_load(g$dsa), outsider), class = "bloomlink_error")
  # a changed text breaks the signatures
  txt <- readLines(g$dsa)
  i <- grep("\"purpose\"", txt)[1]
  txt[i] <- sub("\"purpose\": \"", "\"purpose\": \"X", txt[i])
  tampered <- file.path(g$dir, "tampered.json")
  writeLines(txt, tampered)
  expect_error(bl_dsa_verify(bl_dsa_load(tampered)), class = "bloomlink_signature_error")
  # far in the future the agreement has expired
  expect_error(bl_dsa_verify(bl_dsa_load(g$dsa), now = 4102444800), class = "bloomlink_expired_error")

  # opt-outs, emit, aggregate, audit
  fx <- g$fx
  s <- bl_schema_load(fx$files$schema)
  key <- bl_key_load(fx$key_path)
  optout <- character()
  for (src in c("gp", "social_care")) {
    optout[src] <- file.path(g$dir, paste0(src, ".optout.csv"))
    st <- bl_optout_tokens(s, bl_profile_load(fx$files$profiles[[src]], s), key,
                           fx$files$extracts[[src]], fx$files$optout, optout[[src]])
    expect_equal(st$tokens_written, length(readLines(optout[[src]])) - 1)
  }
  project_key <- file.path(g$dir, "project.key")
  bl_keygen(project_key)
  lm <- bl_match(fx$ble, threads = 1)
  log <- file.path(g$dir, "audit.log")
  out <- file.path(g$dir, "dataset.sqlite")
  r <- bl_emit(g$dsa, project_key, lm, fx$content, out, optout = optout,
               report = file.path(g$dir, "report.json"), audit_log = log, actor = "r-test")
  expect_true(file.exists(out))
  expect_equal(r$dsa_hash, bl_dsa_info(bl_dsa_load(g$dsa))$hash)
  expect_equal(r$linkmap_rows, nrow(lm))
  expect_gt(r$persons, 0)
  expect_gt(r$optout_persons, 0)
  expect_match(attr(r, "report"), "^\\{")
  expect_true(file.exists(file.path(g$dir, "report.json")))
  if (requireNamespace("RSQLite", quietly = TRUE) && requireNamespace("DBI", quietly = TRUE)) {
    con <- DBI::dbConnect(RSQLite::SQLite(), out)
    n <- DBI::dbGetQuery(con, "SELECT count(*) AS n FROM person")$n
    DBI::dbDisconnect(con)
    expect_equal(n, r$persons)
  }
  # refuses to overwrite, and refuses under a tampered agreement (nothing written)
  expect_error(bl_emit(g$dsa, project_key, lm, fx$content, out, optout = optout,
                       audit_log = log, actor = "r-test"), class = "bloomlink_exists_error")
  out2 <- file.path(g$dir, "refused.sqlite")
  expect_error(bl_emit(tampered, project_key, lm, fx$content, out2, optout = optout,
                       audit_log = log, actor = "r-test"), class = "bloomlink_signature_error")
  expect_false(file.exists(out2))
  agg <- file.path(g$dir, "counts.csv")
  a <- bl_emit(g$dsa, project_key, lm, fx$content, agg, optout = optout,
               aggregate_by = c("in_social_care", "in_housing"), audit_log = log, actor = "r-test")
  expect_gt(a$aggregate_cells, 0)
  expect_equal(readLines(agg, n = 1), "in_social_care,in_housing,people")
  # every run, refused or not, is in the audit chain
  v <- bl_audit_verify(log)
  expect_gte(v$entries, 4)
  expect_match(v$head, "^[0-9a-f]{64}$")
  expect_equal(bl_audit_verify(log, expect_head = a$audit_entry_hash)$head, a$audit_entry_hash)
  expect_error(bl_audit_verify(log, expect_head = strrep("0", 64)), class = "bloomlink_checksum_error")
})

test_that("pseudonyms are per project and deterministic", {
  k1 <- bl_key_from_raw(as.raw(1:32))
  k2 <- bl_key_from_raw(as.raw(32:1))
  a <- bl_pseudonym(k1, "p1", c(1, 2, 3))
  expect_match(a, "^[0-9a-f]{32}$")
  expect_identical(a, bl_pseudonym(k1, "p1", c("1", "2", "3")))
  expect_false(any(a == bl_pseudonym(k2, "p1", c(1, 2, 3))))
  expect_false(any(a == bl_pseudonym(k1, "p2", c(1, 2, 3))))
  expect_equal(length(unique(a)), 3)
})

test_that("the audit log can be appended to and verified from R", {
  log <- tempfile(fileext = ".log")
  h1 <- bl_audit_append(log, "tester", "note", '{"n": 1}')
  h2 <- bl_audit_append(log, "tester", "note", '{"n": 2}')
  v <- bl_audit_verify(log)
  expect_equal(v$entries, 2)
  expect_equal(v$head, h2)
  expect_false(identical(h1, h2))
})
