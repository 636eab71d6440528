/* schema.h - the linkage schema (private layout). */
#ifndef BL_SCHEMA_H
#define BL_SCHEMA_H
#include <stdint.h>

#include "bloomlink.h"

/* BL_MAX_FIELDS (32) is public: bloomlink.h */
#define BL_MAX_BLOCKING_KEYS 16
#define BL_MAX_KEY_PARTS 4

/* What a blocking-key part takes from a field's normalised value. */
typedef enum bl_part_fn {
    BL_PART_VALUE,    /* the whole normalised value */
    BL_PART_SOUNDEX,  /* Soundex code of a name */
    BL_PART_INITIAL,  /* first letter */
    BL_PART_YEAR,     /* year of a date */
    BL_PART_OUTWARD,  /* outward code of a postcode */
    BL_PART_INITIALS  /* two fields' initials in sorted order (swapped names agree) */
} bl_part_fn;

typedef struct bl_key_part {
    bl_part_fn fn;
    int field;  /* schema field index */
    int field2; /* second field for BL_PART_INITIALS, else -1 */
} bl_key_part;

typedef struct bl_blocking_key {
    char *name;
    bl_key_part parts[BL_MAX_KEY_PARTS];
    int nparts;
} bl_blocking_key;

typedef struct bl_schema_field {
    char *name;
    bl_field_type type;
    int q;          /* q-gram length (name, postcode, nhs_number, text) */
    int padding;    /* pad with '_' so first and last characters count fully */
    int positional; /* append the position to each q-gram */
    uint32_t bits;  /* field filter size as built, multiple of 64 */
    int xor_folds;  /* times the built filter is folded in half by XOR (0-3) */
    int balanced;   /* filter and its complement, keyed-permuted: half the bits set */
    uint32_t stored_bits; /* size in the encoding: bits >> xor_folds, doubled if balanced */
    uint32_t hashes;     /* bit positions per token in the field filter */
    uint32_t clk_hashes; /* bit positions per token in the CLK (0: not in CLK) */
    int salted;          /* field-filter tokens salted with the record's salt */
    int first_word;      /* names: keep only the first word (middle names dropped) */
    char *swap_group;    /* fields of one group share hashing and compare crossed; NULL: none */
    bl_key_part parts[BL_MAX_KEY_PARTS]; /* identity fields: what their value is made of */
    int nparts;
} bl_schema_field;

struct bl_schema {
    int version;
    char *name;
    uint32_t clk_bits;
    int salt_field; /* index of the date field whose year salts tokens; -1 = none */
    bl_schema_field fields[BL_MAX_FIELDS];
    int nfields;
    bl_blocking_key keys[BL_MAX_BLOCKING_KEYS];
    int nkeys;
    char *canonical;              /* canonical JSON text */
    char fingerprint[BL_FINGERPRINT_HEX + 1];
};

/* Index of a field by name, or -1. */
int bl_schema_field_index(const bl_schema *schema, const char *name);
/* 0 and *t set, or -1 for an unknown name. */
int bl_field_type_parse(const char *s, bl_field_type *t);
#endif
