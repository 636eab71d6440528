test_that("matching returns a link map data.frame", {
  fx <- fixture()
  ds <- bl_dataset(fx$ble)
  info <- bl_dataset_info(ds)
  expect_equal(info$sources, SOURCES)
  lm <- bl_match(ds, threads = 1)
  expect_s3_class(lm, "data.frame")
  expect_equal(names(lm), c("source", "record_token", "entity_id", "match_probability",
                            "entity_size"))
  expect_equal(nrow(lm), info$records)
  expect_true(all(lm$match_probability >= 0 & lm$match_probability <= 1))
  # entity_size agrees with the entity ids
  expect_equal(lm$entity_size, as.integer(ave(lm$entity_id, lm$entity_id, FUN = length)))
  # records that are linked have a probability at the threshold
  expect_true(all(lm$match_probability[lm$entity_size > 1] >= 0.5 |
                  lm$match_probability[lm$entity_size > 1] == 0))
  st <- attr(lm, "stats")
  expect_equal(st$records, info$records)
  expect_gt(st$candidate_pairs, 0)
  expect_true(st$em_converged)
  expect_true(bl_model_trained(attr(lm, "model")))
  expect_s3_class(attr(lm, "review"), "data.frame")
  expect_match(attr(lm, "report"), "^\\{")
  # every token of every file is in the map, once
  tokens <- unlist(lapply(fx$ble, function(f) bl_read_ble(f)$token))
  expect_setequal(lm$record_token, tokens)
})

test_that("evaluation against the truth gives a good F1", {
  fx <- fixture()
  lm <- bl_match(fx$ble, threads = 1)
  ev <- bl_evaluate(fx$files$truth, fx$ids, lm)
  expect_s3_class(ev, "bl_evaluation")
  expect_gt(ev$overall$f1, 0.9)
  expect_gt(ev$overall$precision, 0.95)
  expect_true("gp-housing" %in% ev$by_source_pair$pair)
  expect_equal(sum(ev$by_source_pair$actual), ev$overall$actual)
  expect_output(print(ev), "overall")
  # the same through a file written by the library
  f <- tempfile(fileext = ".csv")
  lm2 <- bl_match(fx$ble, threads = 1, out = f)
  expect_equal(bl_evaluate(fx$files$truth, fx$ids, f)$overall, ev$overall)
})

test_that("link maps round-trip through CSV exactly as the library writes them", {
  fx <- fixture()
  f <- tempfile(fileext = ".csv")
  rv <- tempfile(fileext = ".csv")
  lm <- bl_match(fx$ble, threads = 1, out = f, review_out = rv)
  g <- tempfile(fileext = ".csv")
  bl_write_linkmap(lm, g)
  expect_identical(readLines(g), readLines(f))
  back <- bl_read_linkmap(f, review = rv)
  expect_equal(back$record_token, lm$record_token)
  expect_equal(back$entity_id, lm$entity_id)
  expect_equal(back$match_probability, round(lm$match_probability, 6))
  expect_equal(nrow(attr(back, "review")), nrow(attr(lm, "review")))
})

test_that("a saved model gives the same link map; training and threads change nothing", {
  fx <- fixture()
  ds <- bl_dataset(fx$ble)
  m <- bl_model(ds)
  expect_false(bl_model_trained(m))
  st <- bl_train(m, ds, threads = 1)
  expect_true(bl_model_trained(m))
  expect_gt(st$em_iterations, 0)
  f <- tempfile(fileext = ".json")
  bl_model_save(m, f)
  m2 <- bl_model_load(f)
  expect_true(bl_model_trained(m2))
  expect_identical(bl_model_json(m2), bl_model_json(bl_model_parse(readLines(f))))
  a <- bl_match(ds, m2, threads = 1)
  b <- bl_match(ds, bl_model_load(f), threads = 2)
  expect_identical(a[, 1:5], b[, 1:5])
  expect_equal(attr(a, "stats")$em_iterations, 0)
  expect_error(bl_model_parse("{}"), class = "bloomlink_error")
  expect_error(bl_match_options(threshold = 1), class = "bloomlink_misuse_error")
  expect_error(bl_match_options(threshold = 0.5, review_low = 0.6),
               class = "bloomlink_misuse_error")
})

test_that("explain gives a waterfall that adds up", {
  fx <- fixture()
  ds <- bl_dataset(fx$ble)
  lm <- bl_match(ds, threads = 1)
  m <- attr(lm, "model")
  big <- lm$entity_id[match(TRUE, lm$entity_size > 1)]
  pair <- lm[lm$entity_id == big, ][1:2, ]
  w <- bl_explain(ds, m, paste0(pair$source[1], ":", pair$record_token[1]),
                  paste0(pair$source[2], ":", pair$record_token[2]))
  expect_s3_class(w, "data.frame")
  expect_equal(w$step[1], "(prior)")
  expect_equal(w$step[nrow(w)], "(related)")
  expect_true(all(bl_schema_info(bl_schema_load(fx$files$schema))$fields$name %in% w$step))
  expect_equal(w$running_weight[nrow(w)], attr(w, "weight"), tolerance = 1e-9)
  expect_equal(sum(w$weight) + sum(w$tf_adjustment), attr(w, "weight"), tolerance = 1e-9)
  expect_gt(attr(w, "probability"), 0.5)
  # by index and by bare token too
  i <- bl_dataset_find(ds, pair$record_token, pair$source)
  expect_equal(attr(bl_explain(ds, m, i[1], pair$record_token[2]), "weight"), attr(w, "weight"))
  expect_error(bl_explain(ds, m, strrep("0", 32), i[2]), class = "bloomlink_notfound_error")
  # an untrained model is trained first
  m0 <- bl_model(ds)
  w0 <- bl_explain(ds, m0, i[1], i[2], threads = 1)
  expect_true(bl_model_trained(m0))
})

test_that("files under different keys do not mix", {
  fx <- fixture()
  s <- bl_schema_load(fx$files$schema)
  enc <- bl_encoder(s, bl_profile_load(fx$files$profiles[["housing"]], s),
                    bl_key_from_raw(as.raw(1:32)))
  other <- tempfile(fileext = ".ble")
  bl_encode_csv(enc, fx$files$extracts[["housing"]], other)
  e <- expect_error(bl_dataset(c(fx$ble[["gp"]], other)), class = "bloomlink_mismatch_error")
  expect_match(conditionMessage(e), "key")
})
