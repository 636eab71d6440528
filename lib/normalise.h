/* normalise.h - private helpers around the public normalisers (bloomlink.h
   section "normalisers") for the encoder, blocking and generalisation. */
#ifndef BL_NORMALISE_H
#define BL_NORMALISE_H
#include "bloomlink.h"

/* Output buffer sizes (NUL included) of the fixed-width normalisers.  Smaller
   buffers are BL_EMISUSE, not BL_EINVALID: they are the caller's bug. */
#define BL_DATE_SIZE 9          /* "YYYYMMDD" */
#define BL_SEX_SIZE 2           /* "M", "F" or "" */
#define BL_POSTCODE_SIZE 9      /* "SW1A 1AA" */
#define BL_NHS_NUMBER_SIZE 11   /* ten digits */
#define BL_SOUNDEX_SIZE 5
#define BL_POSTCODE_OUTWARD_SIZE 5  /* "SW1A" */
#define BL_POSTCODE_SECTOR_SIZE 7   /* "SW1A 1" */
#define BL_POSTCODE_AREA_SIZE 4     /* "SW", or "GIR" for GIR 0AA */

/*
 * American Soundex of an already-normalised name (A-Z and spaces; spaces and
 * anything else that is not a letter are skipped, so "VAN DER BERG" is coded
 * as "VANDERBERG").  "" (or no letter at all) gives "".
 */
void bl_soundex(const char *normalised_name, char out[BL_SOUNDEX_SIZE]);

/*
 * Split a normalised "YYYYMMDD" into its parts.  Returns 0 when it is exactly
 * eight digits naming a real calendar date in 1880..9999, else -1 (parts are
 * then left untouched).
 */
int bl_date_parts(const char *yyyymmdd, int *y, int *m, int *d);
/* 1 if y-m-d is a calendar date with 1880 <= y <= 9999. */
int bl_date_valid(int y, int m, int d);
/* Today's date (UTC, system clock) as YYYYMMDD, e.g. 20240615. */
long bl_today_yyyymmdd(void);

/*
 * bl_normalise_date, plus *is_future (may be NULL): set to 1 when the value
 * failed only because it is after not_after_yyyymmdd (the error text then
 * starts "future date"), else 0.  Formats may use %d %m %Y %y %b %B %% and
 * also %H %M %S (parsed and range-checked, then ignored, for extracts that
 * append a time such as "05/03/1987 00:00").  With formats NULL or nformats 0
 * the defaults "%Y-%m-%d", "%d/%m/%Y", "%Y%m%d" are tried.  A malformed
 * format is BL_ESCHEMA (it comes from a profile), never BL_EINVALID.
 */
bl_status bl_normalise_date_ex(const char *in, const char *const *formats, size_t nformats,
                               long not_after_yyyymmdd, char *out, size_t out_size,
                               int *is_future, bl_error *err);
/*
 * The year of a date that failed validation but has the shape of one of the
 * formats with a plausible four-digit year ("2000-07-76", "31/02/1980",
 * "00/00/1975"), else 0.  The encoder salts with it: a day typo should not
 * cost a record its name evidence.  The date itself stays missing.
 */
int bl_date_salvage_year(const char *in, const char *const *formats, size_t nformats,
                         long not_after_yyyymmdd);
/* Check one date format (for the profile loader): BL_OK or BL_ESCHEMA naming
   the problem (unknown directive, no day/month/year, a part given twice). */
bl_status bl_date_format_check(const char *format, bl_error *err);

/*
 * Parts of a canonical postcode as bl_normalise_postcode writes it
 * ("OX1 2JD").  Anything not in that form gives "".
 *   outward  "OX1"   (the postcode district is the outward code)
 *   sector   "OX1 2" (outward code, space, first character of the inward code)
 *   area     "OX"    (leading letters of the outward code; "GIR" for GIR 0AA)
 */
void bl_postcode_outward(const char *canonical, char out[BL_POSTCODE_OUTWARD_SIZE]);
void bl_postcode_district(const char *canonical, char out[BL_POSTCODE_OUTWARD_SIZE]);
void bl_postcode_sector(const char *canonical, char out[BL_POSTCODE_SECTOR_SIZE]);
void bl_postcode_area(const char *canonical, char out[BL_POSTCODE_AREA_SIZE]);

/*
 * The normalisers with their fast paths switched off: the general code that
 * each fast path (normalise.c) must agree with byte for byte, in status,
 * output and message.  For tests/check_normalise.c, which compares the two
 * on many inputs; everything else calls the functions without "_general".
 */
bl_status bl_normalise_name_general(const char *in, char *out, size_t out_size, bl_error *err);
bl_status bl_normalise_text_general(const char *in, char *out, size_t out_size, bl_error *err);
bl_status bl_normalise_full_name_general(const char *in, char *given, size_t given_size,
                                         char *family, size_t family_size, bl_error *err);
bl_status bl_normalise_date_general(const char *in, const char *const *formats, size_t nformats,
                                    long not_after_yyyymmdd, char *out, size_t out_size,
                                    int *is_future, bl_error *err);
bl_status bl_normalise_sex_general(const char *in, char *out, size_t out_size, bl_error *err);
bl_status bl_normalise_postcode_general(const char *in, char *out, size_t out_size,
                                        bl_error *err);
bl_status bl_normalise_nhs_number_general(const char *in, char *out, size_t out_size,
                                          bl_error *err);

#endif
