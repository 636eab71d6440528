test_that("bl_encode on rows equals bl_encode_csv on the file, for every source", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  key <- bl_key_load(fx$key_path)
  for (src in SOURCES) {
    p <- bl_profile_load(fx$files$profiles[[src]], s)
    enc <- bl_encoder(s, p, key)
    rows <- bl_encode(enc, bl_read_csv(fx$files$extracts[[src]], p))
    file <- bl_read_ble(fx$ble[[src]])
    expect_identical(plain(rows), plain(file), label = src)
    # the id map written by bl_encode_csv agrees with record_id -> token
    ids <- utils::read.csv(fx$ids[[src]], colClasses = "character")
    expect_identical(rows$token, ids$record_token)
    expect_identical(rows$record_id, ids$record_id)
    expect_identical(bl_record_token(enc, ids$record_id), ids$record_token)
  }
})

test_that("encoded records have the documented shape", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  enc <- bl_encoder(s, bl_profile_load(fx$files$profiles[["gp"]], s), bl_key_load(fx$key_path))
  x <- bl_read_csv(fx$files$extracts[["gp"]])[1:20, ]
  r <- bl_encode(enc, x)
  fields <- bl_schema_info(s)$fields
  expect_equal(names(r), c("source", "record_id", "token", "present", "sex", "age_band",
                           fields$name, "clk", paste0("bk_", bl_schema_info(s)$blocking_keys)))
  expect_true(all(r$source == "gp"))
  expect_match(r$token, "^[0-9a-f]{32}$")
  expect_type(r$given_name, "list")
  expect_equal(length(r$given_name[[1]]), fields$bits[fields$name == "given_name"] / 8)
  expect_equal(length(r$clk[[1]]), bl_schema_info(s)$clk_bits / 8)
  h <- bl_encode(enc, x, filters = "hex")
  expect_identical(h$given_name, vapply(r$given_name, function(b) paste(as.character(b), collapse = ""), ""))
  expect_equal(attr(r, "stats")$records_encoded, 20)
})

test_that("rows are encoded as the CSV path does: blank ids skipped, first duplicate kept", {
  s <- bl_schema_default()
  p <- bl_profile_parse('{"source": "t", "record_id": "id",
    "fields": {"given_name": {"column": "first"}, "family_name": {"column": "last"},
               "dob": {"column": "dob", "formats": ["%d/%m/%Y"]}}}', s)
  enc <- bl_encoder(s, p, bl_key_from_raw(as.raw(1:32)))
  x <- data.frame(id = c("1", "", "2", "1", NA), first = c("Ann", "Bo", "Cy", "Di", "Ed"),
                  last = "Smith", dob = c("01/02/1990", "", "31/02/1990", NA, "1/1/1990"))
  r <- bl_encode(enc, x)
  expect_equal(r$record_id, c("1", "2"))
  st <- attr(r, "stats")
  expect_equal(st$records_read, 5)
  expect_equal(st$records_encoded, 2)
  expect_equal(st$duplicate_record_id, 1)
  expect_equal(st$records_rejected, 3)
  expect_equal(st$invalid_date, 1)  # 31 February is encoded as missing
  dob_bit <- 2^(match("dob", bl_schema_info(s)$fields$name) - 1)
  expect_equal(bitwAnd(r$present, dob_bit), c(dob_bit, 0))
  # numbers are text without exponents
  y <- data.frame(id = c(1e6, 2e6), first = "Ann", last = "Lee", dob = "")
  expect_equal(bl_encode(enc, y)$record_id, c("1000000", "2000000"))
  expect_error(bl_encode(enc, data.frame(first = "x")), class = "bloomlink_misuse_error")
})

test_that("the encoder keeps what it borrows alive", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  p <- bl_profile_load(fx$files$profiles[["gp"]], s)
  k <- bl_key_load(fx$key_path)
  enc <- bl_encoder(s, p, k)
  expect_error(bl_free(k), class = "bloomlink_misuse_error")
  rm(s, p, k)
  invisible(gc())
  x <- bl_read_csv(fx$files$extracts[["gp"]])[1:5, ]
  expect_equal(nrow(bl_encode(enc, x)), 5)
  expect_output(print(enc), "bl_encoder source 'gp'")
})

test_that("freed and restored handles are refused, not crashed on", {
  k <- bl_key_from_raw(as.raw(1:32))
  bl_free(k)
  expect_error(bl_key_fingerprint(k), class = "bloomlink_misuse_error")
  expect_output(print(k), "dead")
  s <- bl_schema_default()
  f <- tempfile(fileext = ".rds")
  saveRDS(s, f)
  s2 <- readRDS(f)
  expect_error(bl_schema_info(s2), "dead", class = "bloomlink_misuse_error")
  expect_error(bl_schema_info(k), class = "bloomlink_misuse_error")
})

test_that("encode_csv errors name the file and line, and leave no output", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  enc <- bl_encoder(s, bl_profile_load(fx$files$profiles[["gp"]], s), bl_key_load(fx$key_path))
  bad <- tempfile(fileext = ".csv")
  lines <- readLines(fx$files$extracts[["gp"]], n = 5)
  lines[4] <- paste0(lines[4], ',"unterminated')
  writeLines(lines, bad)
  out <- tempfile(fileext = ".ble")
  e <- expect_error(bl_encode_csv(enc, bad, out), class = "bloomlink_parse_error")
  expect_equal(e$file, bad)
  expect_equal(e$line, 4)
  expect_false(file.exists(out))
})
