# Finalizers free every library object; failing calls leak nothing.

live_after_gc <- function() {
  invisible(gc())
  invisible(gc())
  bl_live_handles()
}

test_that("handles are freed by the garbage collector", {
  fx <- fixture()
  base <- live_after_gc()
  local({
    s <- bl_schema_load(fx$files$schema)
    p <- bl_profile_load(fx$files$profiles[["gp"]], s)
    k <- bl_key_load(fx$key_path)
    enc <- bl_encoder(s, p, k)
    ds <- bl_dataset(fx$ble[c("gp", "housing")])
    m <- bl_model(ds)
    expect_gte(bl_live_handles(), base + 6)
  })
  expect_equal(live_after_gc(), base)
})

test_that("bl_free releases at once and the finalizer does not free twice", {
  base <- live_after_gc()
  k <- bl_key_from_raw(as.raw(1:32))
  s <- bl_schema_default()
  expect_equal(bl_live_handles(), base + 2)
  bl_free(k)
  bl_free(s)
  expect_equal(bl_live_handles(), base)
  bl_free(s)  # already dead: a no-op
  rm(k, s)
  expect_equal(live_after_gc(), base)
})

test_that("failing calls leave no handle behind", {
  fx <- fixture()
  base <- live_after_gc()
  bad_ble <- tempfile(fileext = ".ble")
  writeBin(as.raw(0:255), bad_ble)
  for (i in 1:20) {
    expect_error(bl_schema_parse("{"), class = "bloomlink_error")
    expect_error(bl_read_ble(bad_ble), class = "bloomlink_error")
    expect_error(bl_dataset(c(fx$ble[["gp"]], bad_ble)), class = "bloomlink_error")
    expect_error(bl_read_csv(tempfile()), class = "bloomlink_error")
    expect_error(bl_model_load(tempfile()), class = "bloomlink_error")
  }
  expect_equal(live_after_gc(), base)
})

test_that("work that runs to completion leaves no handle behind", {
  fx <- fixture()
  base <- live_after_gc()
  lm <- bl_match(fx$ble[c("gp", "housing")], threads = 1)
  invisible(bl_read_ble(fx$ble[["gp"]]))
  invisible(bl_read_linkmap({f <- tempfile(); bl_write_linkmap(lm, f); f}))
  invisible(bl_evaluate(fx$files$truth, fx$ids, lm))
  rm(lm)
  expect_equal(live_after_gc(), base)
})
