# Shared fixtures: one small synthetic population, encoded once per test run.

SOURCES <- c("gp", "social_care", "housing", "education")

# The bloomlink CLI of the build tree (run-tests.sh sets BLOOMLINK_CLI);
# tests that compare with it are skipped without it.
cli_path <- function() {
  p <- Sys.getenv("BLOOMLINK_CLI")
  if (nzchar(p) && file.exists(p)) p else ""
}

skip_if_no_cli <- function() {
  if (!nzchar(cli_path())) skip("BLOOMLINK_CLI is not set (run bindings/R/run-tests.sh BUILD_DIR)")
}

# Run the CLI; fail the test (with its output) unless it exits 0.
run_cli <- function(...) {
  args <- c(...)
  out <- suppressWarnings(system2(cli_path(), shQuote(args), stdout = TRUE, stderr = TRUE))
  status <- attr(out, "status")
  if (!is.null(status) && status != 0) {
    stop(sprintf("bloomlink %s failed (%d):\n%s", paste(args, collapse = " "), status,
                 paste(out, collapse = "\n")))
  }
  invisible(out)
}

.fixture <- new.env()

# synth (300 people) -> key -> encode x4 with content files and id maps.
fixture <- function() {
  if (!is.null(.fixture$dir)) return(as.list(.fixture))
  dir <- tempfile("bloomlink-test-")
  files <- bl_synth(dir, people = 300, seed = 7)
  # A fixed key keeps the run reproducible (bl_keygen is tested on its own).
  key_path <- file.path(dir, "linkage.key")
  writeBin(as.raw((seq_len(32) * 37) %% 256), key_path)
  Sys.chmod(key_path, "600")
  key <- bl_key_load(key_path)
  schema <- bl_schema_load(files$schema)
  ble <- ids <- content <- character()
  for (src in SOURCES) {
    enc <- bl_encoder(schema, bl_profile_load(files$profiles[[src]], schema), key)
    ble[src] <- file.path(dir, paste0(src, ".ble"))
    ids[src] <- file.path(dir, paste0(src, ".ids"))
    content[src] <- file.path(dir, paste0(src, ".content.csv"))
    bl_encode_csv(enc, files$extracts[[src]], ble[[src]], content = content[[src]],
                  id_map = ids[[src]])
  }
  .fixture$dir <- dir
  .fixture$files <- files
  .fixture$key_path <- key_path
  .fixture$ble <- ble
  .fixture$ids <- ids
  .fixture$content <- content
  as.list(.fixture)
}

# Records without the attributes that legitimately differ between readers.
plain <- function(df) {
  attr(df, "header") <- NULL
  attr(df, "stats") <- NULL
  df$record_id <- NULL
  df
}
