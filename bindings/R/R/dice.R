#' Dice similarity of Bloom filters
#'
#' `bl_dice()` computes the Dice coefficient 2|a AND b| / (|a| + |b|) of
#' filters pairwise, with the library's kernel (AVX-512, AVX2 or scalar, all
#' giving identical results).  Two empty filters have Dice 0.  Filters are
#' raw vectors (a whole number of 64-bit words) or hex strings, as
#' [bl_read_ble()] and [bl_encode()] return them; a list-column or character
#' column compares element by element, and a single filter is recycled.
#'
#' `bl_kernel()` names the kernel in use; `bl_set_kernel()` forces one for
#' this process (`"auto"` restores the best); `bl_kernel_available()` says
#' whether this CPU can run one.
#'
#' @param a,b Filters: raw vectors, lists of raw vectors or character
#'   vectors of hex.
#' @param kernel `"auto"`, `"scalar"`, `"avx2"` or `"avx512"`.
#' @return `bl_dice()`: numeric vector (`NA` where a hex filter is `NA`).
#'   `bl_kernel()`, `bl_set_kernel()`: the kernel name.
#'   `bl_kernel_available()`: logical.
#' @export
#' @examples
#' a <- as.raw(c(0xff, rep(0, 7)))
#' b <- as.raw(c(0x0f, rep(0, 7)))
#' bl_dice(a, b)   # 2 * 4 / (8 + 4)
#' bl_kernel()
bl_dice <- function(a, b) .Call(C_dice, as_filters(a, "a"), as_filters(b, "b"))

as_filters <- function(x, what) {
  if (is.raw(x)) return(list(x))
  if (is.list(x) || is.character(x)) return(x)
  bl_misuse("%s must be a raw vector, a list of raw vectors or hex strings", what)
}

#' @rdname bl_dice
#' @export
bl_kernel <- function() .Call(C_kernel)

#' @rdname bl_dice
#' @export
bl_set_kernel <- function(kernel = c("auto", "scalar", "avx2", "avx512")) {
  .Call(C_kernel_set, match.arg(kernel))
}

#' @rdname bl_dice
#' @export
bl_kernel_available <- function(kernel = c("auto", "scalar", "avx2", "avx512")) {
  .Call(C_kernel_available, match.arg(kernel))
}

#' Synthetic extracts
#'
#' Writes four synthetic extracts of one invented population (`gp.csv`,
#' `social_care.csv`, `housing.csv`, `education.csv`) with realistic errors
#' (typos, nicknames, moves, duplicates, twins), a source profile for each
#' (`gp.profile.json`, ...), the default `schema.json`, the answer key
#' `truth.csv` (`source,record_id,person_id`) and an opt-out list, into
#' `dir` (created if missing).  The same seed gives identical files.
#'
#' @param dir Output directory.
#' @param people Population size.
#' @param seed Random seed.
#' @param error_rate Scale of typos and variants: 0 clean, 1 realistic.
#' @param progress Print progress to the console.
#' @return A list of file paths (`schema`, `truth`, `optout`, and per source
#'   `extracts` and `profiles`, named by source), invisibly.
#' @export
#' @examples
#' d <- tempfile()
#' files <- bl_synth(d, people = 100)
#' files$extracts
bl_synth <- function(dir, people = 20000, seed = 1, error_rate = 1, progress = FALSE) {
  .Call(C_synth, check_string(dir, "dir"), people, seed, error_rate,
        check_flag(progress, "progress"))
  sources <- c("gp", "social_care", "housing", "education")
  invisible(list(
    schema = file.path(dir, "schema.json"),
    truth = file.path(dir, "truth.csv"),
    optout = file.path(dir, "optout.csv"),
    extracts = stats::setNames(file.path(dir, paste0(sources, ".csv")), sources),
    profiles = stats::setNames(file.path(dir, paste0(sources, ".profile.json")), sources)
  ))
}
