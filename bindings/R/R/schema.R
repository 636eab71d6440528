#' Linkage schemas
#'
#' The linkage schema is the JSON all holders agree on: the identifier
#' fields, their types, normalisers, filter sizes and hardening, and the
#' blocking keys (`docs/schema.md` in the bloomlink sources describes it).
#' It is not secret.  `bl_schema_load()` reads a schema file,
#' `bl_schema_parse()` parses JSON text and `bl_schema_default()` returns
#' the shipped default schema for English health and care data (whose text
#' is `bl_schema_default_json()`).
#'
#' @param path Schema file (JSON).
#' @param json Schema JSON text (one string; several lines are joined).
#' @param name Name used in error messages.
#' @param schema A `bl_schema` object.
#' @return A `bl_schema` object; `bl_schema_info()` returns a list with the
#'   schema `fingerprint` (SHA-256 of the canonical JSON), `fields` (a
#'   data.frame of `name`, `type`, `bits`), `clk_bits`, `blocking_keys` and
#'   the `canonical` JSON.
#' @seealso [bl_profile_load()], [bl_encoder()]
#' @export
#' @examples
#' s <- bl_schema_default()
#' bl_schema_info(s)$fields
bl_schema_load <- function(path) .Call(C_schema_load, check_string(path, "path"))

#' @rdname bl_schema_load
#' @export
bl_schema_parse <- function(json, name = "<memory>") {
  if (!is.character(json)) bl_misuse("json must be a character vector")
  .Call(C_schema_parse, paste(json, collapse = "\n"), check_string(name, "name"))
}

#' @rdname bl_schema_load
#' @export
bl_schema_default <- function() .Call(C_schema_default)

#' @rdname bl_schema_load
#' @export
bl_schema_default_json <- function() .Call(C_schema_default_json)

#' @rdname bl_schema_load
#' @export
bl_schema_info <- function(schema) .Call(C_schema_info, schema)

#' @export
print.bl_schema <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  i <- bl_schema_info(x)
  cat(sprintf("<bl_schema %s...: %d fields, CLK %g bits, %d blocking keys>\n",
              substr(i$fingerprint, 1L, 16L), nrow(i$fields), i$clk_bits,
              length(i$blocking_keys)))
  print(i$fields, row.names = FALSE)
  invisible(x)
}

#' Source profiles
#'
#' A source profile says which columns of one holder's extract feed which
#' schema field (with date formats, or a full-name column to split), which
#' column holds the local record id, and which columns are content (passed to
#' the data controller, never to the linkage service).  It is parsed against
#' a schema.
#'
#' @param path Profile file (JSON).
#' @param json Profile JSON text.
#' @param schema The `bl_schema` the profile refers to.
#' @param name Name used in error messages.
#' @param profile A `bl_profile` object.
#' @return A `bl_profile` object.  `bl_profile_info()` returns a list with
#'   `source`, `record_id_column`, `separator`, `skip_initial_space`,
#'   `fields` (a data.frame of schema `field` and extract `column`, `NA` when
#'   the source lacks the field) and `content` (content column names).
#' @export
#' @examples
#' s <- bl_schema_default()
#' p <- bl_profile_parse('{"source": "gp", "record_id": "id",
#'   "fields": {"given_name": {"column": "first"},
#'              "family_name": {"column": "last"}}}', s)
#' bl_profile_info(p)$fields
bl_profile_load <- function(path, schema) {
  .Call(C_profile_load, check_string(path, "path"), check_handle(schema, "bl_schema", "schema"))
}

#' @rdname bl_profile_load
#' @export
bl_profile_parse <- function(json, schema, name = "<memory>") {
  if (!is.character(json)) bl_misuse("json must be a character vector")
  .Call(C_profile_parse, paste(json, collapse = "\n"), check_string(name, "name"),
        check_handle(schema, "bl_schema", "schema"))
}

#' @rdname bl_profile_load
#' @export
bl_profile_info <- function(profile) .Call(C_profile_info, profile)

#' @export
print.bl_profile <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  i <- bl_profile_info(x)
  cat(sprintf("<bl_profile source '%s', record id column '%s', %d content columns>\n",
              i$source, i$record_id_column, length(i$content)))
  print(i$fields[!is.na(i$fields$column), , drop = FALSE], row.names = FALSE)
  invisible(x)
}

#' Read a CSV extract as the encoder reads it
#'
#' Reads a whole CSV file with the library's RFC 4180 reader (quotes,
#' embedded separators and newlines, CRLF, a UTF-8 byte order mark, `.gz`
#' files) into a data.frame of character columns named by the header, with
#' no type conversion and no `NA`s: exactly the values [bl_encode_csv()]
#' would see, so that `bl_encode(enc, bl_read_csv(f, profile))` gives the
#' same records as `bl_encode_csv(enc, f, ...)`.
#'
#' @param path CSV file.
#' @param profile Optional `bl_profile`: its separator and
#'   skip-initial-space setting are used.
#' @param sep Separator (one character) when no profile is given.
#' @param skip_initial_space Drop spaces after a separator.
#' @return A data.frame of character columns.
#' @export
#' @examples
#' f <- tempfile(fileext = ".csv")
#' writeLines(c("id,name", '1,"Smith, John"'), f)
#' bl_read_csv(f)
bl_read_csv <- function(path, profile = NULL, sep = ",", skip_initial_space = FALSE) {
  if (!is.null(profile)) {
    i <- bl_profile_info(check_handle(profile, "bl_profile", "profile"))
    sep <- i$separator
    skip_initial_space <- i$skip_initial_space
  }
  .Call(C_csv_read, check_string(path, "path"), check_string(sep, "sep"),
        check_flag(skip_initial_space, "skip_initial_space"))
}
