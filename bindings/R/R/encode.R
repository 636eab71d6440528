#' Encoders
#'
#' An encoder turns one holder's records into keyed Bloom filter encodings:
#' it normalises each identifier, tokenises it into keyed, salted q-grams and
#' hashes them into a field filter per schema field, a record-level CLK and
#' keyed blocking keys, under a record token derived from the local record
#' id.  It borrows the schema, profile and key, which stay alive as long as
#' the encoder does.
#'
#' @param schema A `bl_schema`.
#' @param profile The source's `bl_profile`, parsed against `schema`.
#' @param key The linkage `bl_key`.
#' @param x A `bl_encoder`.
#' @param ... Unused.
#' @return A `bl_encoder` object.  `bl_encoder_info()` returns a list with
#'   `source`, `record_id_column` and `key_fingerprint`.
#' @seealso [bl_encode()], [bl_encode_csv()], [bl_record_token()]
#' @export
#' @examples
#' s <- bl_schema_default()
#' p <- bl_profile_parse('{"source": "gp", "record_id": "id",
#'   "fields": {"given_name": {"column": "first"},
#'              "family_name": {"column": "last"}}}', s)
#' k <- bl_key_from_raw(as.raw(1:32))
#' enc <- bl_encoder(s, p, k)
#' enc
bl_encoder <- function(schema, profile, key) {
  .Call(C_encoder_new, check_handle(schema, "bl_schema", "schema"),
        check_handle(profile, "bl_profile", "profile"), check_handle(key, "bl_key", "key"))
}

#' @rdname bl_encoder
#' @export
bl_encoder_info <- function(x) .Call(C_encoder_info, x)

#' @rdname bl_encoder
#' @export
print.bl_encoder <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  i <- bl_encoder_info(x)
  cat(sprintf("<bl_encoder source '%s', key fingerprint %s...>\n", i$source,
              substr(i$key_fingerprint, 1L, 16L)))
  invisible(x)
}

as_text <- function(x, name) {
  if (is.character(x)) return(x)
  if (is.factor(x)) return(as.character(x))
  if (inherits(x, "Date") || inherits(x, "POSIXt")) {
    out <- format(x)
  } else if (is.double(x)) {
    out <- trimws(formatC(x, digits = 15L, format = "fg"))
  } else if (is.integer(x) || is.logical(x)) {
    out <- as.character(x)
  } else {
    bl_misuse("column '%s' is a %s; give text columns", name, class(x)[[1L]])
  }
  out[is.na(x)] <- NA_character_
  out
}

#' Encode records
#'
#' `bl_encode()` encodes the rows of a data.frame whose columns are named as
#' the source's CSV header would be (the profile's column names), exactly as
#' [bl_encode_csv()] encodes a file: invalid values are encoded as missing
#' and counted, rows without a record id are skipped, and of several rows
#' with one record id only the first is kept.  Give text columns (as
#' [bl_read_csv()] returns them); numbers are formatted without exponents
#' and `NA` is an empty value.
#'
#' `bl_encode_csv()` encodes a whole extract file into an encoding file
#' (`.ble`) for the linkage service, and optionally the content file (record
#' token plus content columns) for the data controller and the id map
#' (`record_id,record_token`) that stays with the holder.  Outputs appear
#' atomically: on failure none is left behind.
#'
#' The records returned by `bl_encode()` have the same columns as those of
#' [bl_read_ble()], plus `record_id`.
#'
#' @param encoder A `bl_encoder`.
#' @param data A data.frame of the source's columns.
#' @param filters `"raw"` for filters as raw vectors (list-columns) or
#'   `"hex"` for hex strings.
#' @param input Extract CSV file (may be gzip-compressed).
#' @param output Encoding file to write (`.ble`).
#' @param content Content file to write, or `NULL`.
#' @param id_map Id map file to write, or `NULL`.
#' @param progress Print progress to the console.
#' @return `bl_encode()`: a data.frame of encoded records with an attribute
#'   `"stats"`.  `bl_encode_csv()`: a one-row data.frame of counts
#'   (`records_read`, `records_encoded`, `records_rejected`, invalid values by
#'   kind, `missing_salt`, `duplicate_record_id`), invisibly.
#' @seealso [bl_read_ble()], [bl_dice()]
#' @export
#' @examples
#' s <- bl_schema_default()
#' p <- bl_profile_parse('{"source": "gp", "record_id": "id",
#'   "fields": {"given_name": {"column": "first"},
#'              "family_name": {"column": "last"}}}', s)
#' enc <- bl_encoder(s, p, bl_key_from_raw(as.raw(1:32)))
#' recs <- bl_encode(enc, data.frame(id = c("1", "2"), first = c("Ann", "Anne"),
#'                                   last = c("Smith", "Smith")))
#' bl_dice(recs$given_name[1], recs$given_name[2])
bl_encode <- function(encoder, data, filters = c("raw", "hex")) {
  check_handle(encoder, "bl_encoder", "encoder")
  filters <- match.arg(filters)
  if (!is.data.frame(data)) bl_misuse("data must be a data.frame")
  rid <- bl_encoder_info(encoder)$record_id_column
  id <- match(rid, names(data))
  if (is.na(id)) bl_misuse("data has no column '%s' (the profile's record id)", rid)
  cols <- Map(as_text, data, names(data))
  names(cols) <- NULL
  res <- .Call(C_encode_rows, encoder, names(data), cols, id - 1L, filters == "hex")
  out <- res[[1L]]
  stats <- res[[2L]]
  dup <- duplicated(out$token)
  if (any(dup)) {
    out <- out[!dup, , drop = FALSE]
    row.names(out) <- NULL
    stats$duplicate_record_id <- stats$duplicate_record_id + sum(dup)
    stats$records_rejected <- stats$records_rejected + sum(dup)
    stats$records_encoded <- stats$records_encoded - sum(dup)
  }
  attr(out, "stats") <- stats
  out
}

#' @rdname bl_encode
#' @export
bl_encode_csv <- function(encoder, input, output, content = NULL, id_map = NULL,
                          progress = FALSE) {
  check_handle(encoder, "bl_encoder", "encoder")
  invisible(.Call(C_encode_csv, encoder, check_string(input, "input"),
                  check_string(output, "output"), content, id_map,
                  check_flag(progress, "progress")))
}

#' Record tokens
#'
#' The record token of a local record id: HMAC(token sub-key, source and
#' record id), 32 hex digits.  The holder can recompute it; nobody without
#' the key can invert it.
#'
#' @param encoder A `bl_encoder`.
#' @param record_id Character vector of local record ids.
#' @return Character vector of tokens (`NA` for `NA`).
#' @export
#' @examples
#' s <- bl_schema_default()
#' p <- bl_profile_parse('{"source": "gp", "record_id": "id",
#'   "fields": {"given_name": {"column": "first"}}}', s)
#' enc <- bl_encoder(s, p, bl_key_from_raw(as.raw(1:32)))
#' bl_record_token(enc, c("1000001", "1000002"))
bl_record_token <- function(encoder, record_id) {
  .Call(C_record_token, encoder, as.character(record_id))
}
