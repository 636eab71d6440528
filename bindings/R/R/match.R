#' Datasets of encodings
#'
#' A dataset holds every record of one or more encoding files (one per
#' source, or several files of one source).  The first file fixes the
#' layout; later files must share its schema fingerprint, key fingerprint and
#' layout, else a `bloomlink_mismatch_error` names both files.
#'
#' @param files Encoding files (`.ble`).
#' @param progress Print progress to the console.
#' @param dataset A `bl_dataset`.
#' @param token Record tokens (32 hex digits).
#' @param source Source name for each token, or `NA` to search all sources.
#' @param x A `bl_dataset`.
#' @param ... Unused.
#' @return `bl_dataset()`: a `bl_dataset` object.  `bl_dataset_info()`: a
#'   list with `records` and `sources`.  `bl_dataset_find()`: 1-based record
#'   indices, `NA` where a token is not in the dataset.
#' @seealso [bl_match()], [bl_model()], [bl_explain()]
#' @export
bl_dataset <- function(files, progress = FALSE) {
  if (!is.character(files) || length(files) < 1L || anyNA(files)) {
    bl_misuse("files must name at least one .ble file")
  }
  .Call(C_dataset_new, files, check_flag(progress, "progress"))
}

#' @rdname bl_dataset
#' @export
bl_dataset_info <- function(dataset) .Call(C_dataset_info, dataset)

#' @rdname bl_dataset
#' @export
bl_dataset_find <- function(dataset, token, source = NA_character_) {
  .Call(C_dataset_find, dataset, as.character(source), as.character(token))
}

#' @rdname bl_dataset
#' @export
print.bl_dataset <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  i <- bl_dataset_info(x)
  cat(sprintf("<bl_dataset %g records from %d source(s): %s>\n", i$records,
              length(i$sources), paste(i$sources, collapse = ", ")))
  invisible(x)
}

#' Matching options
#'
#' Options for [bl_train()], [bl_match()] and [bl_explain()], with the
#' library's defaults (those of `bloomlink match`).
#'
#' @param threshold Link pairs with match probability at least this (0-1).
#' @param review_low Lower edge of the clerical review band.
#' @param unique Sources with at most one record per person (e.g. `"gp"`):
#'   two of their records join only on very strong evidence.
#' @param threads Worker threads; 0 uses every CPU.
#' @param max_block Blocks with more records are skipped, with a warning.
#' @param lsh_bands CLK bit-sampling LSH bands; 0 disables LSH.
#' @param lsh_bits Bits sampled per band.
#' @param u_pairs Random pairs for u probabilities.
#' @param em_max_iterations Cap on EM iterations.
#' @param em_tolerance EM stops when no parameter moves more than this.
#' @param seed Seed for random pairs and LSH bit positions.
#' @param unique_min_probability Probability needed to join two records of a
#'   `unique` source.
#' @param merge_support Mean cross-pair probability needed to merge two
#'   clusters.
#' @param retrain Re-estimate m and the prior even if the model is trained.
#' @return A list of class `bl_match_options`.
#' @export
#' @examples
#' str(bl_match_options(threshold = 0.95, unique = "gp"))
bl_match_options <- function(threshold = 0.5, review_low = 0.1, unique = character(),
                             threads = 0, max_block = 1000, lsh_bands = 24, lsh_bits = 64,
                             u_pairs = 4e6, em_max_iterations = 1000, em_tolerance = 1e-6,
                             seed = 1, unique_min_probability = 0.999, merge_support = 0.5,
                             retrain = FALSE) {
  num <- function(x, what, lo, hi) {
    if (!is.numeric(x) || length(x) != 1L || is.na(x) || x < lo || x > hi) {
      bl_misuse("%s must be a number from %g to %g", what, lo, hi)
    }
    x
  }
  whole <- function(x, what, lo, hi) {
    num(x, what, lo, hi)
    if (x != round(x)) bl_misuse("%s must be a whole number", what)
    x
  }
  if (!is.numeric(threshold) || length(threshold) != 1L || is.na(threshold) ||
      threshold <= 0 || threshold >= 1) {
    bl_misuse("threshold must be a probability strictly between 0 and 1")
  }
  num(review_low, "review_low", 0, 1)
  if (review_low > threshold) bl_misuse("review_low is above threshold")
  if (!is.character(unique) || anyNA(unique)) bl_misuse("unique must name sources")
  structure(class = "bl_match_options", list(
    threshold = threshold, review_low = review_low, unique = unique,
    threads = whole(threads, "threads", 0, 256),
    max_block = whole(max_block, "max_block", 0, 2^52),
    lsh_bands = whole(lsh_bands, "lsh_bands", 0, 1024),
    lsh_bits = whole(lsh_bits, "lsh_bits", 1, 64),
    u_pairs = whole(u_pairs, "u_pairs", 1, 2^52),
    em_max_iterations = whole(em_max_iterations, "em_max_iterations", 1, 2^31 - 1),
    em_tolerance = num(em_tolerance, "em_tolerance", 0, 1),
    seed = whole(seed, "seed", 0, 2^52),
    unique_min_probability = num(unique_min_probability, "unique_min_probability", 0, 1),
    merge_support = num(merge_support, "merge_support", 0, 1),
    retrain = check_flag(retrain, "retrain")
  ))
}

check_options <- function(options) {
  if (!inherits(options, "bl_match_options")) {
    bl_misuse("options must be made by bl_match_options()")
  }
  unclass(options)
}

#' Matching models
#'
#' A Fellegi-Sunter model: per field, agreement levels (Dice bands) with m
#' and u probabilities, a prior, and term-frequency adjustments.
#' `bl_model()` makes an untrained model for a dataset's fields;
#' `bl_model_load()` and `bl_model_parse()` read one saved by
#' `bl_model_save()` (hand-editable JSON, whose text `bl_model_json()`
#' returns).  `bl_train()` estimates u from random pairs, then m and the
#' prior by EM over the candidate pairs, updating the model in place: a
#' model object is a reference, like an environment.
#'
#' @param dataset A `bl_dataset`.
#' @param path Model file (JSON).
#' @param json Model JSON text.
#' @param name Name used in error messages.
#' @param model A `bl_model`.
#' @param ... Options for [bl_match_options()].
#' @param options A `bl_match_options` list.
#' @param progress Print progress to the console.
#' @param x A `bl_model`.
#' @return `bl_model()`, `bl_model_load()`, `bl_model_parse()`: a
#'   `bl_model`.  `bl_model_json()`: the JSON text.  `bl_model_trained()`:
#'   `TRUE` once estimated.  `bl_train()`: a one-row data.frame of
#'   statistics (candidate pairs, EM iterations, ...), invisibly; matcher
#'   warnings are signalled as `bloomlink_warning`s.
#' @seealso [bl_match()], [bl_explain()]
#' @export
bl_model <- function(dataset) .Call(C_model_default, check_handle(dataset, "bl_dataset", "dataset"))

#' @rdname bl_model
#' @export
bl_model_load <- function(path) .Call(C_model_load, check_string(path, "path"))

#' @rdname bl_model
#' @export
bl_model_parse <- function(json, name = "<memory>") {
  if (!is.character(json)) bl_misuse("json must be a character vector")
  .Call(C_model_parse, paste(json, collapse = "\n"), check_string(name, "name"))
}

#' @rdname bl_model
#' @export
bl_model_save <- function(model, path) {
  .Call(C_model_save, model, check_string(path, "path"))
  invisible(path)
}

#' @rdname bl_model
#' @export
bl_model_json <- function(model) .Call(C_model_json, model)

#' @rdname bl_model
#' @export
bl_model_trained <- function(model) .Call(C_model_trained, model)

#' @rdname bl_model
#' @export
bl_train <- function(model, dataset, ..., options = bl_match_options(...), progress = FALSE) {
  res <- .Call(C_model_train, check_handle(model, "bl_model", "model"),
               check_handle(dataset, "bl_dataset", "dataset"), check_options(options),
               check_flag(progress, "progress"))
  bl_warn(res$warnings)
  invisible(res$stats)
}

#' @rdname bl_model
#' @export
print.bl_model <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  cat(sprintf("<bl_model, %s>\n", if (bl_model_trained(x)) "trained" else "untrained"))
  invisible(x)
}

#' Link records into entities
#'
#' Links the records of a dataset: candidate pairs from keyed blocking keys
#' and LSH on the CLK, field-by-field comparison (Dice of field filters to
#' agreement levels), Fellegi-Sunter scoring with a model (trained first by
#' EM when untrained, or with `retrain = TRUE`), and clustering across all
#' sources under evidence constraints.  The result is the link map: one row
#' per record.
#'
#' @param dataset A `bl_dataset`, or a character vector of `.ble` files.
#' @param model A `bl_model`, or `NULL` for a new untrained one.  A model
#'   given is updated in place when it is trained.
#' @param ... Options for [bl_match_options()], e.g. `threshold = 0.95`.
#' @param options A `bl_match_options` list.
#' @param out,review_out Optional files to which the library writes the link
#'   map and the review pairs as CSV (as `bloomlink match --out` and
#'   `--review` do).
#' @param progress Print progress to the console.
#' @return A data.frame with columns `source`, `record_token`, `entity_id`
#'   (equal ids mean the same person), `match_probability` (of the record's
#'   strongest accepted link; 0 if none) and `entity_size`, and attributes
#'   `"review"` (data.frame of pairs for clerical review: `source_a`,
#'   `record_token_a`, `source_b`, `record_token_b`, `match_weight`,
#'   `match_probability`, `reason`), `"stats"` (one-row data.frame), `"model"`
#'   (the `bl_model` used) and `"report"` (link rates by source, age band and
#'   sex, as JSON text).
#' @seealso [bl_evaluate()], [bl_explain()], [bl_write_linkmap()]
#' @export
#' @examples
#' \donttest{
#' d <- tempfile()
#' f <- bl_synth(d, people = 200)
#' key <- bl_key_from_raw(as.raw(1:32))
#' s <- bl_schema_load(f$schema)
#' ble <- character()
#' for (src in names(f$extracts)) {
#'   enc <- bl_encoder(s, bl_profile_load(f$profiles[[src]], s), key)
#'   ble[src] <- file.path(d, paste0(src, ".ble"))
#'   bl_encode_csv(enc, f$extracts[[src]], ble[[src]])
#' }
#' links <- bl_match(ble, threads = 1)
#' head(links)
#' }
bl_match <- function(dataset, model = NULL, ..., options = bl_match_options(...),
                     out = NULL, review_out = NULL, progress = FALSE) {
  if (is.character(dataset)) dataset <- bl_dataset(dataset)
  check_handle(dataset, "bl_dataset", "dataset")
  if (!is.null(model)) check_handle(model, "bl_model", "model")
  if (!is.null(out)) check_string(out, "out")
  if (!is.null(review_out)) check_string(review_out, "review_out")
  res <- .Call(C_match, dataset, model, check_options(options), out, review_out,
               check_flag(progress, "progress"))
  bl_warn(res$warnings)
  lm <- res$linkmap
  attr(lm, "review") <- res$review
  attr(lm, "stats") <- res$stats
  attr(lm, "model") <- res$model
  attr(lm, "report") <- res$report
  lm
}

#' Read and write link maps
#'
#' `bl_read_linkmap()` reads a link map CSV written by `bloomlink match` or
#' [bl_match()] (`source,record_token,entity_id,match_probability,entity_size`),
#' and optionally its review CSV.  `bl_write_linkmap()` writes a link map
#' data.frame in the same format, as the library does (probabilities with
#' six decimals).
#'
#' @param path Link map CSV.
#' @param review Review pairs CSV, or `NULL`.
#' @param linkmap A link map data.frame.
#' @return `bl_read_linkmap()`: a link map data.frame as [bl_match()] returns
#'   it, with attribute `"review"`.  `bl_write_linkmap()`: `path`,
#'   invisibly.
#' @export
bl_read_linkmap <- function(path, review = NULL) {
  res <- .Call(C_linkmap_read, check_string(path, "path"), review)
  lm <- res$linkmap
  attr(lm, "review") <- res$review
  lm
}

#' @rdname bl_read_linkmap
#' @export
bl_write_linkmap <- function(linkmap, path) {
  need <- c("source", "record_token", "entity_id", "match_probability", "entity_size")
  if (!is.data.frame(linkmap) || !all(need %in% names(linkmap))) {
    bl_misuse("linkmap must be a data.frame with columns %s", paste(need, collapse = ", "))
  }
  check_string(path, "path")
  src <- as.character(linkmap$source)
  quote <- grepl("[\",\r\n]", src)
  src[quote] <- paste0("\"", gsub("\"", "\"\"", src[quote], fixed = TRUE), "\"")
  lines <- sprintf("%s,%s,%.0f,%.6f,%d", src, as.character(linkmap$record_token),
                   as.numeric(linkmap$entity_id), as.numeric(linkmap$match_probability),
                   as.integer(linkmap$entity_size))
  con <- file(path, open = "wb")
  on.exit(close(con))
  writeLines(c(paste(need, collapse = ","), if (nrow(linkmap)) lines), con, sep = "\n")
  invisible(path)
}

#' Explain a pair's score
#'
#' The per-field evidence behind the match weight of two records, as a
#' waterfall: the prior weight, then each field's agreement level, Dice, m,
#' u, weight log2(m/u) and term-frequency adjustment, then the adjustment
#' for evidence that the pair is related but not one person (household,
#' twins), with the running total.  An untrained model is trained first (in
#' place), as `bloomlink explain` does.
#'
#' @param dataset A `bl_dataset`.
#' @param model A `bl_model`.
#' @param a,b The two records: dataset indices (see [bl_dataset_find()]),
#'   record tokens, or `"source:token"`.
#' @param ... Options for [bl_match_options()] (used when training).
#' @param options A `bl_match_options` list.
#' @return A data.frame with columns `step`, `level`, `dice`, `m`, `u`,
#'   `weight`, `tf_adjustment` and `running_weight`, and attributes
#'   `"weight"` (the match weight) and `"probability"`.
#' @export
bl_explain <- function(dataset, model, a, b, ..., options = bl_match_options(...)) {
  check_handle(dataset, "bl_dataset", "dataset")
  check_handle(model, "bl_model", "model")
  res <- .Call(C_explain, dataset, model, record_index(dataset, a, "a"),
               record_index(dataset, b, "b"), check_options(options))
  w <- res$waterfall
  attr(w, "prior_weight") <- res$prior_weight
  attr(w, "related_adjustment") <- res$related_adjustment
  attr(w, "weight") <- res$weight
  attr(w, "probability") <- res$probability
  w
}

record_index <- function(dataset, x, what) {
  if (is.numeric(x) && length(x) == 1L && !is.na(x)) return(as.numeric(x))
  if (!is.character(x) || length(x) != 1L || is.na(x)) {
    bl_misuse("%s must be a record index, token or \"source:token\"", what)
  }
  if (grepl(":", x, fixed = TRUE)) {
    src <- sub(":[^:]*$", "", x)
    tok <- sub("^.*:", "", x)
  } else {
    src <- NA_character_
    tok <- x
  }
  i <- bl_dataset_find(dataset, tok, src)
  if (is.na(i)) {
    cond <- structure(
      class = c("bloomlink_notfound_error", "bloomlink_error", "error", "condition"),
      list(message = sprintf("record %s not found in the dataset", x), call = NULL,
           code = 11L, status = "not found", text = "record not found",
           file = NA_character_, line = NA_real_, column = NA_real_, record = NA_real_,
           position = NA_real_, field = NA_character_))
    stop(cond)
  }
  i
}

#' Evaluate a link map against the truth
#'
#' Pairwise precision, recall and F1 of a link map, overall and per source
#' pair, with the number of persons split over several entities and of
#' entities holding several persons.  The truth file has columns
#' `source,record_id,person_id` (as [bl_synth()] writes `truth.csv`); the id
#' maps (`record_id,record_token`, written by [bl_encode_csv()]) turn record
#' ids into tokens.
#'
#' @param truth Truth CSV file.
#' @param id_maps Named character vector: `c(source = "ids.csv", ...)`.
#' @param linkmap Link map: a CSV file or a data.frame from [bl_match()].
#' @param x A `bl_evaluation`.
#' @param ... Unused.
#' @return A list of class `bl_evaluation`: `overall` (one-row data.frame of
#'   `pair`, `precision`, `recall`, `f1`, `true_positive`, `predicted`,
#'   `actual`), `by_source_pair` (the same per source pair, named `"a-b"`),
#'   `split_persons`, `merged_entities` and `json`.
#' @export
bl_evaluate <- function(truth, id_maps, linkmap) {
  check_string(truth, "truth")
  if (!is.character(id_maps) || is.null(names(id_maps)) || length(id_maps) < 1L) {
    bl_misuse("id_maps must be a named character vector: source = file")
  }
  if (is.data.frame(linkmap)) {
    f <- tempfile("linkmap", fileext = ".csv")
    on.exit(unlink(f))
    bl_write_linkmap(linkmap, f)
    linkmap <- f
  }
  res <- .Call(C_evaluate, truth, names(id_maps), unname(id_maps),
               check_string(linkmap, "linkmap"))
  structure(res, class = "bl_evaluation")
}

#' @rdname bl_evaluate
#' @export
print.bl_evaluation <- function(x, ...) {
  tab <- rbind(x$overall, x$by_source_pair[x$by_source_pair$predicted > 0 |
                                           x$by_source_pair$actual > 0, , drop = FALSE])
  print(tab, row.names = FALSE, digits = 4)
  cat(sprintf("split persons: %g, merged entities: %g\n", x$split_persons, x$merged_entities))
  invisible(x)
}
