#' bloomlink: privacy-preserving record linkage with Bloom filter encodings
#'
#' R bindings to libbloomlink, the C library behind the `bloomlink` command.
#' Data holders encode their extracts under a shared secret key into keyed
#' Bloom filter encodings (`.ble` files); a linkage service that never sees
#' the key or any identifier links the encodings into entities; the data
#' controller emits a pseudonymised longitudinal dataset under a signed
#' data-sharing agreement.
#'
#' The flow, one function per step:
#' \describe{
#'   \item{Keys and configuration}{[bl_keygen()], [bl_key_load()],
#'     [bl_schema_load()], [bl_profile_load()].}
#'   \item{Encode (data holders)}{[bl_encoder()], [bl_encode()] for
#'     data.frame rows, [bl_encode_csv()] for whole extracts,
#'     [bl_read_csv()], [bl_record_token()].}
#'   \item{Inspect}{[bl_read_ble()], [bl_dice()].}
#'   \item{Match (linkage service)}{[bl_dataset()], [bl_model()],
#'     [bl_train()], [bl_match()], [bl_explain()], [bl_read_linkmap()],
#'     [bl_write_linkmap()].}
#'   \item{Evaluate}{[bl_evaluate()] against a truth file.}
#'   \item{Governance (data controller)}{[bl_dsa_load()] and friends,
#'     [bl_optout_tokens()], [bl_emit()], [bl_pseudonym()],
#'     [bl_audit_verify()].}
#'   \item{Test data}{[bl_synth()].}
#' }
#' Library objects (keys, schemas, profiles, encoders, datasets, models,
#' agreements) are external pointers that R frees when they are garbage
#' collected; keys are wiped from memory then and are never returned as
#' strings or raw vectors.  Errors are classed conditions, see
#' [bloomlink_error].
#'
#' @keywords internal
#' @useDynLib bloomlink, .registration = TRUE
"_PACKAGE"

.onLoad <- function(libname, pkgname) {
  v <- .Call(C_version)
  # The header this package was built against and the library it loads must
  # agree on major.minor: a newer patch release is fine.
  if (v$number %/% 256 != v$header_number %/% 256) {
    stop(sprintf(paste(
      "bloomlink was built against libbloomlink %s but loaded libbloomlink %s;",
      "reinstall the R package against the library in use"),
      v$header_string, v$string), call. = FALSE)
  }
}

#' Library version and live handles
#'
#' `bl_version()` returns the version of the loaded libbloomlink and of the
#' header the package was built against.  `bl_live_handles()` counts the
#' library objects alive in this process (keys, schemas, encoders, datasets,
#' ...); after `gc()` it drops back when nothing refers to them any more,
#' which is how the tests check that finalizers run.
#'
#' @return `bl_version()`: a list with `string`, `number`, `header_string`
#'   and `header_number`.  `bl_live_handles()`: a number.
#' @export
#' @examples
#' bl_version()$string
#' bl_live_handles()
bl_version <- function() .Call(C_version)

#' @rdname bl_version
#' @export
bl_live_handles <- function() .Call(C_live_handles)

#' Free a library object now
#'
#' Library objects are freed when R garbage-collects them.  `bl_free()`
#' frees one at once (a key is wiped), for example to drop a key as soon as
#' encoding is done.  Afterwards the object is dead: using it raises a
#' `bloomlink_misuse_error`.  The schema, profile and key of a live encoder
#' are borrowed by it: freeing them first is refused (free the encoder, then
#' them).
#'
#' @param x A bloomlink object (key, schema, profile, encoder, dataset, model
#'   or agreement).
#' @return `NULL`, invisibly.
#' @export
#' @examples
#' s <- bl_schema_default()
#' bl_free(s)
#' try(bl_schema_info(s))
bl_free <- function(x) {
  if (!inherits(x, "bloomlink_handle")) bl_misuse("x is not a bloomlink object")
  .Call(C_release, x)
  invisible(NULL)
}

#' @export
print.bloomlink_handle <- function(x, ...) {
  alive <- .Call(C_handle_alive, x)
  cat(sprintf("<%s%s>\n", class(x)[[1L]], if (alive) "" else " (dead)"))
  invisible(x)
}

# helpers ----------------------------------------------------------------------

check_string <- function(x, what) {
  if (!is.character(x) || length(x) != 1L || is.na(x)) bl_misuse("%s must be a single string", what)
  x
}

check_flag <- function(x, what) {
  if (!is.logical(x) || length(x) != 1L || is.na(x)) bl_misuse("%s must be TRUE or FALSE", what)
  x
}

check_handle <- function(x, cls, what) {
  if (!inherits(x, cls)) bl_misuse("%s must be a %s object", what, cls)
  x
}

read_text <- function(path) {
  paste(readLines(path, warn = FALSE, encoding = "UTF-8"), collapse = "\n")
}
