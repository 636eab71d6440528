/* tokenise.h - turn a normalised value into the tokens that are hashed. */
#ifndef BL_TOKENISE_H
#define BL_TOKENISE_H
#include <stdint.h>

#include "bloomlink.h"
#include "schema.h"

#define BL_MAX_TOKENS 160
#define BL_TOKEN_BUF 2048

/* Tokens live in one buffer; token i is buf[off[i]] .. + len[i] (not NUL-terminated). */
typedef struct bl_tokens {
    char buf[BL_TOKEN_BUF];
    uint16_t off[BL_MAX_TOKENS];
    uint8_t len[BL_MAX_TOKENS];
    int n;
} bl_tokens;

/*
 * Tokens of one field's normalised value (never empty: missing values are not
 * tokenised).
 * - name/text/postcode/nhs_number: q-grams, padded with q-1 '_' at both ends
 *   when padding is on, so that short values and first/last letters count;
 *   spaces inside names are kept (postcodes lose theirs); positional q-grams
 *   append "@<position>".
 * - date ("YYYYMMDD"): "Y1980", "M06", "D15" and an order-free day-month token
 *   "X0615" (day and month sorted), so a day/month swap still shares a token.
 * - sex: the code itself ("M" or "F").
 * Fails with BL_EINVALID if the value needs more than BL_MAX_TOKENS tokens.
 */
bl_status bl_tokenise(const bl_schema_field *field, const char *value, bl_tokens *out,
                      bl_error *err);
#endif
