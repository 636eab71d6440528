/* key.c - linkage keys: generation, owner-only loading, HKDF sub-keys. */
#include "config.h"

#include "key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io.h"

static const char hkdf_salt[] = "bloomlink/v1";

static bl_status key_alloc(bl_key **out, bl_error *err)
{
    bl_key *k = calloc(1, sizeof *k);
    if (!k)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    /* Best effort: a key in swap outlives the process. */
    k->locked = mlock(k, sizeof *k) == 0;
    bl_handle_created();
    *out = k;
    return BL_OK;
}

void bl_key_free(bl_key *key)
{
    if (!key)
        return;
    bl_wipe(key->bytes, sizeof key->bytes);
    if (key->locked)
        munlock(key, sizeof *key);
    free(key);
    bl_handle_destroyed();
}

bl_status bl_key_from_bytes(const uint8_t *bytes, size_t len, bl_key **out, bl_error *err)
{
    *out = NULL;
    if (!bytes || len != BL_KEY_BYTES)
        return bl_fail(err, BL_EKEY, "a linkage key is exactly %d bytes, got %zu", BL_KEY_BYTES, len);
    bl_status st = key_alloc(out, err);
    if (st == BL_OK)
        memcpy((*out)->bytes, bytes, BL_KEY_BYTES);
    return st;
}

bl_status bl_key_generate_file(const char *path, int overwrite, bl_error *err)
{
    uint8_t bytes[BL_KEY_BYTES];
    if (!path || !*path)
        return bl_fail(err, BL_EMISUSE, "no key file path given");
    if (!overwrite && access(path, F_OK) == 0)
        return bl_fail_at(err, BL_EEXISTS, path, -1, -1, NULL,
                          "key file exists; refusing to overwrite a key others may depend on");
    if (RAND_priv_bytes(bytes, sizeof bytes) != 1)
        return bl_fail_openssl(err, "RAND_priv_bytes");
    /* bl_write_file_atomic creates the temp file 0600, so the key is never
       readable by others, not even for a moment. */
    bl_status st = bl_write_file_atomic(path, bytes, sizeof bytes, err);
    bl_wipe(bytes, sizeof bytes);
    return st;
}

bl_status bl_key_load(const char *path, bl_key **out, bl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return bl_fail_at(err, errno == ELOOP ? BL_EKEY : BL_EIO, path, -1, -1, NULL,
                          "cannot open key file: %s", errno == ELOOP ? "it is a symbolic link"
                                                                     : strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL, "key file is not a regular file");
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL,
                          "key file is accessible by group or others (mode %04o); run chmod 600",
                          (unsigned)(st.st_mode & 07777));
    }
    if (st.st_size != BL_KEY_BYTES) {
        close(fd);
        return bl_fail_at(err, BL_EKEY, path, -1, -1, NULL,
                          "key file holds %lld bytes; a linkage key is %d bytes (made by bloomlink keygen)",
                          (long long)st.st_size, BL_KEY_BYTES);
    }
    bl_key *k = NULL;
    bl_status s = key_alloc(&k, err);
    if (s != BL_OK) {
        close(fd);
        return s;
    }
    size_t got = 0;
    while (got < BL_KEY_BYTES) {
        ssize_t r = read(fd, k->bytes + got, BL_KEY_BYTES - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            bl_key_free(k);
            return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot read key file");
        }
        got += (size_t)r;
    }
    close(fd);
    *out = k;
    return BL_OK;
}

bl_status bl_hmac_sha256(const uint8_t *key, size_t key_len, const void *msg, size_t msg_len,
                         uint8_t out[32], bl_error *err)
{
    unsigned int len = 32;
    if (!HMAC(EVP_sha256(), key, (int)key_len, msg, msg_len, out, &len))
        return bl_fail_openssl(err, "HMAC-SHA256");
    return BL_OK;
}

bl_status bl_hkdf_sha256(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len,
                         const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len,
                         bl_error *err)
{
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    EVP_KDF_CTX *ctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
    EVP_KDF_free(kdf);
    if (!ctx)
        return bl_fail_openssl(err, "HKDF setup");
    OSSL_PARAM params[5], *p = params;
    *p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
    *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)ikm, ikm_len);
    /* Empty salt and info are omitted: OpenSSL then uses RFC 5869's defaults
       (a zero salt of hash length, empty info) instead of failing on NULL. */
    if (salt_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info_len)
        *p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    *p = OSSL_PARAM_construct_end();
    int ok = EVP_KDF_derive(ctx, out, out_len, params) == 1;
    EVP_KDF_CTX_free(ctx);
    return ok ? BL_OK : bl_fail_openssl(err, "HKDF");
}

bl_status bl_key_derive(const bl_key *key, const char *purpose, const char *detail, uint8_t *out,
                        size_t out_len, bl_error *err)
{
    if (!key)
        return bl_fail(err, BL_EMISUSE, "no key");
    size_t pl = strlen(purpose), dl = detail ? strlen(detail) : 0;
    uint8_t info[256];
    if (pl + dl + 1 > sizeof info)
        return bl_fail(err, BL_EMISUSE, "sub-key label too long");
    memcpy(info, purpose, pl);
    info[pl] = 0;
    if (dl)
        memcpy(info + pl + 1, detail, dl);
    return bl_hkdf_sha256(key->bytes, BL_KEY_BYTES, (const uint8_t *)hkdf_salt, sizeof hkdf_salt - 1,
                          info, pl + 1 + dl, out, out_len, err);
}

bl_status bl_key_fingerprint(const bl_key *key, char *hex, bl_error *err)
{
    uint8_t sub[32], mac[32];
    static const char label[] = "bloomlink key fingerprint v1";
    /* A dedicated sub-key, so the fingerprint is unrelated to any key used to
       encode: publishing it reveals nothing. */
    bl_status st = bl_key_derive(key, "fingerprint", NULL, sub, sizeof sub, err);
    if (st == BL_OK)
        st = bl_hmac_sha256(sub, sizeof sub, label, sizeof label - 1, mac, err);
    bl_wipe(sub, sizeof sub);
    if (st == BL_OK)
        bl_hex(mac, sizeof mac, hex);
    return st;
}
