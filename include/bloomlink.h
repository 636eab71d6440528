/*
 * bloomlink.h - privacy-preserving record linkage with Bloom filter encodings.
 *
 * The one public header.  Sections follow lib/ in the order data flows:
 *   version, status and errors, logging and progress, keys, linkage schema,
 *   source profile, CSV, normalisers, encoder, encoding files (.ble),
 *   filters and Dice kernels, synthetic data, matching.
 *
 * Conventions
 * - Every function that can fail returns a bl_status (BL_OK is 0) and takes an
 *   optional `bl_error *err` (may be NULL).  The first error wins: once err holds
 *   a message, later failures do not overwrite it, so the root cause survives.
 * - Handles are opaque.  Every bl_x_new/open has a bl_x_free/close; passing NULL
 *   to a free function is a no-op.
 * - Returned pointers say who owns them: "owned" (free with the named call) or
 *   "borrowed" (valid until the named event).
 * - The library never prints, exits, reads argv or the environment, or installs
 *   signal handlers.  It is thread-safe per handle: distinct handles may be used
 *   from distinct threads; one handle must not be used by two threads at once
 *   unless the function says so.
 */
#ifndef BLOOMLINK_H
#define BLOOMLINK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bloomlink_version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define BL_RESULT __attribute__((warn_unused_result))
#define BL_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define BL_EXPORT __attribute__((visibility("default")))
#else
#define BL_RESULT
#define BL_NONNULL(...)
#define BL_EXPORT
#endif

/* ---------------------------------------------------------------- version */

/** Runtime version of the linked library, e.g. "0.1.0" (static string). */
BL_EXPORT const char *bl_version_string(void);
/** Runtime version as BL_VERSION_HEX computes it. */
BL_EXPORT unsigned bl_version_number(void);

/* ------------------------------------------------------ status and errors */

/* Append-only: never renumber or reuse a value. */
typedef enum bl_status {
    BL_OK = 0,
    BL_ENOMEM = 1,      /* allocation failed */
    BL_EIO = 2,         /* read, write, open, rename or fsync failed */
    BL_EPARSE = 3,      /* malformed input text (CSV, JSON, dates, ...) */
    BL_ESCHEMA = 4,     /* invalid schema, profile, model or DSA content */
    BL_EKEY = 5,        /* unusable key or key file (size, permissions) */
    BL_EFORMAT = 6,     /* not a bloomlink file, or unknown version */
    BL_ECHECKSUM = 7,   /* checksum mismatch or truncated file */
    BL_EMISMATCH = 8,   /* inputs disagree (schema/key fingerprint, layout) */
    BL_EMISUSE = 9,     /* caller's bug: bad argument, wrong order of calls */
    BL_ECRYPTO = 10,    /* OpenSSL failure */
    BL_ENOTFOUND = 11,  /* column, field, key or record not found */
    BL_EUNSUPPORTED = 12, /* valid but not supported by this build */
    BL_EINVALID = 13,   /* a value failed validation (date, NHS number, ...) */
    BL_EEXPIRED = 14,   /* an agreement or key has expired */
    BL_ESIGNATURE = 15, /* missing or bad signature */
    BL_EPOLICY = 16,    /* refused by governance rules */
    BL_EEXISTS = 17,    /* output exists and overwrite was not asked for */
    BL_ECANCELLED = 18  /* a progress callback asked to stop */
} bl_status;

#define BL_ERROR_TEXT_LENGTH 320
#define BL_ERROR_SOURCE_LENGTH 256
#define BL_ERROR_FIELD_LENGTH 96

/*
 * Where and why something failed.  Zero-initialise (or call bl_error_clear)
 * before use.  Numbers that do not apply are -1 (line, column, record,
 * position) and strings are empty.  `line` counts physical lines from 1;
 * `record` counts data records from 1 (a CSV record may span lines).
 */
typedef struct bl_error {
    int code;          /* a bl_status; 0 when nothing failed */
    long line;
    long column;
    long long record;
    long long position; /* byte offset in the source, when known */
    char source[BL_ERROR_SOURCE_LENGTH]; /* file name or "<memory>" */
    char field[BL_ERROR_FIELD_LENGTH];   /* column, schema field or JSON path */
    char text[BL_ERROR_TEXT_LENGTH];     /* message, no trailing newline */
    char reserved[32];
} bl_error;

/** Reset err so it can be reused (err may be NULL). */
BL_EXPORT void bl_error_clear(bl_error *err);
/** Static English text for a status. */
BL_EXPORT const char *bl_strerror(bl_status status);
/**
 * Format err as "SOURCE:LINE:COL: field 'F': TEXT" (parts that do not apply
 * are left out) into buf.  Returns buf.
 */
BL_EXPORT char *bl_error_format(const bl_error *err, char *buf, size_t size);

/* ----------------------------------------------- logging and progress */

typedef enum bl_log_level { BL_LOG_ERROR, BL_LOG_WARN, BL_LOG_INFO, BL_LOG_DEBUG } bl_log_level;
/** Log callback; the library calls it (never stderr) when one is set. */
typedef void (*bl_log_fn)(void *user, bl_log_level level, const char *message);
/**
 * Progress callback: `done` of `total` units of `what` (total 0 when unknown).
 * Return non-zero to cancel; the operation then fails with BL_ECANCELLED.
 */
typedef int (*bl_progress_fn)(void *user, const char *what, uint64_t done, uint64_t total);

/** Wipe memory in a way the optimiser cannot remove (OPENSSL_cleanse). */
BL_EXPORT void bl_wipe(void *p, size_t n);

/** Number of library handles currently alive (for leak tests in bindings). */
BL_EXPORT long bl_debug_live_handles(void);

/* ------------------------------------------------------------------ keys */

#define BL_KEY_BYTES 32
#define BL_FINGERPRINT_HEX 64 /* hex characters in a schema/key fingerprint */

typedef struct bl_key bl_key;

/**
 * Write BL_KEY_BYTES random bytes (OpenSSL CSPRNG) to a new file with mode
 * 0600.  Refuses to overwrite an existing file unless overwrite is non-zero.
 */
BL_EXPORT BL_RESULT bl_status bl_key_generate_file(const char *path, int overwrite, bl_error *err);
/**
 * Load a key file.  Refuses files readable or writable by group or others and
 * files of the wrong size.  *out is owned: free with bl_key_free (which wipes).
 */
BL_EXPORT BL_RESULT bl_status bl_key_load(const char *path, bl_key **out, bl_error *err);
/** Make a key from raw bytes (tests, bindings).  The caller wipes `bytes`. */
BL_EXPORT BL_RESULT bl_status bl_key_from_bytes(const uint8_t *bytes, size_t len, bl_key **out, bl_error *err);
/** Wipe and free (NULL is a no-op). */
BL_EXPORT void bl_key_free(bl_key *key);
/**
 * Key fingerprint: HMAC-SHA256(key, fixed label), lower-case hex, reveals
 * nothing about the key.  hex must hold BL_FINGERPRINT_HEX + 1 bytes.
 */
BL_EXPORT BL_RESULT bl_status bl_key_fingerprint(const bl_key *key, char *hex, bl_error *err);

/* -------------------------------------------------------- linkage schema */

typedef struct bl_schema bl_schema;

typedef enum bl_field_type {
    BL_FIELD_NAME = 0,
    BL_FIELD_DATE = 1,
    BL_FIELD_SEX = 2,
    BL_FIELD_POSTCODE = 3,
    BL_FIELD_NHS_NUMBER = 4,
    BL_FIELD_TEXT = 5,
    /* A keyed hash of several fields' values together (schema "parts"), one
       token: it shows only whether two records agree on all of them.  The
       matcher weighs it only for pairs where a name field is missing on one
       side, i.e. withheld for want of a birth year, so it never counts name
       agreement twice. */
    BL_FIELD_IDENTITY = 6
} bl_field_type;

/** The schema name of a field type ("name", "date", ..., "identity"). */
BL_EXPORT const char *bl_field_type_name(bl_field_type t);

/** Parse a schema from a JSON file.  *out owned: bl_schema_free. */
BL_EXPORT BL_RESULT bl_status bl_schema_load(const char *path, bl_schema **out, bl_error *err);
/** Parse a schema from JSON text (`name` is used in error messages). */
BL_EXPORT BL_RESULT bl_status bl_schema_parse(const char *json, size_t len, const char *name,
                                              bl_schema **out, bl_error *err);
/** The shipped default schema for English health and care data. */
BL_EXPORT BL_RESULT bl_status bl_schema_default(bl_schema **out, bl_error *err);
/** The default schema's JSON text (static string). */
BL_EXPORT const char *bl_schema_default_json(void);
BL_EXPORT void bl_schema_free(bl_schema *schema);
/** Canonical JSON (sorted keys, compact). *out owned: free(). */
BL_EXPORT BL_RESULT bl_status bl_schema_canonical(const bl_schema *schema, char **out, bl_error *err);
/** SHA-256 of the canonical JSON, hex; hex holds BL_FINGERPRINT_HEX + 1. */
BL_EXPORT void bl_schema_fingerprint(const bl_schema *schema, char *hex);
BL_EXPORT size_t bl_schema_field_count(const bl_schema *schema);
/** Field name; borrowed, valid while schema lives.  NULL if out of range. */
BL_EXPORT const char *bl_schema_field_name(const bl_schema *schema, size_t i);
BL_EXPORT bl_field_type bl_schema_field_type(const bl_schema *schema, size_t i);
/** Bits in field i's filter as stored (after any xor_folds / balancing). */
BL_EXPORT size_t bl_schema_field_bits(const bl_schema *schema, size_t i);
/** Field i's swap group (borrowed), or NULL when it has none. */
BL_EXPORT const char *bl_schema_field_swap_group(const bl_schema *schema, size_t i);
/** 1 when field i is salted with the record's birth-year cohort. */
BL_EXPORT int bl_schema_field_salted(const bl_schema *schema, size_t i);
BL_EXPORT size_t bl_schema_clk_bits(const bl_schema *schema);
BL_EXPORT size_t bl_schema_blocking_key_count(const bl_schema *schema);
BL_EXPORT const char *bl_schema_blocking_key_name(const bl_schema *schema, size_t i);

/* -------------------------------------------------------- source profile */

typedef struct bl_profile bl_profile;

/** Parse a source profile (JSON) against a schema.  *out owned. */
BL_EXPORT BL_RESULT bl_status bl_profile_load(const char *path, const bl_schema *schema,
                                              bl_profile **out, bl_error *err);
BL_EXPORT BL_RESULT bl_status bl_profile_parse(const char *json, size_t len, const char *name,
                                               const bl_schema *schema, bl_profile **out,
                                               bl_error *err);
BL_EXPORT void bl_profile_free(bl_profile *profile);
/** Source name, e.g. "gp" (borrowed). */
BL_EXPORT const char *bl_profile_source(const bl_profile *profile);
/** Column holding the local record id (borrowed). */
BL_EXPORT const char *bl_profile_record_id_column(const bl_profile *profile);
/** Column feeding schema field `field`, or NULL if the source lacks it (borrowed). */
BL_EXPORT const char *bl_profile_field_column(const bl_profile *profile, const bl_schema *schema,
                                              const char *field);
/** CSV separator and skip-initial-space setting of this source's extract. */
BL_EXPORT char bl_profile_separator(const bl_profile *profile);
BL_EXPORT int bl_profile_skip_initial_space(const bl_profile *profile);
/** Content columns: count, and the i-th name (borrowed). */
BL_EXPORT size_t bl_profile_content_count(const bl_profile *profile);
BL_EXPORT const char *bl_profile_content_column(const bl_profile *profile, size_t i);

/* ------------------------------------------------------------------ CSV */

typedef struct bl_csv_reader bl_csv_reader;

/**
 * Open a CSV file for streaming (RFC 4180: quotes, embedded separators and
 * newlines, CRLF; a UTF-8 BOM is skipped; .gz files are read through zlib).
 * sep is usually ','.  If skip_initial_space is non-zero, spaces after a
 * separator are dropped (FEBRL's "a, b" layout).
 */
BL_EXPORT BL_RESULT bl_status bl_csv_open(const char *path, char sep, int skip_initial_space,
                                          bl_csv_reader **out, bl_error *err);
/**
 * Read the next record.  On success *fields points to *nfields NUL-terminated
 * strings (borrowed, valid until the next call); at end of input *fields is
 * NULL and *nfields 0.  A malformed record (unterminated quote, text after a
 * closing quote, invalid UTF-8) fails with BL_EPARSE naming the line.
 * Records end at LF, CR LF or a bare CR; blank lines are skipped, never
 * returned as records.  On a parse error err->line is the line on which the
 * record started (for an unterminated quote, where the quote opened),
 * err->column the 1-based field number and err->field "column N".  Records
 * over 16 MiB or 100,000 fields fail with BL_EPARSE.  After any error the
 * reader only repeats the failure.
 */
BL_EXPORT BL_RESULT bl_status bl_csv_next(bl_csv_reader *r, char ***fields, size_t *nfields,
                                          bl_error *err);
/** Physical line on which the last record returned started (1-based). */
BL_EXPORT long bl_csv_line(const bl_csv_reader *r);
/** Number of records returned so far (header included). */
BL_EXPORT long long bl_csv_record(const bl_csv_reader *r);
BL_EXPORT void bl_csv_close(bl_csv_reader *r);

/* ----------------------------------------------------------- normalisers */

/*
 * Normalisers turn raw text into the canonical form that is tokenised.  Each
 * returns BL_OK and writes a NUL-terminated result into out (out_size bytes),
 * or BL_EINVALID when the value is present but invalid (err->text says why), or
 * BL_OK with out[0] == '\0' when the value is missing.
 */

/** Names: NFKD, accents stripped, case-folded to upper-case ASCII A-Z, titles
 *  (MR, MRS, DR, ...) dropped, punctuation removed, hyphens/apostrophes
 *  removed so "O'Brien-Smith" -> "OBRIENSMITH", inner spaces kept single. */
BL_EXPORT BL_RESULT bl_status bl_normalise_name(const char *in, char *out, size_t out_size,
                                                bl_error *err);
/**
 * Split a full name into given and family names.  Handles "Given Middle
 * Family" and "FAMILY, Given Middle".  Outputs are normalised as by
 * bl_normalise_name; given holds the first given name only.
 */
BL_EXPORT BL_RESULT bl_status bl_normalise_full_name(const char *in, char *given, size_t given_size,
                                           char *family, size_t family_size, bl_error *err);
/**
 * Parse a date using the first of `formats` (strptime-like: %d %m %Y %y %b
 * %B and literals; count nformats) that matches the whole string.  Validates
 * the calendar (no 31 February).  Writes "YYYYMMDD".  If not_after_yyyymmdd
 * is non-zero, later dates are BL_EINVALID (no future birth dates).
 */
BL_EXPORT BL_RESULT bl_status bl_normalise_date(const char *in, const char *const *formats, size_t nformats,
                                      long not_after_yyyymmdd, char *out, size_t out_size,
                                      bl_error *err);
/** Sex codes: M/F/U, Male/Female, 1/2/9/0 (NHS data dictionary), ... -> "M",
 *  "F", or "" (unknown counts as missing). */
BL_EXPORT BL_RESULT bl_status bl_normalise_sex(const char *in, char *out, size_t out_size, bl_error *err);
/** UK postcode: validated, canonical "OUTWARD INWARD" upper case ("OX1 2JD"). */
BL_EXPORT BL_RESULT bl_status bl_normalise_postcode(const char *in, char *out, size_t out_size,
                                          bl_error *err);
/** NHS number: spaces and dashes stripped, 10 digits, Modulus 11 check. */
BL_EXPORT BL_RESULT bl_status bl_normalise_nhs_number(const char *in, char *out, size_t out_size,
                                            bl_error *err);
/** Modulus 11 check on exactly 10 ASCII digits; 1 if valid. */
BL_EXPORT int bl_nhs_number_valid(const char *ten_digits);
/** Free text: case-folded, accents stripped, whitespace collapsed. */
BL_EXPORT BL_RESULT bl_status bl_normalise_text(const char *in, char *out, size_t out_size, bl_error *err);

/* ---------------------------------------------------------------- encoder */

typedef struct bl_encoder bl_encoder;
typedef struct bl_record_view bl_record_view; /* defined under encoding files */

/** Counts of records and of rejected values by reason, for summaries. */
typedef struct bl_encode_stats {
    uint64_t records_read;
    uint64_t records_encoded;
    uint64_t records_rejected;       /* whole record refused (e.g. no record id) */
    uint64_t invalid_date;
    uint64_t future_date;
    uint64_t invalid_sex;
    uint64_t invalid_postcode;
    uint64_t invalid_nhs_number;
    uint64_t invalid_name;
    uint64_t missing_salt;           /* salted fields withheld: no salt value */
    uint64_t duplicate_record_id;
    uint64_t salvaged_year;          /* invalid birth dates whose year still salts (and blocks) */
    uint64_t placeholder_date;       /* 1900-01-01 and similar "unknown" defaults, treated as missing */
    uint64_t reserved[6];
} bl_encode_stats;

/**
 * Create an encoder for one source.  Borrows schema, profile and key; they must
 * outlive the encoder.  Fails with BL_EMISMATCH if the profile was made for a
 * different schema.
 */
BL_EXPORT BL_RESULT bl_status bl_encoder_new(const bl_schema *schema, const bl_profile *profile,
                                             const bl_key *key, bl_encoder **out, bl_error *err);
BL_EXPORT void bl_encoder_free(bl_encoder *enc);
/**
 * Encode an extract: read CSV `in_path`, write the encoding file `out_path`,
 * the content file `content_path` (may be NULL) and the holder's id map
 * `idmap_path` (may be NULL).  Outputs appear atomically (temp file + rename);
 * on failure none is left behind.  Invalid values are counted in *stats and
 * encoded as missing; a malformed CSV row fails with its line.
 */
BL_EXPORT BL_RESULT bl_status bl_encoder_encode_csv(bl_encoder *enc, const char *in_path,
                                                    const char *out_path, const char *content_path,
                                                    const char *idmap_path,
                                                    bl_progress_fn progress, void *progress_user,
                                                    bl_encode_stats *stats, bl_error *err);
/**
 * Encode one row given as parallel arrays of column names and values (the
 * same columns the source's CSV header would have), exactly as the CSV path
 * does.  *out is borrowed until the next call on enc.  Invalid values are
 * counted in *stats (may be NULL) and encoded as missing.
 */
BL_EXPORT BL_RESULT bl_status bl_encoder_encode_row(bl_encoder *enc, const char *const *columns,
                                                    const char *const *values, size_t n,
                                                    const bl_record_view **out,
                                                    bl_encode_stats *stats, bl_error *err);
/** Key fingerprint of the encoder's key (hex, borrowed). */
BL_EXPORT const char *bl_encoder_key_fingerprint(const bl_encoder *enc);
/** Record token for a local record id: 32 lower-case hex + NUL into hex33. */
BL_EXPORT BL_RESULT bl_status bl_encoder_record_token(const bl_encoder *enc, const char *record_id,
                                            char *hex33, bl_error *err);

/* ---------------------------------------------------- encoding files (.ble) */

#define BL_TOKEN_BYTES 16

typedef struct bl_encfile_reader bl_encfile_reader;

/** Header of an encoding file, as bl_encfile_header returns it (borrowed). */
typedef struct bl_encfile_info {
    unsigned version_major, version_minor;
    const char *source;                 /* e.g. "gp" */
    const char *schema_fingerprint;     /* hex */
    const char *key_fingerprint;        /* hex */
    uint64_t record_count;              /* from the trailer; 0 until known */
    size_t field_count;
    const char *const *field_names;
    const uint32_t *field_bits;
    const uint8_t *field_types;         /* bl_field_type values */
    size_t clk_bits;
    size_t blocking_key_count;
    const char *const *blocking_key_names;
    size_t record_bytes;                /* fixed size of one record */
    /* swap group of each field (NULL entries: none); fields of one group were
       hashed alike, so the matcher also compares them crossed (format 1.1) */
    const char *const *field_swap_groups;
    const uint8_t *field_salted;        /* 1: salted field (format 1.1; all 0 before) */
} bl_encfile_info;

/** One record, borrowed from the reader until the next call. */
struct bl_record_view {
    const uint8_t *token;          /* BL_TOKEN_BYTES */
    uint32_t present;              /* bit i set: field i present */
    const uint64_t *const *fields; /* field_count filters, field_bits[i]/64 words */
    const uint64_t *clk;           /* clk_bits/64 words */
    const uint64_t *blocking_keys; /* blocking_key_count values; 0 = no key */
    uint8_t sex;                   /* 0 unknown, 1 male, 2 female */
    uint8_t age_band;              /* 0 unknown, else 1 + age/10 at encoding */
    uint16_t cohort;               /* keyed 16-bit tag of the salt (birth year); 0 unknown.
                                      Salted fields of records with different tags are not
                                      comparable (format 1.1) */
};

BL_EXPORT BL_RESULT bl_status bl_encfile_open(const char *path, bl_encfile_reader **out,
                                              bl_error *err);
BL_EXPORT const bl_encfile_info *bl_encfile_header(const bl_encfile_reader *r);
/** Next record; *rec is NULL at the end (after the trailer was verified). */
BL_EXPORT BL_RESULT bl_status bl_encfile_next(bl_encfile_reader *r, const bl_record_view **rec,
                                              bl_error *err);
BL_EXPORT void bl_encfile_close(bl_encfile_reader *r);

/** Layout of the records a writer will hold (all arrays borrowed for the call). */
typedef struct bl_encfile_layout {
    size_t field_count;                  /* at most 32 */
    const char *const *field_names;
    const uint32_t *field_bits;          /* each a multiple of 64 */
    const uint8_t *field_types;          /* bl_field_type values */
    size_t clk_bits;                     /* multiple of 64; may be 0 */
    size_t blocking_key_count;
    const char *const *blocking_key_names;
    const char *const *field_swap_groups; /* may be NULL, or hold NULL entries */
    const uint8_t *field_salted;          /* may be NULL: none salted */
} bl_encfile_layout;

typedef struct bl_encfile_writer bl_encfile_writer;

/**
 * Start an encoding file at path (written to a temp file, renamed on close).
 * Fingerprints are hex strings (may be "" when not applicable, e.g. imported
 * CLKs).  *out owned: finish with bl_encfile_writer_close or _abort.
 */
BL_EXPORT BL_RESULT bl_status bl_encfile_writer_open(const char *path, const char *source,
                                                     const char *schema_fingerprint,
                                                     const char *key_fingerprint,
                                                     const bl_encfile_layout *layout,
                                                     bl_encfile_writer **out, bl_error *err);
/** Append one record (copied). */
BL_EXPORT BL_RESULT bl_status bl_encfile_writer_add(bl_encfile_writer *w, const bl_record_view *rec,
                                                    bl_error *err);
/** Write the trailer, fsync and rename into place; frees w in every case. */
BL_EXPORT BL_RESULT bl_status bl_encfile_writer_close(bl_encfile_writer *w, bl_error *err);
/** Discard the partial file and free w (NULL is a no-op). */
BL_EXPORT void bl_encfile_writer_abort(bl_encfile_writer *w);

/* ---------------------------------------------------- filters and Dice */

/**
 * Dice kernels.  All compute 2|a AND b| / (|a| + |b|) over `words` 64-bit
 * words; integer-exact, identical across kernels.  Filters need no particular
 * alignment and must have fewer than 2^32 bits.  Two empty filters have
 * Dice 0, so they pass only a threshold of 0.
 */
typedef enum bl_kernel {
    BL_KERNEL_AUTO = 0,
    BL_KERNEL_SCALAR = 1,
    BL_KERNEL_AVX2 = 2,
    BL_KERNEL_AVX512 = 3 /* AVX-512 VPOPCNTDQ */
} bl_kernel;

/** 1 if this CPU (and OS) can run kernel k. */
BL_EXPORT int bl_kernel_available(bl_kernel k);
/** Force a kernel for this process (BL_KERNEL_AUTO restores the best one). */
BL_EXPORT BL_RESULT bl_status bl_set_kernel(bl_kernel k, bl_error *err);
/** Name of the kernel in use: "scalar", "avx2" or "avx512". */
BL_EXPORT const char *bl_kernel_name(void);
/** Name of a given kernel. */
BL_EXPORT const char *bl_kernel_name_of(bl_kernel k);
/** Popcount of a filter. */
BL_EXPORT uint32_t bl_popcount(const uint64_t *a, size_t words);
/** Popcount of a AND b. */
BL_EXPORT uint32_t bl_and_popcount(const uint64_t *a, const uint64_t *b, size_t words);
/** Dice coefficient as a double (0 when both are empty). */
BL_EXPORT double bl_dice(const uint64_t *a, const uint64_t *b, size_t words);
/**
 * Integer threshold test: true iff 2|a&b| * den >= num * (|a|+|b|), i.e.
 * Dice >= num/den, with no floating point and no overflow for any uint32
 * inputs.  When pa + pb == 0 (two empty filters) it is true only for
 * num == 0.  pa, pb are precomputed popcounts.
 */
BL_EXPORT int bl_dice_at_least(const uint64_t *a, uint32_t pa, const uint64_t *b, uint32_t pb,
                               size_t words, uint32_t num, uint32_t den);
/**
 * One-to-many: for each of the n filters in `many` (contiguous, `words` each,
 * popcounts in `pop_many`), write to out_idx the indices whose Dice with `one`
 * is >= num/den, in increasing order.  Returns the number written (at most
 * n; indices are 32-bit, so n above 2^32 is scanned only up to 2^32).  This
 * is the hot loop; it uses the kernel in force.
 */
BL_EXPORT size_t bl_dice_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                              const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                              uint32_t den, uint32_t *out_idx);

/**
 * PRF kernels: the HMAC-SHA256 implementations the encoder hashes tokens
 * with.  All give the same bytes (the encoding never depends on the
 * kernel); they differ only in speed.  Names: "scalar" (portable reference),
 * "openssl" (one message at a time through OpenSSL's own assembly),
 * "shani1", "shani2", "shani4" (x86 SHA extensions, 1, 2 or 4 messages
 * interleaved), "avx512" and "avx2" (16 or 8 messages, one per vector
 * lane).  The best one this CPU runs is chosen on first use.
 */
/** Name of the PRF kernel in use. */
BL_EXPORT const char *bl_prf_kernel_name(void);
/** Kernels the encoding-file writer uses, for benchmarks: the Huffman coder's
    ("avx512vbmi" or "portable") and the CRC-32's ("vpclmulqdq", "pclmulqdq"
    or "zlib"). Like the PRF kernels, they never change the bytes written. */
BL_EXPORT const char *bl_encfile_huffman_kernel(void);
BL_EXPORT const char *bl_encfile_crc32_kernel(void);
/** i-th compiled-in PRF kernel name, NULL past the last (available or not). */
BL_EXPORT const char *bl_prf_kernel_at(size_t i);
/** 1 if this CPU (and OS) can run the named PRF kernel ("auto": always). */
BL_EXPORT int bl_prf_kernel_available(const char *name);
/** Force a PRF kernel for this process ("auto" restores the best one). */
BL_EXPORT BL_RESULT bl_status bl_set_prf_kernel(const char *name, bl_error *err);
/**
 * Benchmark workload: `count` HMACs with the named kernel, of 7-22 byte
 * messages under 8 fixed public test keys in batches of 64 (the encoder's
 * shape), folded into digest (XOR of all MACs; equal for every kernel).
 * The caller times it.
 */
BL_EXPORT BL_RESULT bl_status bl_prf_kernel_run(const char *name, size_t count, uint8_t digest[32],
                                                bl_error *err);

/* -------------------------------------------------------- synthetic data */

typedef struct bl_synth_options {
    uint64_t people;     /* population size */
    uint64_t seed;
    double error_rate;   /* scale of typos and variants; 1.0 = default */
    int reserved[8];
} bl_synth_options;

/** Defaults: 20,000 people, seed 1, error rate 1.0. */
BL_EXPORT void bl_synth_options_default(bl_synth_options *opt);
/**
 * Write gp.csv, social_care.csv, housing.csv, education.csv, truth.csv,
 * schema.json and a profile per source (gp.profile.json, ...) into dir
 * (created if missing).  Deterministic for a seed.
 */
BL_EXPORT BL_RESULT bl_status bl_synth_write(const bl_synth_options *opt, const char *dir,
                                   bl_progress_fn progress, void *progress_user, bl_error *err);

/* ------------------------------------------------------------- matching */
/* (section owned by lib/block.c compare.c model.c cluster.c linkmap.c match.c report.c) */

/*
 * Matching links the records of one or more encoding files (one per source)
 * into entities.  The pipeline: load the files into a bl_dataset; generate
 * candidate pairs (keyed blocking keys plus LSH on the CLK); compare each pair
 * field by field (Dice of field filters -> agreement level); score with a
 * Fellegi-Sunter model (u from random pairs, m and the prior by EM, term
 * frequencies from identical salted filters); cluster with union-find under
 * evidence constraints; write a link map.  The service never needs the key.
 */

typedef struct bl_dataset bl_dataset;
typedef struct bl_model bl_model;
typedef struct bl_linkmap bl_linkmap;
typedef struct bl_evaluation bl_evaluation;

/** An empty dataset.  *out owned: bl_dataset_free. */
BL_EXPORT BL_RESULT bl_status bl_dataset_new(bl_dataset **out, bl_error *err);
/**
 * Read every record of an encoding file into the dataset.  The first file
 * fixes the layout; later files must share schema fingerprint, key
 * fingerprint and layout, else BL_EMISMATCH naming both files.  Files with the
 * same source name are one source.
 */
BL_EXPORT BL_RESULT bl_status bl_dataset_add_file(bl_dataset *ds, const char *path,
                                                  bl_progress_fn progress, void *progress_user,
                                                  bl_error *err);
/* A dataset is filled, then read.  Matching counts term frequencies into it on
   first use, so one dataset must not be matched from two threads at once. */
BL_EXPORT size_t bl_dataset_record_count(const bl_dataset *ds);
BL_EXPORT size_t bl_dataset_source_count(const bl_dataset *ds);
/** Source name (borrowed, valid while ds lives); NULL if out of range. */
BL_EXPORT const char *bl_dataset_source_name(const bl_dataset *ds, size_t source);
/**
 * Index of the record with this token (and source, which may be NULL to
 * search all sources).  BL_ENOTFOUND if there is none.
 */
BL_EXPORT BL_RESULT bl_status bl_dataset_find(const bl_dataset *ds, const char *source,
                                              const uint8_t token[BL_TOKEN_BYTES], size_t *index,
                                              bl_error *err);
BL_EXPORT void bl_dataset_free(bl_dataset *ds);

/** Options for training and matching; fill with bl_match_options_default. */
typedef struct bl_match_options {
    double threshold;          /* link pairs with match probability >= this (0.5) */
    double review_low;         /* [review_low, threshold) goes to clerical review (0.1) */
    unsigned threads;          /* worker threads; 0 = all online CPUs */
    size_t max_block;          /* blocks with more records are skipped, with a warning (1000) */
    unsigned lsh_bands;        /* CLK bit-sampling LSH bands; 0 disables LSH (24) */
    unsigned lsh_bits;         /* bits sampled per band (64) */
    uint64_t u_sample_pairs;   /* random pairs for u probabilities (4,000,000) */
    unsigned em_max_iterations; /* cap on EM iterations (5000) */
    double em_tolerance;       /* stop when no m or prior moves more than this (1e-6) */
    uint64_t seed;             /* for random pairs and LSH bit positions (1) */
    const char *const *unique_sources; /* sources with at most one record per person */
    size_t unique_source_count;
    double unique_min_probability; /* to join two records of a unique source (0.999) */
    double merge_min_support;  /* mean cross-pair probability to merge two clusters (0.5) */
    int retrain;               /* re-estimate m and prior even if the model is trained */
    bl_log_fn log;             /* warnings (capped blocks) and EM progress; may be NULL */
    void *log_user;
    int reserved[8];
} bl_match_options;

BL_EXPORT void bl_match_options_default(bl_match_options *opt);

/** What a training or matching run did, for summaries and reports. */
typedef struct bl_match_stats {
    uint64_t records;
    uint64_t candidate_pairs;   /* distinct pairs after blocking + LSH */
    uint64_t blocking_pairs;    /* pairs from blocking keys alone */
    uint64_t lsh_only_pairs;    /* pairs only LSH found */
    uint64_t blocks_capped;
    uint64_t keys_dropped;      /* key occurrences the semi-join dropped */
    uint64_t u_sample_pairs;
    unsigned em_iterations;
    int em_converged;
    uint64_t links;             /* accepted pair links (before clustering constraints) */
    uint64_t links_rejected;    /* links refused by uniqueness or cluster support */
    uint64_t entities;
    uint64_t multi_record_entities;
    uint64_t review_pairs;
    double seconds_load, seconds_block, seconds_compare, seconds_train, seconds_cluster;
    uint64_t reserved[8];
} bl_match_stats;

/**
 * An untrained model for the dataset's fields, with default agreement levels
 * per field type and starting values.  *out owned: bl_model_free.
 */
BL_EXPORT BL_RESULT bl_status bl_model_default(const bl_dataset *ds, bl_model **out, bl_error *err);
/** Load a model saved by bl_model_save (JSON, hand-editable). */
BL_EXPORT BL_RESULT bl_status bl_model_load(const char *path, bl_model **out, bl_error *err);
BL_EXPORT BL_RESULT bl_status bl_model_parse(const char *json, size_t len, const char *name,
                                             bl_model **out, bl_error *err);
/** Save atomically as JSON. */
BL_EXPORT BL_RESULT bl_status bl_model_save(const bl_model *model, const char *path, bl_error *err);
/** The model as JSON text.  *out owned: free(). */
BL_EXPORT BL_RESULT bl_status bl_model_to_json(const bl_model *model, char **out, bl_error *err);
/** 1 once m, u and the prior were estimated (or loaded trained). */
BL_EXPORT int bl_model_is_trained(const bl_model *model);
BL_EXPORT void bl_model_free(bl_model *model);
/**
 * Estimate the model on the dataset: u from random pairs, term frequencies,
 * candidate pairs, then m, u and the class shares by EM over the candidates
 * (latent classes chosen by BIC; see docs/matching.md), or m and the prior
 * with u fixed from random pairs when the model says "u_estimation":
 * "random_pairs".  Values the model marks as fixed are left alone.  stats may
 * be NULL.
 */
BL_EXPORT BL_RESULT bl_status bl_model_train(bl_model *model, const bl_dataset *ds,
                                             const bl_match_options *opt, bl_progress_fn progress,
                                             void *progress_user, bl_match_stats *stats,
                                             bl_error *err);

/**
 * Link the dataset: block, compare, train the model if it is not trained (or
 * opt->retrain), score, cluster.  The model is updated in place when trained.
 * *out owned: bl_linkmap_free.  stats may be NULL.
 */
BL_EXPORT BL_RESULT bl_status bl_match_run(const bl_dataset *ds, bl_model *model,
                                           const bl_match_options *opt, bl_progress_fn progress,
                                           void *progress_user, bl_linkmap **out,
                                           bl_match_stats *stats, bl_error *err);

#define BL_MAX_FIELDS 32 /* schema fields at most (the presence mask is 32 bits) */

/** One field's evidence in an explanation (a waterfall row). */
typedef struct bl_field_evidence {
    const char *field;      /* borrowed from the model */
    int level;              /* 0 missing, 1 disagree, ... highest = exact */
    const char *level_name; /* "missing", "disagree", "partial", "close", "exact" */
    double dice;            /* -1 when missing */
    double m, u;            /* 0 when missing */
    double weight;          /* log2(m/u), 0 when missing */
    double tf_adjustment;   /* extra weight for a rare (or common) exact value */
    int swapped;            /* compared crossed with the other field of its swap group
                               (given and family names in each other's columns) */
} bl_field_evidence;

typedef struct bl_explanation {
    double prior_weight;    /* log2 prior odds */
    double related_adjustment; /* latent-class adjustment: + when the pattern looks like
                               a match with variant names, - when it looks like a related or
                               same-household non-match (twins, siblings); 0 without them */
    double weight;          /* prior_weight + sum of field weights and adjustments */
    double probability;
    size_t field_count;
    bl_field_evidence fields[BL_MAX_FIELDS];
} bl_explanation;

/** Explain the score of records a and b (dataset indices) under a trained model. */
BL_EXPORT BL_RESULT bl_status bl_explain_pair(const bl_dataset *ds, const bl_model *model,
                                              size_t a, size_t b, bl_explanation *out,
                                              bl_error *err);

/** One record of a link map. */
typedef struct bl_linkmap_entry {
    const char *source;               /* borrowed from the link map */
    uint8_t token[BL_TOKEN_BYTES];
    uint64_t entity_id;               /* 1, 2, ...; equal ids = same person */
    double match_probability;         /* of the record's strongest accepted link; 0 if none */
    uint32_t entity_size;             /* records in the entity */
} bl_linkmap_entry;

/** A pair for clerical review. */
typedef struct bl_review_pair {
    const char *source_a, *source_b;  /* borrowed */
    uint8_t token_a[BL_TOKEN_BYTES], token_b[BL_TOKEN_BYTES];
    double weight, probability;
    const char *reason;               /* "grey-band", "weak-bridge", "unique-source" */
} bl_review_pair;

BL_EXPORT size_t bl_linkmap_count(const bl_linkmap *lm);
BL_EXPORT BL_RESULT bl_status bl_linkmap_get(const bl_linkmap *lm, size_t i, bl_linkmap_entry *out,
                                             bl_error *err);
BL_EXPORT size_t bl_linkmap_review_count(const bl_linkmap *lm);
BL_EXPORT BL_RESULT bl_status bl_linkmap_review_get(const bl_linkmap *lm, size_t i,
                                                    bl_review_pair *out, bl_error *err);
/**
 * Write the link map as CSV (atomically): header
 * `source,record_token,entity_id,match_probability,entity_size`, tokens as
 * 32 lower-case hex.
 */
BL_EXPORT BL_RESULT bl_status bl_linkmap_write_csv(const bl_linkmap *lm, const char *path,
                                                   bl_error *err);
/** Review pairs as CSV: source_a,record_token_a,source_b,record_token_b,match_weight,match_probability,reason */
BL_EXPORT BL_RESULT bl_status bl_linkmap_write_review_csv(const bl_linkmap *lm, const char *path,
                                                          bl_error *err);
/** Read a link map CSV written by bl_linkmap_write_csv (and optionally its review CSV, may be NULL). */
BL_EXPORT BL_RESULT bl_status bl_linkmap_read_csv(const char *path, const char *review_path,
                                                  bl_linkmap **out, bl_error *err);
/**
 * Who fails to link, and cluster shape: link rates by source, age band and
 * sex, entity sizes and link density, as JSON.  Age band and sex are known
 * only for link maps made by bl_match_run.  *out owned: free().
 */
BL_EXPORT BL_RESULT bl_status bl_linkmap_report_json(const bl_linkmap *lm, char **out, bl_error *err);
/** The same report written to a file (atomically). */
BL_EXPORT BL_RESULT bl_status bl_linkmap_write_report(const bl_linkmap *lm, const char *path,
                                                      bl_error *err);
BL_EXPORT void bl_linkmap_free(bl_linkmap *lm);

/** Pairwise counts for one slice of an evaluation. */
typedef struct bl_eval_counts {
    uint64_t true_positive;   /* pairs linked and truly the same person */
    uint64_t predicted;       /* pairs linked */
    uint64_t actual;          /* pairs truly the same person */
    double precision, recall, f1;
} bl_eval_counts;

/**
 * Evaluate a link map against truth.  truth_csv: `source,record_id,person_id`;
 * id maps (one per source, `record_id,record_token`, as `encode --id-map`
 * writes) turn record ids into tokens.  Counting uses contingency tables, so
 * it scales to millions of records.  *out owned: bl_evaluation_free.
 */
BL_EXPORT BL_RESULT bl_status bl_evaluate_files(const char *truth_csv,
                                                const char *const *id_map_sources,
                                                const char *const *id_map_paths, size_t id_maps,
                                                const char *linkmap_csv, bl_evaluation **out,
                                                bl_error *err);
BL_EXPORT void bl_evaluation_overall(const bl_evaluation *ev, bl_eval_counts *out);
/** Source pairs are named "a-b" with a <= b ("gp-gp" for pairs within gp). */
BL_EXPORT size_t bl_evaluation_pair_count(const bl_evaluation *ev);
BL_EXPORT const char *bl_evaluation_pair_name(const bl_evaluation *ev, size_t i);
BL_EXPORT void bl_evaluation_pair(const bl_evaluation *ev, size_t i, bl_eval_counts *out);
/** Persons split over several entities; entities holding several persons. */
BL_EXPORT uint64_t bl_evaluation_split_persons(const bl_evaluation *ev);
BL_EXPORT uint64_t bl_evaluation_merged_entities(const bl_evaluation *ev);
/** {"overall": {...}, "by_source_pair": {...}, ...}.  *out owned: free(). */
BL_EXPORT BL_RESULT bl_status bl_evaluation_to_json(const bl_evaluation *ev, char **out,
                                                    bl_error *err);
BL_EXPORT void bl_evaluation_free(bl_evaluation *ev);

/* --------------------------------------------- clkhash / anonlink interchange */
/* (section owned by lib/clkhash.c) */

/*
 * CLKs bit-identical to clkhash 0.18 for the same linkage schema, secret and
 * rows; anonlink's CLK JSON ({"clks": [base64, ...]}); and anonlink-style
 * matching (Dice threshold candidates, greedy solving).  docs/clkhash.md lists
 * the schema options supported and refused, and each clkhash quirk that is
 * reproduced.  A CLK is held as clkhash serialises it: bit i of the filter is
 * bit (7 - i % 8) of byte i / 8 (most significant bit first), and a length
 * that is not a multiple of 8 is padded with zero bits.
 */

typedef struct bl_clkhash_schema bl_clkhash_schema;

/**
 * Parse a clkhash linkage schema (version 3; versions 1 and 2 are converted
 * as clkhash converts them).  Options bloomlink cannot reproduce bit for bit
 * fail with BL_EUNSUPPORTED and err->field holding the JSON path (e.g.
 * "features[2].hashing.comparison.type"); invalid schemas fail with
 * BL_ESCHEMA.  *out owned: bl_clkhash_schema_free.
 */
BL_EXPORT BL_RESULT bl_status bl_clkhash_schema_load(const char *path, bl_clkhash_schema **out,
                                                     bl_error *err);
BL_EXPORT BL_RESULT bl_status bl_clkhash_schema_parse(const char *json, size_t len,
                                                      const char *name,
                                                      bl_clkhash_schema **out, bl_error *err);
BL_EXPORT void bl_clkhash_schema_free(bl_clkhash_schema *schema);
/** Columns a row must have: every feature, ignored ones included. */
BL_EXPORT size_t bl_clkhash_schema_column_count(const bl_clkhash_schema *schema);
/** Identifier of column i (borrowed, valid while schema lives; NULL if out of range). */
BL_EXPORT const char *bl_clkhash_schema_column_name(const bl_clkhash_schema *schema, size_t i);
/** CLK length in bits after XOR folding (the schema's "l"). */
BL_EXPORT size_t bl_clkhash_schema_clk_bits(const bl_clkhash_schema *schema);
/** Bytes of one CLK: (clk_bits + 7) / 8. */
BL_EXPORT size_t bl_clkhash_schema_clk_bytes(const bl_clkhash_schema *schema);

typedef struct bl_clkhash_encoder bl_clkhash_encoder;

/**
 * Derive the per-feature keys from `secret` (the bytes clkhash is given,
 * i.e. the UTF-8 of its secret string) with HKDF as the schema says.  Borrows
 * schema, which must outlive the encoder; the caller wipes `secret`.  The
 * encoder is immutable: several threads may encode rows with it at once.
 * *out owned: bl_clkhash_encoder_free (which wipes the keys).
 */
BL_EXPORT BL_RESULT bl_status bl_clkhash_encoder_new(const bl_clkhash_schema *schema,
                                                     const void *secret, size_t secret_len,
                                                     bl_clkhash_encoder **out, bl_error *err);
BL_EXPORT void bl_clkhash_encoder_free(bl_clkhash_encoder *enc);
/**
 * Validate and encode one row of `ncols` UTF-8 values (in schema column
 * order) into clk (bl_clkhash_schema_clk_bytes bytes).  A value that fails the
 * schema's format (as clkhash validates it) is BL_EINVALID with err->field
 * naming the column; a value bloomlink cannot reproduce is BL_EUNSUPPORTED.
 */
BL_EXPORT BL_RESULT bl_status bl_clkhash_encode_row(const bl_clkhash_encoder *enc,
                                                    const char *const *row, size_t ncols,
                                                    uint8_t *clk, bl_error *err);

/** How the first CSV line is treated by bl_clkhash_encode_csv. */
typedef enum bl_clkhash_header {
    BL_CLKHASH_HEADER_CHECK = 0,  /* a header naming every feature, in order (clkhash's default) */
    BL_CLKHASH_HEADER_IGNORE = 1, /* a header, not checked */
    BL_CLKHASH_HEADER_NONE = 2    /* no header: the first line is a record */
} bl_clkhash_header;

/**
 * Encode every record of CSV `in_path` and write anonlink's JSON to
 * `out_path` (atomically; nothing is left behind on failure).  *count (may be
 * NULL) receives the number of CLKs written.  Errors name the CSV line.
 */
BL_EXPORT BL_RESULT bl_status bl_clkhash_encode_csv(const bl_clkhash_encoder *enc,
                                                    const char *in_path,
                                                    bl_clkhash_header header,
                                                    const char *out_path,
                                                    bl_progress_fn progress, void *progress_user,
                                                    uint64_t *count, bl_error *err);

/* A set of equal-length CLKs (one party's), as anonlink exchanges them. */
typedef struct bl_clkset bl_clkset;

/** An empty set for CLKs of `bits` bits (a multiple of 8).  *out owned. */
BL_EXPORT BL_RESULT bl_status bl_clkset_new(size_t bits, bl_clkset **out, bl_error *err);
/** Append one CLK of bl_clkset_bits(set) / 8 bytes (copied). */
BL_EXPORT BL_RESULT bl_status bl_clkset_append(bl_clkset *set, const uint8_t *clk, bl_error *err);
BL_EXPORT size_t bl_clkset_count(const bl_clkset *set);
BL_EXPORT size_t bl_clkset_bits(const bl_clkset *set);
/** CLK i (borrowed, valid until the set changes or is freed; NULL if out of range). */
BL_EXPORT const uint8_t *bl_clkset_get(const bl_clkset *set, size_t i);
BL_EXPORT void bl_clkset_free(bl_clkset *set);
/**
 * Read anonlink JSON: an object whose "clks" member is an array of base64
 * strings, all of one length (strict base64; errors name "clks[i]").
 */
BL_EXPORT BL_RESULT bl_status bl_clkset_load_json(const char *path, bl_clkset **out,
                                                  bl_error *err);
BL_EXPORT BL_RESULT bl_status bl_clkset_parse_json(const char *json, size_t len, const char *name,
                                                   bl_clkset **out, bl_error *err);
/** Write {"clks": [...]} to path atomically. */
BL_EXPORT BL_RESULT bl_status bl_clkset_write_json(const bl_clkset *set, const char *path,
                                                   bl_error *err);
/**
 * Write the CLKs as an encoding file (.ble): no fields, no blocking keys,
 * empty fingerprints, record token = 8 zero bytes then the record's index as a
 * big-endian 64-bit number.  The CLK length must be a multiple of 64 bits.
 * CLK bit i becomes bit i % 64 of filter word i / 64.
 */
BL_EXPORT BL_RESULT bl_status bl_clkset_write_ble(const bl_clkset *set, const char *path,
                                                  const char *source, bl_error *err);
/** Read the CLKs of an encoding file (any .ble with a CLK), in record order. */
BL_EXPORT BL_RESULT bl_status bl_clkset_load_ble(const char *path, bl_clkset **out,
                                                 bl_error *err);

/* The result of anonlink-style solving: groups of (party, record) pairs. */
typedef struct bl_clk_groups bl_clk_groups;

/**
 * Match the CLK sets of `nparties` parties (2 or more, equal CLK lengths) as
 * anonlink does: every cross-party pair whose Dice coefficient, computed as
 * the double 2|a&b| / (|a|+|b|), is >= threshold (0 < threshold <= 1) is a
 * candidate; candidates are taken in order of decreasing similarity (ties by
 * party, then record indices) and merged greedily: two groups merge only when
 * every cross pair between them is a candidate.  With two parties this is
 * greedy one-to-one matching.  Groups of one record are dropped.  Uses the
 * Dice kernel in force.  *out owned: bl_clk_groups_free.
 */
BL_EXPORT BL_RESULT bl_status bl_clk_match(const bl_clkset *const *parties, size_t nparties,
                                           double threshold, bl_progress_fn progress,
                                           void *progress_user, bl_clk_groups **out,
                                           bl_error *err);
/** Groups, sorted by their first member; members sorted by (party, record). */
BL_EXPORT size_t bl_clk_groups_count(const bl_clk_groups *groups);
BL_EXPORT size_t bl_clk_group_size(const bl_clk_groups *groups, size_t i);
/** Member j of group i (0 into both outputs when out of range). */
BL_EXPORT void bl_clk_group_member(const bl_clk_groups *groups, size_t i, size_t j,
                                   uint32_t *party, uint32_t *record);
/** Number of candidate pairs the solver considered. */
BL_EXPORT uint64_t bl_clk_groups_candidate_count(const bl_clk_groups *groups);
/** Write anonlink's groups JSON, {"groups": [[[party, record], ...], ...]}, atomically. */
BL_EXPORT BL_RESULT bl_status bl_clk_groups_write_json(const bl_clk_groups *groups,
                                                       const char *path, bl_error *err);
BL_EXPORT void bl_clk_groups_free(bl_clk_groups *groups);

/* ---------------------------------------------------------------- governance */
/* (section owned by lib/dsa.c emit.c audit.c optout.c suppress.c) */

/*
 * A data-sharing agreement (DSA) is a JSON file that every party signs with
 * Ed25519 (docs/governance.md describes every key).  What is signed is the
 * canonical text: the document without "signatures", serialised with sorted
 * keys, no whitespace, ASCII only.  The emitter runs only under an agreement
 * that every listed party has signed and that is in force.
 */
typedef struct bl_dsa bl_dsa;

#define BL_ED25519_PUBLIC_HEX 64 /* hex characters of a party's public key */

typedef enum bl_dsa_signature_state {
    BL_DSA_UNSIGNED = 0,      /* no signature by this party's key */
    BL_DSA_SIGNED = 1,        /* a valid signature over the current canonical text */
    BL_DSA_BAD_SIGNATURE = 2  /* a signature that does not verify: the text changed */
} bl_dsa_signature_state;

/** Parse and validate an agreement; signatures are checked but not
 *  required here (bl_dsa_verify decides).  *out owned: bl_dsa_free. */
BL_EXPORT BL_RESULT bl_status bl_dsa_load(const char *path, bl_dsa **out, bl_error *err);
BL_EXPORT BL_RESULT bl_status bl_dsa_parse(const char *json, size_t len, const char *name,
                                           bl_dsa **out, bl_error *err);
BL_EXPORT void bl_dsa_free(bl_dsa *dsa);
/** Project id (borrowed, valid while dsa lives). */
BL_EXPORT const char *bl_dsa_project_id(const bl_dsa *dsa);
/** The signed text (borrowed); changes to the document other than signatures
 *  are not possible through this API. */
BL_EXPORT const char *bl_dsa_canonical_text(const bl_dsa *dsa);
/** SHA-256 of the canonical text, lower-case hex (borrowed). */
BL_EXPORT const char *bl_dsa_hash(const bl_dsa *dsa);
BL_EXPORT size_t bl_dsa_party_count(const bl_dsa *dsa);
/** Party name / public key hex (borrowed); NULL if out of range. */
BL_EXPORT const char *bl_dsa_party_name(const bl_dsa *dsa, size_t i);
BL_EXPORT const char *bl_dsa_party_public_key(const bl_dsa *dsa, size_t i);
BL_EXPORT bl_dsa_signature_state bl_dsa_party_signature(const bl_dsa *dsa, size_t i);
/**
 * BL_OK iff every party signed the current canonical text, no signature is by
 * an outsider, and `now` (Unix seconds, UTC; 0 = the current time) lies in
 * [valid_from, expires].  Else BL_ESIGNATURE naming the party, or BL_EEXPIRED.
 */
BL_EXPORT BL_RESULT bl_status bl_dsa_verify(const bl_dsa *dsa, int64_t now, bl_error *err);
/**
 * New Ed25519 signing key: PKCS#8 PEM in an owner-only (0600) file.  Writes
 * the public key as hex into public_hex (BL_ED25519_PUBLIC_HEX + 1 bytes).
 */
BL_EXPORT BL_RESULT bl_status bl_signing_key_generate(const char *path, int overwrite,
                                                      char *public_hex, bl_error *err);
/** Public key (hex) of a signing key file; refuses group/world-readable files. */
BL_EXPORT BL_RESULT bl_status bl_signing_key_public(const char *path, char *public_hex,
                                                    bl_error *err);
/**
 * Sign the canonical text with the key in key_path, which must be a party's;
 * replaces that party's earlier signature (in memory: save with bl_dsa_save).
 * `now` (0 = current time) fills the unsigned "signed_at" note.
 */
BL_EXPORT BL_RESULT bl_status bl_dsa_sign(bl_dsa *dsa, const char *key_path, int64_t now,
                                          bl_error *err);
/**
 * Put a party's public key (hex) into the agreement, for drafting.  The text
 * changes, so every signature is removed.  BL_ENOTFOUND if no such party.
 */
BL_EXPORT BL_RESULT bl_status bl_dsa_set_party_key(bl_dsa *dsa, const char *party,
                                                   const char *public_hex, bl_error *err);
/** Write the agreement (indented, signatures included) atomically. */
BL_EXPORT BL_RESULT bl_status bl_dsa_save(const bl_dsa *dsa, const char *path, bl_error *err);

/**
 * Project pseudonym of an entity: hex of the first 16 bytes of
 * HMAC-SHA256(project key, project_id || 0x00 || entity_id), 32 characters +
 * NUL into hex33.  Different projects (keys) give unlinkable pseudonyms.
 */
BL_EXPORT BL_RESULT bl_status bl_pseudonym(const bl_key *project_key, const char *project_id,
                                           const char *entity_id, char *hex33, bl_error *err);

/** Counts from bl_optout_tokens (no identifiers). */
typedef struct bl_optout_stats {
    uint64_t list_entries;           /* valid NHS numbers on the opt-out list */
    uint64_t list_invalid;           /* list entries failing the Modulus 11 check */
    uint64_t records_read;           /* extract records */
    uint64_t records_without_nhs;    /* missing or invalid NHS number */
    uint64_t filter_hits;            /* records the Bloom pre-filter passed on */
    uint64_t filter_false_positives; /* of those, not on the list (exact check) */
    uint64_t tokens_written;         /* distinct record tokens written */
    uint64_t reserved[8];
} bl_optout_stats;

/**
 * At the holder: read the extract with its profile, normalise each record's
 * NHS number and write "source,record_token" rows (sorted, distinct) for the
 * records whose number is on the national data opt-out list (a CSV with one
 * column of NHS numbers, or a column named nhs_number).  Output is atomic.
 * BL_ENOTFOUND if the profile maps no NHS number column.
 */
BL_EXPORT BL_RESULT bl_status bl_optout_tokens(const bl_schema *schema, const bl_profile *profile,
                                               const bl_key *key, const char *extract_path,
                                               const char *nhs_list_path, const char *out_path,
                                               bl_optout_stats *stats, bl_error *err);

/** One input of the emitter: a source name and a file. */
typedef struct bl_emit_input {
    const char *source;
    const char *path;
} bl_emit_input;

typedef enum bl_emit_format {
    BL_EMIT_SQLITE = 0,   /* one SQLite file: person, event, provenance, variable */
    BL_EMIT_CSV = 1,      /* a directory of person.csv, event.csv, provenance.csv, variable.csv */
    BL_EMIT_AGGREGATE = 2 /* one CSV of suppressed person counts by aggregate_by */
} bl_emit_format;

/** Emitter options; fill with bl_emit_options_default, then set. */
typedef struct bl_emit_options {
    const char *dsa_path;          /* signed agreement (required) */
    const char *project_key_path;  /* owner-only 32-byte project key (required) */
    const char *linkmap_path;      /* link map CSV from the matcher (required) */
    const bl_emit_input *content;  /* content files, one per source (at least one) */
    size_t content_count;
    const bl_emit_input *optout;   /* opt-out token files from bl_optout_tokens */
    size_t optout_count;
    const char *out_path;          /* dataset file, CSV directory or aggregate CSV */
    bl_emit_format format;         /* BL_EMIT_SQLITE */
    const char *const *aggregate_by; /* BL_EMIT_AGGREGATE: "sources", "in_<source>", person columns */
    size_t aggregate_by_count;
    const char *report_path;       /* optional JSON report (counts, columns, opt-out mix) */
    const char *audit_log_path;    /* required: every run appends an entry */
    const char *actor;             /* required: who runs it (the CLI passes the login name) */
    int64_t now;                   /* Unix seconds for expiry and timestamps; 0 = now */
    int overwrite;                 /* replace an existing output */
    bl_progress_fn progress;
    void *progress_user;
    uint64_t fail_after_rows;      /* test hook: fail with BL_EIO after this many rows (0 = off) */
    void *reserved[8];
} bl_emit_options;

/** Counts of an emit run.  report_json is owned: bl_emit_result_clear. */
typedef struct bl_emit_result {
    char dsa_hash[BL_FINGERPRINT_HEX + 1];
    char audit_entry_hash[BL_FINGERPRINT_HEX + 1];
    uint64_t linkmap_rows;
    uint64_t entities;              /* linked entities with a record in a supplied source */
    uint64_t persons;               /* written (after opt-out) */
    uint64_t events;                /* written (after opt-out) */
    uint64_t content_rows;
    uint64_t content_rows_unlinked; /* content rows whose token is not in the link map */
    uint64_t invalid_values;        /* values that could not be generalised (left empty) */
    uint64_t undeclared_columns;    /* content columns the agreement does not name (not passed on) */
    uint64_t optout_tokens;
    uint64_t optout_tokens_linked;
    uint64_t optout_persons;        /* entities removed */
    uint64_t optout_records;        /* their records, over all supplied sources */
    uint64_t optout_events;
    uint64_t aggregate_cells;
    uint64_t suppressed_primary;
    uint64_t suppressed_secondary;
    char *report_json;              /* the report (also written to report_path) */
    uint64_t reserved[8];
} bl_emit_result;

BL_EXPORT void bl_emit_options_default(bl_emit_options *opt);
/**
 * Verify the agreement, then write the pseudonymised dataset (or aggregate)
 * atomically: on any failure nothing exists at out_path.  Refusals (unsigned,
 * tampered or expired agreement, disallowed output, missing opt-out list) are
 * BL_ESIGNATURE, BL_EEXPIRED or BL_EPOLICY.  Every run, refused or not,
 * appends an entry to the audit log.
 */
BL_EXPORT BL_RESULT bl_status bl_emit(const bl_emit_options *opt, bl_emit_result *res,
                                      bl_error *err);
/** Free what res owns and zero it (NULL is a no-op). */
BL_EXPORT void bl_emit_result_clear(bl_emit_result *res);

/**
 * Append an entry (actor, command, details: a JSON object text of hashes and
 * counts, never identifiers) to the hash-chained log at log_path, after
 * verifying the chain.  entry_hash (BL_FINGERPRINT_HEX + 1, may be NULL)
 * receives the new head.
 */
BL_EXPORT BL_RESULT bl_status bl_audit_append(const char *log_path, const char *actor,
                                              const char *command, const char *details_json,
                                              int64_t now, char *entry_hash, bl_error *err);
/**
 * Verify the chain: every entry canonical, in sequence, linked to the one
 * before and matching its hash.  BL_ECHECKSUM names the first bad entry.  With
 * expect_head (may be NULL), the last entry must have that hash, which also
 * catches entries removed from the end.
 */
BL_EXPORT BL_RESULT bl_status bl_audit_verify(const char *log_path, const char *expect_head,
                                              uint64_t *entries, char *head_hash, bl_error *err);

#ifdef __cplusplus
}
#endif
#endif /* BLOOMLINK_H */
