#' Read an encoding file
#'
#' Reads every record of a `.ble` encoding file (checking block checksums
#' and the trailer) into a data.frame with one row per record:
#' \describe{
#'   \item{source}{the source name from the header.}
#'   \item{token}{record token, 32 hex digits.}
#'   \item{present}{presence bitmask: bit `i` (value `2^(i-1)`) is set when
#'     the `i`-th field was present.}
#'   \item{sex, age_band}{coarse link-rate attributes: sex 0 unknown, 1 male,
#'     2 female; age band 0 unknown, else 1 + age %/% 10 at encoding.}
#'   \item{one column per field}{the field filter, named by the field.}
#'   \item{clk}{the record-level filter (CLK).}
#'   \item{bk_<name>}{keyed blocking keys as 16 hex digits, `NA` when absent.}
#' }
#' Filters are raw vectors in a list-column (`filters = "raw"`) or hex
#' strings (`"hex"`), in the file's byte order: 64-bit little-endian words,
#' so bit `p` of a filter is bit `p %% 8` of byte `p %/% 8`.
#'
#' @param path Encoding file.
#' @param filters `"raw"` or `"hex"`.
#' @param header_only Return only the header.
#' @return A data.frame with an attribute `"header"`: a list with `version`,
#'   `source`, `schema_fingerprint`, `key_fingerprint`, `record_count`,
#'   `fields` (data.frame of `name`, `type`, `bits`), `clk_bits`,
#'   `blocking_keys` and `record_bytes`.  With `header_only = TRUE`, that
#'   list.
#' @seealso [bl_encode_csv()], [bl_dice()]
#' @export
#' @examples
#' d <- tempfile()
#' bl_synth(d, people = 50)
#' s <- bl_schema_load(file.path(d, "schema.json"))
#' p <- bl_profile_load(file.path(d, "gp.profile.json"), s)
#' enc <- bl_encoder(s, p, bl_key_from_raw(as.raw(1:32)))
#' bl_encode_csv(enc, file.path(d, "gp.csv"), file.path(d, "gp.ble"))
#' recs <- bl_read_ble(file.path(d, "gp.ble"))
#' head(recs[, c("token", "present")])
#' attr(recs, "header")$fields
bl_read_ble <- function(path, filters = c("raw", "hex"), header_only = FALSE) {
  filters <- match.arg(filters)
  res <- .Call(C_read_ble, check_string(path, "path"), filters == "hex",
               check_flag(header_only, "header_only"))
  if (header_only) return(res)
  out <- res[[1L]]
  attr(out, "header") <- res[[2L]]
  out
}
