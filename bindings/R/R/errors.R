# Conditions -----------------------------------------------------------------

# Condition classes by bl_status code (index = code + 1).  The enum is
# append-only, so a code this table does not know gets the generic class.
.bl_error_classes <- c(
  NA, "bloomlink_nomem_error", "bloomlink_io_error", "bloomlink_parse_error",
  "bloomlink_schema_error", "bloomlink_key_error", "bloomlink_format_error",
  "bloomlink_checksum_error", "bloomlink_mismatch_error", "bloomlink_misuse_error",
  "bloomlink_crypto_error", "bloomlink_notfound_error", "bloomlink_unsupported_error",
  "bloomlink_invalid_error", "bloomlink_expired_error", "bloomlink_signature_error",
  "bloomlink_policy_error", "bloomlink_exists_error", "bloomlink_cancelled_error"
)

# Called from C (src/util.c blr_raise) with the library's bl_error as a list.
raise_bloomlink_error <- function(info) {
  code <- info$code
  cls <- if (code >= 1L && code < length(.bl_error_classes)) .bl_error_classes[[code + 1L]]
  cond <- structure(
    class = c(cls, "bloomlink_error", "error", "condition"),
    list(
      message = info$message,
      call = sys.call(-1L),
      code = code,
      status = info$status,
      text = info$text,
      file = info$source,
      line = info$line,
      column = info$column,
      record = info$record,
      position = info$position,
      field = info$field
    )
  )
  stop(cond)
}

#' Conditions signalled by bloomlink
#'
#' Every failure of the library is signalled as an R condition of class
#' `c("bloomlink_<kind>_error", "bloomlink_error", "error", "condition")`,
#' so it can be caught by class with [tryCatch()] or [withCallingHandlers()].
#'
#' The kinds follow the library's status codes: `nomem`, `io`, `parse`,
#' `schema`, `key`, `format`, `checksum`, `mismatch`, `misuse` (a bad
#' argument), `crypto`, `notfound`, `unsupported`, `invalid`, `expired`,
#' `signature`, `policy`, `exists` and `cancelled` (also raised when the user
#' interrupts a long operation).
#'
#' Besides `message` (formatted as `FILE:LINE:COL: field 'F': text`, with the
#' parts that do not apply left out) the condition carries:
#' \describe{
#'   \item{code}{the numeric `bl_status`.}
#'   \item{status}{its English name, e.g. `"malformed input"`.}
#'   \item{text}{the message without location.}
#'   \item{file}{the file (or source) that failed, or `NA`.}
#'   \item{line, column, record, position}{where in the file, or `NA`.}
#'   \item{field}{the column, schema field or JSON path, or `NA`.}
#' }
#' Warnings from the matcher (capped blocks) are signalled as conditions of
#' class `c("bloomlink_warning", "warning", "condition")`.
#'
#' @name bloomlink_error
#' @examples
#' res <- tryCatch(bl_schema_parse("{ not json"), bloomlink_error = function(e) e)
#' class(res)
#' res$line
NULL

bl_warn <- function(msgs) {
  for (m in msgs) {
    warning(structure(class = c("bloomlink_warning", "warning", "condition"),
                      list(message = m, call = sys.call(-1L))))
  }
}

bl_misuse <- function(fmt, ...) {
  cond <- structure(
    class = c("bloomlink_misuse_error", "bloomlink_error", "error", "condition"),
    list(message = sprintf(fmt, ...), call = sys.call(-1L), code = 9L,
         status = "library misuse", text = sprintf(fmt, ...), file = NA_character_,
         line = NA_real_, column = NA_real_, record = NA_real_,
         position = NA_real_, field = NA_character_)
  )
  stop(cond)
}
