# R and the bloomlink CLI run the same library: for the same inputs they must
# give byte-identical encodings (record for record: tokens, presence, field
# filters, CLK, blocking keys; the .ble header holds a timestamp, so whole
# files are not compared) and the same link map.

cli_fixture <- function() {
  skip_if_no_cli()
  if (!is.null(.fixture$cli)) return(.fixture$cli)
  dir <- tempfile("bloomlink-cli-")
  run_cli("synth", "--people", "300", "--seed", "11", "--out", dir)
  key <- file.path(dir, "linkage.key")
  run_cli("keygen", key)
  out <- list(dir = dir, key = key, ble = character(), ids = character(),
              content = character())
  for (src in SOURCES) {
    out$ble[src] <- file.path(dir, paste0(src, ".cli.ble"))
    out$ids[src] <- file.path(dir, paste0(src, ".cli.ids"))
    out$content[src] <- file.path(dir, paste0(src, ".cli.content.csv"))
    run_cli("encode", "--schema", file.path(dir, "schema.json"),
            "--profile", file.path(dir, paste0(src, ".profile.json")), "--key", key,
            "--in", file.path(dir, paste0(src, ".csv")), "--out", out$ble[[src]],
            "--content-out", out$content[[src]], "--id-map", out$ids[[src]], "--quiet")
  }
  .fixture$cli <- out
  out
}

test_that("R's synthetic data equals the CLI's for the same seed", {
  cx <- cli_fixture()
  d <- tempfile()
  f <- bl_synth(d, people = 300, seed = 11)
  for (name in c(basename(unlist(f$extracts)), basename(unlist(f$profiles)), "truth.csv",
                 "schema.json")) {
    expect_identical(tools::md5sum(file.path(d, name))[[1]],
                     tools::md5sum(file.path(cx$dir, name))[[1]], label = name)
  }
})

test_that("R and the CLI produce byte-identical encodings", {
  cx <- cli_fixture()
  s <- bl_schema_load(file.path(cx$dir, "schema.json"))
  key <- bl_key_load(cx$key)
  for (src in SOURCES) {
    p <- bl_profile_load(file.path(cx$dir, paste0(src, ".profile.json")), s)
    enc <- bl_encoder(s, p, key)
    extract <- file.path(cx$dir, paste0(src, ".csv"))
    r_ble <- tempfile(fileext = ".ble")
    r_ids <- tempfile(fileext = ".ids")
    r_content <- tempfile(fileext = ".csv")
    bl_encode_csv(enc, extract, r_ble, content = r_content, id_map = r_ids)
    cli <- bl_read_ble(cx$ble[[src]], filters = "hex")
    via_csv <- bl_read_ble(r_ble, filters = "hex")
    via_rows <- bl_encode(enc, bl_read_csv(extract, p), filters = "hex")
    expect_identical(plain(via_csv), plain(cli), label = paste(src, "encode_csv"))
    expect_identical(plain(via_rows), plain(cli), label = paste(src, "encode rows"))
    hc <- attr(cli, "header")
    hr <- attr(via_csv, "header")
    hc$record_count <- hr$record_count <- NULL
    expect_identical(hr, hc)
    # id maps and content files carry no timestamp: whole files must agree
    expect_identical(tools::md5sum(r_ids)[[1]], tools::md5sum(cx$ids[[src]])[[1]])
    expect_identical(tools::md5sum(r_content)[[1]], tools::md5sum(cx$content[[src]])[[1]])
  }
})

test_that("R and the CLI produce the same link map and evaluation", {
  cx <- cli_fixture()
  cli_links <- file.path(cx$dir, "links.cli.csv")
  cli_review <- file.path(cx$dir, "review.cli.csv")
  run_cli("match", "--quiet", "--threads", "2", "--out", cli_links, "--review", cli_review,
          unname(cx$ble))
  r_links <- tempfile(fileext = ".csv")
  r_review <- tempfile(fileext = ".csv")
  lm <- bl_match(unname(cx$ble), threads = 2, out = r_links, review_out = r_review)
  expect_identical(readLines(r_links), readLines(cli_links))
  expect_identical(readLines(r_review), readLines(cli_review))
  back <- bl_read_linkmap(cli_links)
  expect_identical(back$record_token, lm$record_token)
  expect_identical(back$entity_id, lm$entity_id)
  expect_equal(back$match_probability, lm$match_probability, tolerance = 1e-6)

  args <- c("evaluate", "--json", "--truth", file.path(cx$dir, "truth.csv"), "--linkmap", cli_links)
  for (src in SOURCES) args <- c(args, "--id-map", paste0(src, "=", cx$ids[[src]]))
  cli_json <- paste(run_cli(args), collapse = "\n")
  ev <- bl_evaluate(file.path(cx$dir, "truth.csv"), cx$ids, lm)
  expect_identical(ev$json, cli_json)
})

test_that("the CLI reads what R writes", {
  cx <- cli_fixture()
  s <- bl_schema_load(file.path(cx$dir, "schema.json"))
  enc <- bl_encoder(s, bl_profile_load(file.path(cx$dir, "gp.profile.json"), s),
                    bl_key_load(cx$key))
  f <- tempfile(fileext = ".ble")
  bl_encode_csv(enc, file.path(cx$dir, "gp.csv"), f)
  out <- run_cli("inspect", f)
  expect_true(any(grepl("source: +gp", out)))
})
