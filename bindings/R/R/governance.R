#' Data-sharing agreements
#'
#' A data-sharing agreement (DSA) is JSON that every party signs with
#' Ed25519: project, purpose, parties and their public keys, the content
#' fields allowed per source, generalisation rules, suppression threshold,
#' opt-out handling and expiry (`docs/governance.md` in the bloomlink sources
#' describes every key).  What is signed is the canonical text.  The emitter
#' ([bl_emit()]) runs only under an agreement every party signed and that is
#' in force.
#'
#' `bl_signing_keygen()` writes a new Ed25519 signing key (PKCS#8 PEM, mode
#' 0600) and returns its public key; `bl_signing_key_public()` reads the
#' public key of a key file.  `bl_dsa_load()` / `bl_dsa_parse()` read an
#' agreement; `bl_dsa_set_party_key()` puts a party's public key into a draft
#' (removing every signature, since the text changes); `bl_dsa_sign()` adds a
#' party's signature; `bl_dsa_save()` writes the agreement;
#' `bl_dsa_verify()` checks that every party signed the current text and that
#' the agreement is in force.  An agreement object is a reference: signing
#' and setting keys change it in place.
#'
#' @param path Agreement (JSON) or signing key file.
#' @param overwrite Replace an existing key file.
#' @param json Agreement JSON text.
#' @param name Name used in error messages.
#' @param dsa A `bl_dsa`.
#' @param key Signing key file of one of the parties.
#' @param party Party name.
#' @param public_key Public key, 64 hex digits.
#' @param now Unix seconds for the check or the signature time; 0 is now.
#' @param x A `bl_dsa`.
#' @param ... Unused.
#' @return `bl_signing_keygen()`, `bl_signing_key_public()`: the public key
#'   (hex).  `bl_dsa_load()`, `bl_dsa_parse()`: a `bl_dsa`.
#'   `bl_dsa_info()`: a list of `project_id`, `hash` (SHA-256 of the
#'   canonical text), `canonical` and `parties` (data.frame of `party`,
#'   `public_key`, `signature`: "signed", "unsigned" or "bad signature").
#'   `bl_dsa_verify()`: `TRUE`, or a `bloomlink_signature_error` /
#'   `bloomlink_expired_error`.  The others return `dsa` or `path`,
#'   invisibly.
#' @seealso [bl_emit()]
#' @export
bl_signing_keygen <- function(path, overwrite = FALSE) {
  .Call(C_signing_keygen, check_string(path, "path"), check_flag(overwrite, "overwrite"))
}

#' @rdname bl_signing_keygen
#' @export
bl_signing_key_public <- function(path) .Call(C_signing_key_public, check_string(path, "path"))

#' @rdname bl_signing_keygen
#' @export
bl_dsa_load <- function(path) .Call(C_dsa_load, check_string(path, "path"))

#' @rdname bl_signing_keygen
#' @export
bl_dsa_parse <- function(json, name = "<memory>") {
  if (!is.character(json)) bl_misuse("json must be a character vector")
  .Call(C_dsa_parse, paste(json, collapse = "\n"), check_string(name, "name"))
}

#' @rdname bl_signing_keygen
#' @export
bl_dsa_info <- function(dsa) .Call(C_dsa_info, dsa)

#' @rdname bl_signing_keygen
#' @export
bl_dsa_verify <- function(dsa, now = 0) .Call(C_dsa_verify, dsa, now)

#' @rdname bl_signing_keygen
#' @export
bl_dsa_sign <- function(dsa, key, now = 0) {
  .Call(C_dsa_sign, dsa, check_string(key, "key"), now)
  invisible(dsa)
}

#' @rdname bl_signing_keygen
#' @export
bl_dsa_set_party_key <- function(dsa, party, public_key) {
  .Call(C_dsa_set_party_key, dsa, check_string(party, "party"),
        check_string(public_key, "public_key"))
  invisible(dsa)
}

#' @rdname bl_signing_keygen
#' @export
bl_dsa_save <- function(dsa, path) {
  .Call(C_dsa_save, dsa, check_string(path, "path"))
  invisible(path)
}

#' @rdname bl_signing_keygen
#' @export
print.bl_dsa <- function(x, ...) {
  if (!.Call(C_handle_alive, x)) return(NextMethod())
  i <- bl_dsa_info(x)
  cat(sprintf("<bl_dsa project '%s', hash %s...>\n", i$project_id, substr(i$hash, 1L, 16L)))
  print(i$parties[, c("party", "signature")], row.names = FALSE)
  invisible(x)
}

#' Project pseudonyms
#'
#' The pseudonym of an entity in a project: hex of the first 16 bytes of
#' HMAC-SHA256(project key, project id, entity id).  Different projects
#' (keys) give unlinkable pseudonyms.
#'
#' @param project_key The project's `bl_key` (see [bl_key_load()]).
#' @param project_id Project id, as in the agreement.
#' @param entity_id Entity ids (from a link map).
#' @return Character vector of 32 hex digits.
#' @export
#' @examples
#' k <- bl_key_from_raw(as.raw(32:1))
#' bl_pseudonym(k, "demo-project", c(1, 2, 3))
bl_pseudonym <- function(project_key, project_id, entity_id) {
  ids <- if (is.numeric(entity_id)) trimws(formatC(entity_id, format = "fg", digits = 15)) else entity_id
  .Call(C_pseudonym, check_handle(project_key, "bl_key", "project_key"),
        check_string(project_id, "project_id"), as.character(ids))
}

#' National data opt-out tokens
#'
#' Run by a data holder: reads the extract with its profile, normalises each
#' record's NHS number and writes `source,record_token` rows for the records
#' whose number is on the national data opt-out list (a CSV with one column
#' of NHS numbers, or a column named `nhs_number`).  The NHS numbers never
#' leave the holder; the emitter removes those people, and everything linked
#' to them, from every source's output.
#'
#' @param schema,profile,key The holder's `bl_schema`, `bl_profile`, `bl_key`.
#' @param extract Extract CSV file.
#' @param nhs_list Opt-out list CSV file.
#' @param out Output CSV file (written atomically).
#' @return A one-row data.frame of counts, invisibly.
#' @export
bl_optout_tokens <- function(schema, profile, key, extract, nhs_list, out) {
  invisible(.Call(C_optout, schema, profile, key, check_string(extract, "extract"),
                  check_string(nhs_list, "nhs_list"), check_string(out, "out")))
}

#' Emit the pseudonymised dataset
#'
#' Verifies the agreement, then joins the link map to the holders' content
#' files and writes the pseudonymised longitudinal dataset: a SQLite file
#' (`format = "sqlite"`: tables person, event, provenance, variable), a
#' directory of CSV files (`"csv"`) or one CSV of suppressed person counts
#' (`"aggregate"`, by `aggregate_by`).  Output is atomic: on any failure
#' nothing exists at `out`.  Refusals (unsigned, tampered or expired
#' agreement, disallowed output, missing opt-out list) raise
#' `bloomlink_signature_error`, `bloomlink_expired_error` or
#' `bloomlink_policy_error`.  Every run, refused or not, appends an entry to
#' the audit log.
#'
#' @param dsa Signed agreement file.
#' @param project_key Project key file (owner-only, 32 bytes; see
#'   [bl_keygen()]).
#' @param linkmap Link map: CSV file or data.frame from [bl_match()].
#' @param content Named character vector of content files:
#'   `c(gp = "gp.content.csv", ...)`.
#' @param out Output file or directory.
#' @param format `"sqlite"`, `"csv"` or `"aggregate"` (the default when
#'   `aggregate_by` is given).
#' @param optout Named character vector of opt-out token files from
#'   [bl_optout_tokens()].
#' @param aggregate_by Dimensions for `"aggregate"`: `"sources"`,
#'   `"in_<source>"` or person columns the agreement allows.
#' @param report Optional JSON report file.
#' @param audit_log Audit log file (hash-chained; appended to).
#' @param actor Who runs it.
#' @param now Unix seconds for expiry checks and timestamps; 0 is now.
#' @param overwrite Replace an existing output.
#' @param progress Print progress to the console.
#' @return A one-row data.frame of counts (`dsa_hash`, `audit_entry_hash`,
#'   `persons`, `events`, opt-out and suppression counts, ...) with the
#'   report JSON as attribute `"report"`, invisibly.
#' @seealso [bl_dsa_verify()], [bl_audit_verify()]
#' @export
bl_emit <- function(dsa, project_key, linkmap, content, out,
                    format = if (is.null(aggregate_by)) "sqlite" else "aggregate",
                    optout = NULL, aggregate_by = NULL, report = NULL,
                    audit_log = file.path(dirname(out), "bloomlink-audit.log"),
                    actor = Sys.info()[["user"]], now = 0, overwrite = FALSE,
                    progress = FALSE) {
  format <- match.arg(format, c("sqlite", "csv", "aggregate"))
  check_string(out, "out")
  if (is.data.frame(linkmap)) {
    f <- tempfile("linkmap", fileext = ".csv")
    on.exit(unlink(f))
    bl_write_linkmap(linkmap, f)
    linkmap <- f
  }
  args <- list(dsa = check_string(dsa, "dsa"), project_key = check_string(project_key, "project_key"),
               linkmap = check_string(linkmap, "linkmap"), content = content, optout = optout,
               out = out, format = format, aggregate_by = aggregate_by, report = report,
               audit_log = check_string(audit_log, "audit_log"), actor = check_string(actor, "actor"),
               now = now, overwrite = check_flag(overwrite, "overwrite"))
  res <- .Call(C_emit, args, check_flag(progress, "progress"))
  r <- res$result
  attr(r, "report") <- res$report
  invisible(r)
}

#' Audit log
#'
#' The emitter, signing and opt-out steps append entries to a hash-chained
#' audit log.  `bl_audit_verify()` checks the chain (every entry canonical,
#' in sequence and linked to the one before); with `expect_head` the last
#' entry must have that hash, which also catches entries removed from the
#' end.  A broken chain raises a `bloomlink_checksum_error` naming the first
#' bad entry.  `bl_audit_append()` appends an entry (details: a JSON object
#' of hashes and counts, never identifiers).
#'
#' @param path Audit log file.
#' @param expect_head Expected hash of the last entry, or `NULL`.
#' @param actor Who acts.
#' @param command What was done.
#' @param details JSON object text.
#' @param now Unix seconds; 0 is now.
#' @return `bl_audit_verify()`: a list of `entries` and `head` (hash of the
#'   last entry).  `bl_audit_append()`: the new head hash.
#' @export
bl_audit_verify <- function(path, expect_head = NULL) {
  .Call(C_audit_verify, check_string(path, "path"), expect_head)
}

#' @rdname bl_audit_verify
#' @export
bl_audit_append <- function(path, actor, command, details = "{}", now = 0) {
  .Call(C_audit_append, check_string(path, "path"), check_string(actor, "actor"),
        check_string(command, "command"), check_string(details, "details"), now)
}
