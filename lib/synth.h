/* synth.h - private: the synthetic-data generator (public entry points are
   bl_synth_options_default and bl_synth_write in bloomlink.h). */
#ifndef BL_SYNTH_H
#define BL_SYNTH_H
#include <stdint.h>

#include "bloomlink.h"

/* The extracts are dated as of this day, so output depends on the seed only,
   never on the clock: ages, "future" birth dates and event dates are relative
   to it. */
#define SYNTH_REF_YEAR 2024
#define SYNTH_REF_MONTH 3
#define SYNTH_REF_DAY 31

/* Modulus 11 check digit for nine ASCII digits: 0-9, or 10 when no valid NHS
   number starts with these digits. */
int synth_nhs_check_digit(const char *nine);

/* The four sources, in the order their files are written. */
enum { SYNTH_GP, SYNTH_SOCIAL_CARE, SYNTH_HOUSING, SYNTH_EDUCATION, SYNTH_NSOURCES };
/* Source name ("gp", ...) for an index above. */
const char *synth_source_name(int source);
#endif
