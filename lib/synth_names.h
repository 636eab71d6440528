/* synth_names.h - private: name and postcode tables for the synthetic-data
   generator.  Two kinds:
   - compiled from CSV at build time (lib/synth_tables.c, made by
     tools/gen_synth_names.sh from data/names/ and tools/synth_*.csv);
   - curated by hand in lib/synth_names.c (nicknames, spelling variants,
     accented forms), which are knowledge rather than frequencies. */
#ifndef BL_SYNTH_NAMES_H
#define BL_SYNTH_NAMES_H
#include <stddef.h>
#include <stdint.h>

#include "bloomlink.h"

/* Name pools: a household draws family and given names from one pool, so
   names hang together the way they do in England's communities. */
enum synth_group {
    SG_GENERAL = 0,   /* ONS tables: White British, Irish, other, mixed */
    SG_PAKISTANI,
    SG_BANGLADESHI,
    SG_INDIAN,        /* Gujarati/Punjabi Hindu, South Indian, Goan */
    SG_SIKH,
    SG_BLACK_AFRICAN, /* Nigerian, Ghanaian, Sierra Leonean, Zimbabwean, Kenyan */
    SG_SOMALI,
    SG_CARIBBEAN,
    SG_POLISH,
    SG_ROMANIAN,
    SG_CHINESE,
    SG_VIETNAMESE,
    SG_TURKISH,       /* Turkish and Kurdish */
    SG_COUNT
};

typedef struct synth_surname {
    const char *name;   /* display form, UTF-8 ("O'Brien", "Wiśniewski") */
    uint32_t weight;    /* share of the population in units of 1e-7 */
    uint8_t group;      /* enum synth_group */
    char sex;           /* 'U', or 'M'/'F' for names only one sex carries (Begum) */
} synth_surname;

typedef struct synth_baby {   /* ONS baby names, England and Wales */
    const char *name;         /* proper case ("Ellie-Mae") */
    char sex;                 /* 'M' or 'F' */
    uint32_t n[5];            /* births 1996-99, 2000-04, 2005-09, 2010-14, 2015-18 */
} synth_baby;

typedef struct synth_hist {   /* ONS historic top-100 */
    const char *name;
    char sex;
    uint8_t decade;           /* 0 = 1904, 1 = 1914, ..., 9 = 1994 */
    uint8_t rank;             /* 1 = most popular */
} synth_hist;

typedef struct synth_given {  /* curated community given names */
    const char *name;         /* display form, UTF-8 */
    char sex;                 /* 'M', 'F' or 'U' (either) */
    uint16_t weight;          /* relative, within group and sex */
    uint8_t group;
    uint8_t exclusive;        /* rare outside the group: redraw it for the general pool */
} synth_given;

typedef struct synth_outcode {
    const char *code;         /* "OX10" */
    uint8_t retired;          /* OX6, OX8: only as stale addresses */
} synth_outcode;

extern const synth_surname synth_surnames[];
extern const size_t synth_surname_count;
extern const synth_baby synth_babies[];
extern const size_t synth_baby_count;
extern const synth_hist synth_hists[];
extern const size_t synth_hist_count;
extern const synth_given synth_given_extra[];
extern const size_t synth_given_extra_count;
extern const char *const synth_oxford_postcodes[];
extern const size_t synth_oxford_postcode_count;
extern const synth_outcode synth_outcodes[];
extern const size_t synth_outcode_count;

/* ---- curated (lib/synth_names.c) ---- */

/* Formal name -> names people go by, '|'-separated ("William" -> "Bill|Will|Billy|Liam").
   Includes anglicised forms (Łukasz -> Luke) and Yoruba short forms (Oluwaseun -> Seun). */
typedef struct synth_nickname {
    const char *formal;
    const char *alts;
} synth_nickname;
extern const synth_nickname synth_nicknames[];
extern const size_t synth_nickname_count;

/* Spellings of one name that clerks use interchangeably, '|'-separated
   ("Mohammed|Muhammad|Mohammad|Mohamed|Muhammed|Mohamad").  Given and family
   names share the table; a name belongs to at most one set. */
extern const char *const synth_variants[];
extern const size_t synth_variant_count;

/* Names that the ONS tables hold in ASCII but some people write with accents:
   a person drawing `plain` carries `accented` with probability permille/1000. */
typedef struct synth_accent {
    const char *plain;
    const char *accented;
    uint16_t permille;
} synth_accent;
extern const synth_accent synth_accents[];
extern const size_t synth_accent_count;

/* Fold a UTF-8 name to upper-case ASCII letters, digits, spaces, hyphens and
   apostrophes ("Zoë" -> "ZOE", "Łukasz" -> "LUKASZ"), for table lookups.
   Unknown non-ASCII characters are dropped.  Always NUL-terminates. */
void synth_fold_key(const char *in, char *out, size_t out_size);
/* Strip diacritics but keep case ("Siân" -> "Sian", "Łukasz" -> "Lukasz"), as
   systems that store ASCII do.  Always NUL-terminates. */
void synth_strip_accents(const char *in, char *out, size_t out_size);
#endif
