/* key.h - the linkage key and its HKDF sub-keys (private). */
#ifndef BL_KEY_H
#define BL_KEY_H
#include <stdint.h>

#include "bloomlink.h"

struct bl_key {
    uint8_t bytes[BL_KEY_BYTES];
    int locked; /* mlock succeeded: the key is not swapped out */
};

/*
 * Derive a sub-key with HKDF-SHA256 (RFC 5869): salt = "bloomlink/v1",
 * info = purpose ‖ 0x00 ‖ detail.  Purposes in use: "field" (detail = field
 * name), "clk", "block" (detail = blocking key name), "token", "fingerprint".
 * Separate sub-keys mean one leaked purpose key reveals nothing of another.
 */
bl_status bl_key_derive(const bl_key *key, const char *purpose, const char *detail, uint8_t *out,
                        size_t out_len, bl_error *err);

/* RFC 5869 HKDF with SHA-256, exposed for known-answer tests. */
bl_status bl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                         const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len,
                         bl_error *err);
/* One-shot HMAC-SHA256. */
bl_status bl_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
                         uint8_t out[32], bl_error *err);
#endif
