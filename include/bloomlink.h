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
    BL_FIELD_TEXT = 5
} bl_field_type;

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
/** Bits in field i's filter. */
BL_EXPORT size_t bl_schema_field_bits(const bl_schema *schema, size_t i);
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
    uint64_t reserved[8];
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
} bl_encfile_info;

/** One record, borrowed from the reader until the next call. */
typedef struct bl_record_view {
    const uint8_t *token;          /* BL_TOKEN_BYTES */
    uint32_t present;              /* bit i set: field i present */
    const uint64_t *const *fields; /* field_count filters, field_bits[i]/64 words */
    const uint64_t *clk;           /* clk_bits/64 words */
    const uint64_t *blocking_keys; /* blocking_key_count values; 0 = no key */
    uint8_t sex;                   /* 0 unknown, 1 male, 2 female */
    uint8_t age_band;              /* 0 unknown, else 1 + age/10 at encoding */
} bl_record_view;

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
 * words; integer-exact, identical across kernels.
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
 * Dice >= num/den, with no floating point.  pa, pb are precomputed popcounts.
 */
BL_EXPORT int bl_dice_at_least(const uint64_t *a, uint32_t pa, const uint64_t *b, uint32_t pb,
                               size_t words, uint32_t num, uint32_t den);
/**
 * One-to-many: for each of the n filters in `many` (contiguous, `words` each,
 * popcounts in `pop_many`), write to out_idx the indices whose Dice with `one`
 * is >= num/den.  Returns the number written (at most n).  This is the hot
 * loop; it uses the kernel in force.
 */
BL_EXPORT size_t bl_dice_scan(const uint64_t *one, uint32_t pop_one, const uint64_t *many,
                              const uint32_t *pop_many, size_t n, size_t words, uint32_t num,
                              uint32_t den, uint32_t *out_idx);

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

/* --------------------------------------------- clkhash / anonlink interchange */
/* (section owned by lib/clkhash.c) */

/* ---------------------------------------------------------------- governance */
/* (section owned by lib/dsa.c emit.c audit.c) */

#ifdef __cplusplus
}
#endif
#endif /* BLOOMLINK_H */
