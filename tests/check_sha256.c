/* check_sha256.c - SHA-256 and HMAC-SHA256 kernels: FIPS 180-4 and RFC 4231
 * known answers, every kernel against OpenSSL's HMAC() on random keys and
 * every short length, batches with mixed keys and odd sizes, the long-message
 * path, and a check that the comparison itself catches a wrong byte.
 * Kernels this CPU lacks are skipped by name, so the suite runs anywhere. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"
#include "tests.h"

/* ------------------------------------------------------------ helpers */

/* splitmix64: deterministic, seedable test data. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static void random_bytes(uint64_t *rng, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)next_u64(rng);
}

static void unhex(const char *hex, uint8_t *out)
{
    for (size_t i = 0; hex[2 * i]; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

/* OpenSSL's one-shot HMAC: the independent reference. */
static void ref_hmac(const uint8_t *key, size_t klen, const uint8_t *msg, size_t len,
                     uint8_t out[32])
{
    unsigned olen = 0;
    static const uint8_t none = 0;
    ck_assert_ptr_nonnull(HMAC(EVP_sha256(), klen ? key : &none, (int)klen, len ? msg : &none, len,
                               out, &olen));
    ck_assert_uint_eq(olen, 32);
}

/* The kernel named by loop index i, or NULL (saying so) when the CPU lacks it. */
static const bl_hmac_ops *kernel_or_skip(int i, const char *test)
{
    const char *name = bl_hmac_kernel_at((size_t)i);
    ck_assert_ptr_nonnull(name);
    const bl_hmac_ops *ops = bl_hmac_ops_get(name);
    if (!ops)
        fprintf(stderr, "skip %s (%s): CPU lacks %s\n", name, test, bl_hmac_kernel_needs(name));
    return ops;
}

static int count_kernels(void)
{
    int n = 0;
    while (bl_hmac_kernel_at((size_t)n))
        n++;
    return n;
}

/* ------------------------------------------------------- known answers */

START_TEST(sha256_fips)
{
    static const struct {
        const char *msg, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        /* 56 bytes: the padding needs a second block. */
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        uint8_t got[32], want[32];
        bl_sha256((const uint8_t *)v[i].msg, strlen(v[i].msg), got);
        unhex(v[i].hex, want);
        ck_assert_msg(!memcmp(got, want, 32), "SHA-256 of \"%s\"", v[i].msg);
    }
    /* A million 'a', fed as one buffer: many blocks through the stream. */
    size_t n = 1000000;
    uint8_t *a = malloc(n), got[32], want[32];
    ck_assert_ptr_nonnull(a);
    memset(a, 'a', n);
    bl_sha256(a, n, got);
    unhex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", want);
    ck_assert(!memcmp(got, want, 32));
    free(a);
}
END_TEST

/* RFC 4231 section 4.  Cases 6 and 7 have 131-byte keys (hashed first);
   case 7's message is longer than a block, so it takes the general path. */
typedef struct rfc_case {
    const char *ktext; /* key as text, or NULL: */
    size_t klen;       /*   klen bytes, */
    uint8_t kfill;     /*   all kfill, or 1, 2, 3, ... when 0 */
    const char *msg;   /* message as text, or NULL: mlen bytes of mfill */
    size_t mlen;
    uint8_t mfill;
    const char *mac;
    size_t check; /* bytes compared (case 5 truncates to 128 bits) */
} rfc_case;

static const rfc_case rfc4231[] = {
    {NULL, 20, 0x0b, "Hi There", 0, 0,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", 32},
    {"Jefe", 0, 0, "what do ya want for nothing?", 0, 0,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", 32},
    {NULL, 20, 0xaa, NULL, 50, 0xdd,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", 32},
    {NULL, 25, 0, NULL, 50, 0xcd,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b", 32},
    {NULL, 20, 0x0c, "Test With Truncation", 0, 0, "a3b6167473100ee06e0c796c2955552b", 16},
    {NULL, 131, 0xaa, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", 32},
    {NULL, 131, 0xaa,
     "This is a test using a larger than block-size key and a larger than block-size data. The "
     "key needs to be hashed before being used by the HMAC algorithm.",
     0, 0, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2", 32},
};
#define NRFC (sizeof rfc4231 / sizeof rfc4231[0])

/* Key, message and expected MAC of RFC 4231 case i (0-based). */
static void rfc_vector(size_t i, uint8_t *key, size_t *klen, uint8_t *msg, size_t *mlen,
                       uint8_t *mac, size_t *check)
{
    const rfc_case *c = &rfc4231[i];
    if (c->ktext) {
        *klen = strlen(c->ktext);
        memcpy(key, c->ktext, *klen);
    } else {
        *klen = c->klen;
        for (size_t j = 0; j < c->klen; j++)
            key[j] = c->kfill ? c->kfill : (uint8_t)(j + 1);
    }
    if (c->msg) {
        *mlen = strlen(c->msg);
        memcpy(msg, c->msg, *mlen);
    } else {
        *mlen = c->mlen;
        memset(msg, c->mfill, c->mlen);
    }
    unhex(c->mac, mac);
    *check = c->check;
}

/* Every RFC 4231 case through the kernel (short ones) and bl_hmac_batch
   (all of them, so case 7 exercises the multi-block path). */
START_TEST(hmac_rfc4231)
{
    const bl_hmac_ops *ops = kernel_or_skip(_i, "rfc4231");
    if (!ops)
        return;
    int short_cases = 0;
    for (size_t i = 0; i < NRFC; i++) {
        uint8_t key[131], msg[200], want[32], got[32];
        size_t klen, mlen, check;
        rfc_vector(i, key, &klen, msg, &mlen, want, &check);
        bl_hmac_key k;
        bl_hmac_key_init(&k, key, klen);
        bl_hmac_job job = {&k, msg, mlen};
        if (mlen <= BL_HMAC_SHORT_MAX) {
            memset(got, 0, sizeof got);
            ops->short_batch(&job, 1, &got);
            ck_assert_msg(!memcmp(got, want, check), "%s: RFC 4231 case %zu", ops->name, i + 1);
            short_cases++;
        }
        memset(got, 0, sizeof got);
        bl_hmac_batch(&job, 1, &got);
        ck_assert_msg(!memcmp(got, want, check), "batch: RFC 4231 case %zu", i + 1);
        bl_hmac_key_wipe(&k);
    }
    ck_assert_int_eq(short_cases, 6); /* cases 1-6 fit one block */

    /* The empty message, passed as a null pointer (the sanitizer build
       would flag a memcpy from it). */
    bl_hmac_key k;
    bl_hmac_key_init(&k, (const uint8_t *)"Jefe", 4);
    uint8_t want[32], got[32];
    ref_hmac((const uint8_t *)"Jefe", 4, NULL, 0, want);
    bl_hmac_job empty = {&k, NULL, 0};
    ops->short_batch(&empty, 1, &got);
    ck_assert_msg(!memcmp(got, want, 32), "%s: empty message", ops->name);
    bl_hmac_key_wipe(&k);
}
END_TEST

/* ------------------------------------------------- against OpenSSL */

/*
 * Index of the first job whose MAC from `ops` differs from OpenSSL's, or -1.
 * Keys and messages are given raw so the reference never sees our midstates.
 */
static long first_mismatch(const bl_hmac_ops *ops, const bl_hmac_job *jobs, size_t n,
                           uint8_t (*const raw_keys)[64], const size_t *raw_klen,
                           const size_t *key_of)
{
    uint8_t (*got)[32] = malloc((n + 1) * sizeof *got);
    ck_assert_ptr_nonnull(got);
    memset(got, 0xa5, (n + 1) * sizeof *got);
    ops->short_batch(jobs, n, got);
    long bad = -1;
    for (size_t i = 0; i < n && bad < 0; i++) {
        uint8_t want[32];
        ref_hmac(raw_keys[key_of[i]], raw_klen[key_of[i]], jobs[i].msg, jobs[i].len, want);
        if (memcmp(got[i], want, 32))
            bad = (long)i;
    }
    /* The kernel must not write past the n-th MAC. */
    for (int j = 0; j < 32 && bad < 0; j++)
        if (got[n][j] != 0xa5)
            bad = (long)n;
    free(got);
    return bad;
}

enum { NKEYS = 7, MAXBATCH = 19 };

typedef struct fixture {
    uint8_t raw[NKEYS][64];
    size_t klen[NKEYS];
    bl_hmac_key keys[NKEYS];
} fixture;

/* Random keys of lengths that matter: empty, short, the encoder's 32,
   63 and a full block of 64. */
static void fixture_init(fixture *f, uint64_t *rng)
{
    static const size_t lens[NKEYS] = {0, 1, 20, 32, 32, 63, 64};
    for (int i = 0; i < NKEYS; i++) {
        f->klen[i] = lens[i];
        random_bytes(rng, f->raw[i], lens[i]);
        bl_hmac_key_init(&f->keys[i], f->raw[i], lens[i]);
    }
}

static void fixture_wipe(fixture *f)
{
    for (int i = 0; i < NKEYS; i++)
        bl_hmac_key_wipe(&f->keys[i]);
}

/*
 * Every length 0..55, each in batches of 1..MAXBATCH messages (so the
 * 4-, 2- and 1-message paths and their tails all run), each message under
 * a different key and at a different (often odd) address.
 */
START_TEST(hmac_vs_openssl)
{
    const bl_hmac_ops *ops = kernel_or_skip(_i, "vs_openssl");
    if (!ops)
        return;
    uint64_t rng = 4231 + (uint64_t)_i;
    fixture f;
    fixture_init(&f, &rng);
    uint8_t buf[MAXBATCH][BL_HMAC_SHORT_MAX + 8];
    bl_hmac_job jobs[MAXBATCH];
    size_t key_of[MAXBATCH];
    size_t checked = 0;
    for (size_t len = 0; len <= BL_HMAC_SHORT_MAX; len++) {
        for (size_t n = 1; n <= MAXBATCH; n++) {
            for (size_t i = 0; i < n; i++) {
                size_t off = (size_t)(next_u64(&rng) % 8);
                random_bytes(&rng, buf[i] + off, len);
                key_of[i] = (size_t)(next_u64(&rng) % NKEYS);
                /* Mostly this length; some neighbours, so one batch mixes lengths. */
                size_t l = len;
                if (n > 2 && i % 3 == 1)
                    l = (size_t)(next_u64(&rng) % (BL_HMAC_SHORT_MAX + 1));
                random_bytes(&rng, buf[i] + off, l);
                jobs[i] = (bl_hmac_job){&f.keys[key_of[i]], buf[i] + off, l};
            }
            long bad = first_mismatch(ops, jobs, n, f.raw, f.klen, key_of);
            ck_assert_msg(bad < 0, "%s: len %zu batch %zu: MAC %ld differs from OpenSSL",
                          ops->name, len, n, bad);
            checked += n;
        }
    }
    ck_assert_uint_gt(checked, 10000);
    fixture_wipe(&f);
}
END_TEST

/* A kernel that is right except for one byte of one MAC: the comparison
   above must catch it, or it proves nothing. */
static const bl_hmac_ops *wrapped;
static size_t flip_at;
static void flipping_batch(const bl_hmac_job *jobs, size_t n, uint8_t (*out)[BL_SHA256_BYTES])
{
    wrapped->short_batch(jobs, n, out);
    if (flip_at / 32 < n)
        out[flip_at / 32][flip_at % 32] ^= 0x01;
}

START_TEST(mismatch_is_caught)
{
    const bl_hmac_ops *ops = kernel_or_skip(_i, "mismatch_is_caught");
    if (!ops)
        return;
    uint64_t rng = 77;
    fixture f;
    fixture_init(&f, &rng);
    enum { N = 9 };
    uint8_t buf[N][24];
    bl_hmac_job jobs[N];
    size_t key_of[N];
    for (size_t i = 0; i < N; i++) {
        random_bytes(&rng, buf[i], sizeof buf[i]);
        key_of[i] = i % NKEYS;
        jobs[i] = (bl_hmac_job){&f.keys[key_of[i]], buf[i], 7 + i};
    }
    ck_assert_int_eq(first_mismatch(ops, jobs, N, f.raw, f.klen, key_of), -1);
    wrapped = ops;
    bl_hmac_ops broken = {"broken", flipping_batch};
    /* Every byte position of a few MACs, including the first and the last. */
    static const size_t which[] = {0, 3, N - 1};
    for (size_t w = 0; w < sizeof which / sizeof which[0]; w++)
        for (size_t b = 0; b < 32; b++) {
            flip_at = which[w] * 32 + b;
            ck_assert_int_eq(first_mismatch(&broken, jobs, N, f.raw, f.klen, key_of),
                             (long)which[w]);
        }
    fixture_wipe(&f);
}
END_TEST

/* bl_hmac_batch with long and short messages interleaved (the short runs
   go to the kernel in force, the long ones to the multi-block path), and
   bl_hmac_parts with every split of a message into three parts. */
START_TEST(long_messages)
{
    uint64_t rng = 5;
    fixture f;
    fixture_init(&f, &rng);
    enum { N = 40 };
    static uint8_t buf[N][300];
    bl_hmac_job jobs[N];
    size_t key_of[N];
    static const size_t lens[] = {0, 55, 56, 63, 64, 65, 119, 120, 127, 128, 129, 200, 299};
    for (size_t i = 0; i < N; i++) {
        size_t len = i % 2 ? lens[(i / 2) % (sizeof lens / sizeof lens[0])] : i % 23;
        random_bytes(&rng, buf[i], len);
        key_of[i] = i % NKEYS;
        jobs[i] = (bl_hmac_job){&f.keys[key_of[i]], buf[i], len};
    }
    uint8_t got[N][32];
    bl_hmac_batch(jobs, N, got);
    for (size_t i = 0; i < N; i++) {
        uint8_t want[32];
        ref_hmac(f.raw[key_of[i]], f.klen[key_of[i]], jobs[i].msg, jobs[i].len, want);
        ck_assert_msg(!memcmp(got[i], want, 32), "batch job %zu, length %zu", i, jobs[i].len);
    }
    uint8_t msg[150], want[32], mac[32];
    random_bytes(&rng, msg, sizeof msg);
    ref_hmac(f.raw[3], f.klen[3], msg, sizeof msg, want);
    for (size_t a = 0; a <= sizeof msg; a += 7)
        for (size_t b = a; b <= sizeof msg; b += 11) {
            bl_bytes parts[3] = {{msg, a}, {msg + a, b - a}, {msg + b, sizeof msg - b}};
            bl_hmac_parts(&f.keys[3], parts, 3, mac);
            ck_assert_msg(!memcmp(mac, want, 32), "parts %zu / %zu", a, b);
        }
    fixture_wipe(&f);
}
END_TEST

/* ------------------------------------------------------ kernel choice */

START_TEST(kernel_names)
{
    int nk = count_kernels();
    ck_assert_int_ge(nk, 1);
    ck_assert_str_eq(bl_hmac_kernel_at(0), "scalar");
    ck_assert_ptr_null(bl_hmac_kernel_at((size_t)nk));
    ck_assert_int_eq(bl_prf_kernel_available("scalar"), 1);
    ck_assert_int_eq(bl_prf_kernel_available("auto"), 1);
    ck_assert_int_eq(bl_prf_kernel_available("md5"), 0);
    ck_assert_str_eq(bl_prf_kernel_at(0), "scalar");

    bl_error err;
    bl_error_clear(&err);
    ck_assert_int_eq(bl_set_prf_kernel("auto", &err), BL_OK);
    const char *best = bl_prf_kernel_name();
    ck_assert_str_eq(best, bl_hmac_ops_get("auto")->name);
    fprintf(stderr, "prf kernel chosen: %s\n", best);

    /* Unknown names are a programmer's mistake; nothing changes. */
    ck_assert_int_eq(bl_set_prf_kernel("sha1", &err), BL_EMISUSE);
    ck_assert_ptr_nonnull(strstr(err.text, "sha1"));
    ck_assert_str_eq(bl_prf_kernel_name(), best);

    /* Each one is either usable, or refused with a message that names it. */
    for (int i = 0; i < nk; i++) {
        const char *name = bl_hmac_kernel_at((size_t)i);
        bl_error_clear(&err);
        if (bl_prf_kernel_available(name)) {
            ck_assert_int_eq(bl_set_prf_kernel(name, &err), BL_OK);
            ck_assert_str_eq(bl_prf_kernel_name(), name);
            ck_assert_ptr_eq(bl_hmac_ops_active(), bl_hmac_ops_get(name));
        } else {
            ck_assert_int_eq(bl_set_prf_kernel(name, &err), BL_EUNSUPPORTED);
            ck_assert_ptr_nonnull(strstr(err.text, name));
        }
    }
    ck_assert_int_eq(bl_set_prf_kernel("auto", NULL), BL_OK);
    ck_assert_str_eq(bl_prf_kernel_name(), best);
}
END_TEST

/* The benchmark workload gives the same digest on every kernel, and one
   that is not all zero. */
START_TEST(bench_workload_agrees)
{
    uint8_t want[32], got[32], zero[32] = {0};
    ck_assert_int_eq(bl_prf_kernel_run("scalar", 1000, want, NULL), BL_OK);
    ck_assert(memcmp(want, zero, 32));
    for (int i = 1; bl_hmac_kernel_at((size_t)i); i++) {
        const char *name = bl_hmac_kernel_at((size_t)i);
        bl_error err;
        bl_error_clear(&err);
        if (!bl_prf_kernel_available(name)) {
            ck_assert_int_eq(bl_prf_kernel_run(name, 10, got, &err), BL_EUNSUPPORTED);
            continue;
        }
        ck_assert_int_eq(bl_prf_kernel_run(name, 1000, got, &err), BL_OK);
        ck_assert_msg(!memcmp(got, want, 32), "%s disagrees with scalar", name);
    }
    ck_assert_int_eq(bl_prf_kernel_run("nope", 1, got, NULL), BL_EMISUSE);
}
END_TEST

/* The midstates are the key: wiping leaves nothing of them. */
START_TEST(key_wipe)
{
    bl_hmac_key k, zero;
    memset(&zero, 0, sizeof zero);
    bl_hmac_key_init(&k, (const uint8_t *)"Jefe", 4);
    ck_assert(memcmp(&k, &zero, sizeof k));
    bl_hmac_key_wipe(&k);
    ck_assert(!memcmp(&k, &zero, sizeof k));
}
END_TEST

Suite *suite_sha256(void)
{
    Suite *s = suite_create("sha256");
    TCase *tc = tcase_create("reference");
    tcase_add_test(tc, sha256_fips);
    tcase_add_test(tc, long_messages);
    tcase_add_test(tc, kernel_names);
    tcase_add_test(tc, bench_workload_agrees);
    tcase_add_test(tc, key_wipe);
    suite_add_tcase(s, tc);

    /* One loop iteration per compiled-in kernel. */
    int nk = count_kernels();
    tc = tcase_create("kernels");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, hmac_rfc4231, 0, nk);
    tcase_add_loop_test(tc, hmac_vs_openssl, 0, nk);
    tcase_add_loop_test(tc, mismatch_is_caught, 0, nk);
    suite_add_tcase(s, tc);
    return s;
}
