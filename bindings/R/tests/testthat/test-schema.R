test_that("the default schema describes its fields", {
  s <- bl_schema_default()
  i <- bl_schema_info(s)
  expect_s3_class(i$fields, "data.frame")
  expect_true(all(c("given_name", "family_name", "dob", "nhs_number") %in% i$fields$name))
  expect_match(i$fingerprint, "^[0-9a-f]{64}$")
  expect_true(all(i$fields$bits %% 64 == 0))
  # the shipped JSON parses to the same schema
  expect_identical(bl_schema_info(bl_schema_parse(bl_schema_default_json()))$fingerprint,
                   i$fingerprint)
  expect_output(print(s), "bl_schema")
})

test_that("schema and profile errors are classed and located", {
  e <- expect_error(bl_schema_parse('{\n  "fields": [\n  oops\n}', name = "bad.json"),
                    class = "bloomlink_parse_error")
  expect_s3_class(e, "bloomlink_error")
  expect_equal(e$file, "bad.json")
  expect_equal(e$line, 3)
  expect_match(conditionMessage(e), "^bad\\.json:3:")
  expect_error(bl_schema_parse('{"fields": 3}'), class = "bloomlink_schema_error")
  expect_error(bl_schema_load(tempfile()), class = "bloomlink_io_error")

  s <- bl_schema_default()
  e <- expect_error(bl_profile_parse('{"source": "gp", "record_id": "id",
    "fields": {"no_such_field": {"column": "x"}}}', s), class = "bloomlink_error")
  expect_false(is.na(e$field))
})

test_that("profiles report their columns", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  p <- bl_profile_load(fx$files$profiles[["gp"]], s)
  i <- bl_profile_info(p)
  expect_equal(i$source, "gp")
  expect_equal(i$record_id_column, "PatientID")
  expect_equal(i$fields$column[i$fields$field == "given_name"], "Forename")
  expect_true("EventDate" %in% i$content)
  expect_output(print(p), "source 'gp'")
})

test_that("bl_read_csv reads as the library does", {
  f <- tempfile(fileext = ".csv")
  con <- file(f, "wb")
  writeBin(c(as.raw(c(0xef, 0xbb, 0xbf)), charToRaw('id,name,note\r\n1,"Smith, John","two\nlines"\r\n2,,NA\r\n')), con)
  close(con)
  x <- bl_read_csv(f)
  expect_equal(names(x), c("id", "name", "note"))
  expect_equal(x$name, c("Smith, John", ""))
  expect_equal(x$note, c("two\nlines", "NA"))
  expect_type(x$id, "character")
  writeLines(c("a,b", "1,2,3"), f)
  e <- expect_error(bl_read_csv(f), class = "bloomlink_parse_error")
  expect_equal(e$line, 2)
})
