test_that("keygen writes an owner-only key and refuses to overwrite it", {
  f <- tempfile(fileext = ".key")
  fp <- bl_keygen(f)
  expect_match(fp, "^[0-9a-f]{64}$")
  expect_equal(file.info(f)$size, 32)
  expect_equal(as.character(file.info(f)$mode), "600")
  expect_error(bl_keygen(f), class = "bloomlink_exists_error")
  expect_silent(bl_keygen(f, overwrite = TRUE))
  expect_false(identical(bl_key_fingerprint(bl_key_load(f)), fp))
})

test_that("keys are opaque external pointers", {
  f <- tempfile(fileext = ".key")
  bl_keygen(f)
  k <- bl_key_load(f)
  expect_s3_class(k, "bl_key")
  expect_equal(typeof(k), "externalptr")
  expect_output(print(k), "^<bl_key fingerprint [0-9a-f]{16}\\.\\.\\.>")
  # nothing in the object or its print shows the key bytes
  bytes <- readBin(f, "raw", 32)
  expect_false(grepl(paste(as.character(bytes), collapse = ""),
                     paste(capture.output(print(k), str(k)), collapse = "")))
})

test_that("unusable keys raise bloomlink_key_error", {
  expect_error(bl_key_from_raw(as.raw(1:16)), class = "bloomlink_key_error")
  f <- tempfile(fileext = ".key")
  bl_keygen(f)
  Sys.chmod(f, "644")
  e <- expect_error(bl_key_load(f), class = "bloomlink_key_error")
  expect_equal(e$file, f)
  expect_error(bl_key_load(tempfile()), class = "bloomlink_error")
})

test_that("the fingerprint depends on the key bytes only", {
  a <- bl_key_from_raw(as.raw(1:32))
  b <- bl_key_from_raw(as.raw(1:32))
  c <- bl_key_from_raw(as.raw(32:1))
  expect_identical(bl_key_fingerprint(a), bl_key_fingerprint(b))
  expect_false(identical(bl_key_fingerprint(a), bl_key_fingerprint(c)))
})
