test_that("bl_read_ble returns records and the header", {
  fx <- fixture()
  r <- bl_read_ble(fx$ble[["gp"]])
  h <- attr(r, "header")
  expect_equal(h$source, "gp")
  expect_equal(h$record_count, nrow(r))
  expect_equal(h$schema_fingerprint, bl_schema_info(bl_schema_load(fx$files$schema))$fingerprint)
  expect_equal(h$key_fingerprint, bl_key_fingerprint(bl_key_load(fx$key_path)))
  expect_identical(bl_read_ble(fx$ble[["gp"]], header_only = TRUE)$fields, h$fields)
  expect_true(all(r$present >= 0 & r$present < 2^nrow(h$fields)))
  expect_true(all(r$sex %in% 0:2))
  x <- bl_read_ble(fx$ble[["gp"]], filters = "hex")
  expect_type(x$clk, "character")
  expect_equal(nchar(x$clk[1]), h$clk_bits / 4)
  # blocking keys: 16 hex digits or NA
  bk <- r[[paste0("bk_", h$blocking_keys[1])]]
  expect_true(all(is.na(bk) | grepl("^[0-9a-f]{16}$", bk)))
})

test_that("damaged and foreign files are refused with classed errors", {
  fx <- fixture()
  expect_error(bl_read_ble(fx$files$truth), class = "bloomlink_format_error")
  bytes <- readBin(fx$ble[["gp"]], "raw", file.info(fx$ble[["gp"]])$size)
  cut <- tempfile(fileext = ".ble")
  writeBin(bytes[seq_len(length(bytes) - 40)], cut)
  expect_error(bl_read_ble(cut), class = "bloomlink_error")
  flip <- tempfile(fileext = ".ble")
  bytes[length(bytes) %/% 2] <- xor(bytes[length(bytes) %/% 2], as.raw(0xff))
  writeBin(bytes, flip)
  expect_error(bl_read_ble(flip), class = "bloomlink_checksum_error")
})

test_that("Dice is exact, symmetric and the same on every kernel", {
  a <- as.raw(c(0xff, rep(0, 7)))
  b <- as.raw(c(0x0f, rep(0, 7)))
  expect_equal(bl_dice(a, b), 2 * 4 / (8 + 4))
  expect_equal(bl_dice(a, a), 1)
  expect_equal(bl_dice(raw(8), raw(8)), 0)
  expect_equal(bl_dice("ff00000000000000", "0f00000000000000"), 2 * 4 / 12)
  fx <- fixture()
  r <- bl_read_ble(fx$ble[["gp"]])
  d <- bl_dice(r$family_name, r$family_name[1])
  expect_equal(d[1], 1)
  expect_equal(d, bl_dice(r$family_name[1], r$family_name))
  # reference: popcounts in R
  pop <- function(x) sum(as.integer(rawToBits(x)))
  ref <- vapply(seq_len(20), function(i) {
    x <- r$clk[[i]]; y <- r$clk[[i + 1]]
    pa <- pop(x); pb <- pop(y)
    if (pa + pb == 0) 0 else 2 * pop(x & y) / (pa + pb)
  }, 0)
  expect_equal(bl_dice(r$clk[1:20], r$clk[2:21]), ref)
  old <- bl_kernel()
  on.exit(bl_set_kernel("auto"))
  for (k in c("scalar", "avx2", "avx512")) {
    if (!bl_kernel_available(k)) next
    expect_equal(bl_set_kernel(k), k)
    expect_identical(bl_dice(r$clk[1:20], r$clk[2:21]), ref)
  }
  expect_equal(bl_set_kernel("auto"), old)
})

test_that("Dice refuses filters it cannot compare", {
  expect_error(bl_dice(raw(8), raw(16)), class = "bloomlink_misuse_error")
  expect_error(bl_dice(raw(7), raw(7)), class = "bloomlink_misuse_error")
  expect_error(bl_dice("zz", "00"), class = "bloomlink_misuse_error")
  expect_error(bl_dice(list(raw(8), raw(8)), list(raw(8), raw(8), raw(8))),
               class = "bloomlink_misuse_error")
  expect_equal(bl_dice(NA_character_, "00"), NA_real_)
})
