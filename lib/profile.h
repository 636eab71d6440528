/* profile.h - a holder's source profile (private layout). */
#ifndef BL_PROFILE_H
#define BL_PROFILE_H
#include "bloomlink.h"
#include "schema.h"

#define BL_MAX_DATE_FORMATS 8

/* Derived content columns (profile "derived_content"). */
enum { BL_DERIVED_BIRTH_YEAR = 1, BL_DERIVED_SEX = 2 };
const char *bl_derived_name(int code);

typedef struct bl_profile_column {
    char *column; /* CSV header name; NULL: the source lacks this field */
    char *formats[BL_MAX_DATE_FORMATS];
    int nformats;
} bl_profile_column;

struct bl_profile {
    char *source;
    char *record_id;
    char separator;
    int skip_initial_space;
    bl_profile_column fields[BL_MAX_FIELDS]; /* indexed like the schema's fields */
    char *full_name;   /* column holding a whole name, or NULL */
    int full_given;    /* schema field filled with the given name, -1 if none */
    int full_family;   /* schema field filled with the family name, -1 if none */
    char **content;
    int ncontent;
    /* Generalised attributes the encoder derives from identifiers and appends
       to the content file (BL_DERIVED_*), in order. */
    int derived[4];
    int nderived;
    int nfields;       /* copy of the schema's field count */
    char schema_fingerprint[BL_FINGERPRINT_HEX + 1]; /* schema this profile was parsed against */
};
#endif
