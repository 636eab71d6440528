/* dsa.h - data-sharing agreements: parsed layout for the emitter (private). */
#ifndef BL_DSA_H
#define BL_DSA_H
#include <stdint.h>

#include <jansson.h>

#include "bloomlink.h"

#define BL_DSA_FORMAT "bloomlink-dsa/1"
#define BL_DSA_MAX_DATE_FORMATS 8
#define BL_ED25519_PUBLIC_BYTES 32
#define BL_ED25519_SIGNATURE_BYTES 64

/* Where a content column goes. */
typedef enum bl_dsa_use {
    BL_USE_DROP = 0,       /* never leaves the emitter (free text, identifiers) */
    BL_USE_EVENT_DATE = 1, /* the event's date; exactly one per source */
    BL_USE_EVENT_TYPE = 2, /* the event's type; at most one per source */
    BL_USE_EVENT = 3,      /* an attribute column of the event table */
    BL_USE_PERSON = 4      /* a person-level (demographic) column of the person table */
} bl_dsa_use;

/* How a value is generalised before it is stored anywhere. */
typedef enum bl_dsa_gen {
    BL_GEN_NONE = 0,       /* a code kept as it is (trimmed) */
    BL_GEN_MONTH = 1,      /* date -> YYYY-MM */
    BL_GEN_YEAR = 2,       /* date -> YYYY */
    BL_GEN_BIRTH_YEAR = 3, /* date of birth (or a year) -> YYYY */
    BL_GEN_AGE_BAND = 4,   /* date of birth (or a year) -> age band at the reference date */
    BL_GEN_OUTWARD = 5,    /* postcode -> outward code (postcode district), "OX4" */
    BL_GEN_AREA = 6,       /* postcode -> postcode area, "OX" */
    BL_GEN_SEX = 7,        /* sex code -> M, F or U */
    BL_GEN_TOP_CODE = 8,   /* integer -> itself, or "N+" above N */
    BL_GEN_BROAD = 9       /* coded text -> the part before " - " ("White - Irish" -> "White") */
} bl_dsa_gen;

typedef struct bl_dsa_column {
    char *column; /* content file header */
    bl_dsa_use use;
    bl_dsa_gen gen;
    char *as;     /* output column name (event/person uses) */
    long top;     /* BL_GEN_TOP_CODE */
} bl_dsa_column;

typedef struct bl_dsa_source {
    char *name;
    char *date_formats[BL_DSA_MAX_DATE_FORMATS];
    int ndate_formats;
    bl_dsa_column *cols;
    size_t ncols;
} bl_dsa_source;

typedef struct bl_dsa_party {
    char *name;
    char *role;
    char public_hex[2 * BL_ED25519_PUBLIC_BYTES + 1];
    int state; /* bl_dsa_signature_state */
} bl_dsa_party;

enum { BL_DSA_OUT_SQLITE = 1, BL_DSA_OUT_CSV = 2, BL_DSA_OUT_AGGREGATE = 4 };

struct bl_dsa {
    json_t *doc;       /* the whole document, signatures included */
    char *name;        /* file name for messages */
    char *canonical;   /* the signed text: canonical JSON without "signatures" */
    char hash[BL_FINGERPRINT_HEX + 1];
    const char *project_id, *purpose; /* borrowed from doc */
    long valid_from, expires, retain_until; /* YYYYMMDD; valid_from 0 if absent */
    bl_dsa_party *parties;
    size_t nparties;
    int foreign_signatures; /* signature entries of keys that are no party's */
    char foreign_detail[160];
    unsigned outputs;  /* BL_DSA_OUT_* bits */
    int optout_apply;
    char **optout_sources;
    size_t noptout_sources;
    long supp_threshold; /* counts 1..threshold are suppressed */
    long supp_round;     /* other counts are rounded to a multiple of this (1: none) */
    int supp_secondary;
    long age_reference;  /* YYYYMMDD */
    int age_band_width, age_band_top;
    const char *project_key_fingerprint; /* NULL if the DSA does not pin the key */
    bl_dsa_source *sources;
    size_t nsources;
};

/* Index of a source by name, or -1. */
int bl_dsa_source_index(const bl_dsa *dsa, const char *name);
/* "YYYY-MM-DD" -> YYYYMMDD with calendar checks; 0 on failure. */
long bl_parse_iso_date(const char *s);
/* YYYYMMDD of a Unix time (UTC). */
long bl_ymd_of_time(int64_t t);
/* Canonical JSON text of any JSON value (sorted keys, compact, ASCII). */
char *bl_json_canonical(const json_t *v);
/* SHA-256 hex of a buffer. */
bl_status bl_sha256_hex(const void *p, size_t n, char *hex65, bl_error *err);
/* Generalise a value under a column rule of source s; out[0] = '\0' means
   missing or invalid.  *invalid is set when a present value was unusable. */
void bl_dsa_generalise(const bl_dsa *dsa, const bl_dsa_source *s, const bl_dsa_column *c,
                       const char *in, char *out, size_t out_size, int *invalid);
/* Name of a generalisation as the agreement spells it. */
const char *bl_dsa_gen_name(bl_dsa_gen g);
/* Parse a date with a source's formats: YYYYMMDD, or 0. */
long bl_dsa_parse_date(const bl_dsa_source *s, const char *in);
#endif
