#' Linkage keys
#'
#' The linkage key is 32 random bytes shared by the data holders and never
#' by the linkage service.  `bl_keygen()` writes a new key to an owner-only
#' file (mode 0600) and refuses to overwrite an existing one unless
#' `overwrite = TRUE`.  `bl_key_load()` loads a key file (refusing files
#' that group or others may read).  `bl_key_from_raw()` makes a key from
#' bytes held in R, for tests; the bytes stay in R's memory, so prefer key
#' files.  A key object is an external pointer: R never sees the key bytes,
#' and they are wiped when the object is freed ([bl_free()] or garbage
#' collection).
#'
#' `bl_key_fingerprint()` is the key fingerprint, an HMAC of a fixed label,
#' which reveals nothing about the key; the matcher uses it to refuse
#' encodings made under different keys.  The same functions serve for the
#' project key of [bl_emit()] and [bl_pseudonym()].
#'
#' @param path Key file.
#' @param overwrite Replace an existing file.
#' @param bytes A raw vector of 32 bytes.
#' @param key A key object.
#' @return `bl_keygen()`: the fingerprint of the new key, invisibly.
#'   `bl_key_load()`, `bl_key_from_raw()`: a `bl_key` object.
#'   `bl_key_fingerprint()`: 64 hex digits.
#' @export
#' @examples
#' f <- tempfile(fileext = ".key")
#' bl_keygen(f)
#' k <- bl_key_load(f)
#' bl_key_fingerprint(k)
#' k
bl_keygen <- function(path, overwrite = FALSE) {
  .Call(C_key_generate, check_string(path, "path"), check_flag(overwrite, "overwrite"))
  invisible(bl_key_fingerprint(bl_key_load(path)))
}

#' @rdname bl_keygen
#' @export
bl_key_load <- function(path) .Call(C_key_load, check_string(path, "path"))

#' @rdname bl_keygen
#' @export
bl_key_from_raw <- function(bytes) {
  if (!is.raw(bytes)) bl_misuse("bytes must be a raw vector")
  .Call(C_key_from_raw, bytes)
}

#' @rdname bl_keygen
#' @export
bl_key_fingerprint <- function(key) .Call(C_key_fingerprint, key)

#' @export
print.bl_key <- function(x, ...) {
  if (.Call(C_handle_alive, x)) {
    cat(sprintf("<bl_key fingerprint %s...>\n", substr(bl_key_fingerprint(x), 1L, 16L)))
  } else {
    cat("<bl_key (dead)>\n")
  }
  invisible(x)
}
