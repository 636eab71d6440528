/* report.h - private: evaluation against truth and link-rate reports. */
#ifndef BL_REPORT_H
#define BL_REPORT_H
#include "bloomlink.h"

/* Count pairwise agreement from per-record (source, person, entity) ids.
   Exposed for tests: sources are indices < nsources (named by names[]). */
bl_status bl_evaluate_records(const uint8_t *source, const uint64_t *person, const uint64_t *entity,
                              size_t n, const char *const *names, size_t nsources,
                              bl_evaluation **out, bl_error *err);
#endif
