/* synth.c - synthetic extracts that are as hard to link as real ones.
 *
 * A population of households (families share a surname and a postcode, twins
 * share a birth date, some sons share their father's full name, couples keep
 * different surnames, care homes hold dozens of unrelated old people at one
 * postcode) is recorded by four sources, each with its own columns, date
 * format, sex coding and record ids, and each with the errors its kind of
 * system makes: GP registers are synced to the NHS spine and fairly clean;
 * social care and housing records are typed by hand from what people say;
 * schools record legal names beside the names children go by.
 *
 * Determinism: every random draw comes from xoshiro256** streams seeded from
 * the seed by splitmix64 - one stream for the population, and per source one
 * for selection and one for errors - so a seed gives byte-identical files on
 * every run, and changing error_rate changes the errors but not the people.
 * Probabilities are compared against uniform doubles built from integers and
 * weights are integers, so no libm result decides anything.
 */
#include "config.h"

#include "synth.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"
#include "io.h"
#include "synth_names.h"

/* ------------------------------------------------------------------ random */

typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Independent streams per purpose: changing how many draws one part makes
   must not shift what another part draws. */
static void rng_seed(rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

static uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return result;
}

/* Uniform in [0, n), without modulo bias. */
static uint64_t rng_below(rng *r, uint64_t n)
{
    if (n <= 1)
        return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = rng_next(r);
    while (x >= lim);
    return x % n;
}

static int rng_range(rng *r, int lo, int hi)
{
    return hi <= lo ? lo : lo + (int)rng_below(r, (uint64_t)(hi - lo) + 1);
}

static double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }

/* Always one draw, whatever p is: an error rate of 0 and of 1 walk the stream
   identically, so scaling errors does not reshuffle everything else. */
static int chance(rng *r, double p) { return rng_unit(r) < p; }

/* Roughly normal (Irwin-Hall of 6 uniforms), without libm. */
static double rng_normalish(rng *r)
{
    double s = 0;
    for (int i = 0; i < 6; i++)
        s += rng_unit(r);
    return (s - 3.0) * 1.41421356;
}

static int pick_weighted(rng *r, const unsigned *w, int n)
{
    uint64_t total = 0;
    for (int i = 0; i < n; i++)
        total += w[i];
    uint64_t x = rng_below(r, total);
    for (int i = 0; i < n; i++) {
        if (x < w[i])
            return i;
        x -= w[i];
    }
    return n - 1;
}

/* ------------------------------------------------------------- utilities */

/* Days since 1970-01-01 for a proleptic Gregorian date (era arithmetic). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

static void civil_from_days(int32_t z, int *y, int *m, int *d)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[(m - 1) % 12];
}

static int32_t ref_day(void) { return days_from_civil(SYNTH_REF_YEAR, SYNTH_REF_MONTH, SYNTH_REF_DAY); }

static int age_at_ref(int32_t dob)
{
    int y, m, d;
    civil_from_days(dob, &y, &m, &d);
    int age = SYNTH_REF_YEAR - y;
    if (m > SYNTH_REF_MONTH || (m == SYNTH_REF_MONTH && d > SYNTH_REF_DAY))
        age--;
    return age;
}

static int year_of(int32_t day)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    return y;
}

/* Bounded string helpers: every buffer is NUL-terminated and never overrun. */
static void scopy(char *dst, size_t size, const char *src)
{
    if (!size)
        return;
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void sfmt(char *dst, size_t size, const char *fmt, ...) BL_PRINTF(3, 4);
static void sfmt(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

/* ------------------------------------------------------------ NHS numbers */

int synth_nhs_check_digit(const char *nine)
{
    int sum = 0;
    for (int i = 0; i < 9; i++)
        sum += (nine[i] - '0') * (10 - i);
    int check = 11 - sum % 11;
    return check == 11 ? 0 : check;
}

/* ---------------------------------------------------------------- storage */

/* Strings that must outlive their builder (composed family names, invented
   postcodes) live in chunks that never move, so people can point into them. */
typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

/* Weighted sampling: cumulative integer weights and binary search. */
typedef struct sampler {
    size_t n, cap;
    uint64_t *cum;
    uint32_t *item;
} sampler;

/* String -> int map (open addressing) for name lookups by folded key. */
typedef struct smap {
    size_t cap, n;
    char **keys;
    int32_t *vals;
} smap;

enum { ALT_NONE, ALT_MAIDEN, ALT_RELIGIOUS, ALT_OTHER_PARENT, ALT_GENDER_FORM, ALT_MARRIED, ALT_COUNT };
enum { KNOWN_NONE, KNOWN_NICK, KNOWN_MIDDLE, KNOWN_ENGLISH };
enum { PF_TWIN = 1, PF_JUNIOR = 2, PF_CARE = 4, PF_STUDENT = 8 };
enum { HH_SINGLE, HH_COUPLE, HH_FAMILY, HH_LONE, HH_SHARED, HH_MULTIGEN, HH_CARE, HH_TYPES };

typedef struct person {
    int32_t dob;               /* days since 1970-01-01 */
    uint32_t household;
    const char *given, *middle, *middle2, *known_as;
    const char *family;        /* current family name */
    const char *alt_family;    /* the other name some records hold (see alt_kind) */
    const char *postcode, *prev_postcode; /* prev NULL: has not moved */
    uint64_t nhs;
    uint8_t sex;               /* 1 male, 2 female */
    uint8_t group;
    uint8_t alt_kind;
    uint8_t known_kind;
    uint8_t flags;
    uint8_t married;
} person;

typedef struct household {
    uint32_t first, count;
    const char *postcode, *prev_postcode;
    uint8_t type;
    uint8_t practice;
    uint8_t social_rent;       /* tenant of the council or a housing association */
    uint8_t deprived;
} household;

typedef struct outpool {
    const char *outcode;
    const char **codes;
    size_t n;
} outpool;

typedef struct synth {
    const bl_synth_options *opt;
    double rate;
    uint64_t target;
    chunk *chunks;
    int oom;
    sampler surname[SG_COUNT][3]; /* [group][0 men, 1 women, 2 names only women carry] */
    sampler tail[SG_COUNT];       /* invented rare names of each community */
    const char **tail_names[SG_COUNT];
    double tail_share[SG_COUNT];  /* chance a family name comes from the tail */
    sampler given[SG_COUNT][2];
    sampler baby[2][5];
    sampler hist[2][10];
    smap nick, variant, accent, exclusive;
    const char **city;
    size_t ncity;
    outpool *pools;
    size_t npools;
    uint64_t pyr_cum[102];
    person *pp;
    size_t np, cap_p;
    household *hh;
    size_t nh, cap_h;
    uint64_t *nhs_set;
    size_t nhs_cap;
} synth;

static const char *sstore(synth *S, const char *s)
{
    size_t n = strlen(s) + 1;
    chunk *c = S->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk *nc = malloc(sizeof *nc + cap);
        if (!nc) {
            S->oom = 1;
            return "";
        }
        nc->next = c;
        nc->used = 0;
        nc->cap = cap;
        S->chunks = nc;
        c = nc;
    }
    char *p = c->data + c->used;
    memcpy(p, s, n);
    c->used += n;
    return p;
}

static void sampler_add(synth *S, sampler *sm, uint32_t item, uint64_t w)
{
    if (w == 0)
        return;
    if (sm->n == sm->cap) {
        size_t cap = sm->cap ? sm->cap * 2 : 64;
        uint64_t *c = realloc(sm->cum, cap * sizeof *c);
        if (c)
            sm->cum = c;
        uint32_t *it = realloc(sm->item, cap * sizeof *it);
        if (it)
            sm->item = it;
        if (!c || !it) {
            S->oom = 1;
            return;
        }
        sm->cap = cap;
    }
    sm->cum[sm->n] = (sm->n ? sm->cum[sm->n - 1] : 0) + w;
    sm->item[sm->n++] = item;
}

/* UINT32_MAX when empty. */
static uint32_t sampler_draw(const sampler *sm, rng *r)
{
    if (!sm->n)
        return UINT32_MAX;
    uint64_t x = rng_below(r, sm->cum[sm->n - 1]);
    size_t lo = 0, hi = sm->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sm->cum[mid] > x)
            hi = mid;
        else
            lo = mid + 1;
    }
    return sm->item[lo];
}

static void sampler_free(sampler *sm)
{
    free(sm->cum);
    free(sm->item);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int smap_init(smap *m, size_t expect)
{
    m->cap = 64;
    while (m->cap < expect * 2)
        m->cap *= 2;
    m->n = 0;
    m->keys = calloc(m->cap, sizeof *m->keys);
    m->vals = calloc(m->cap, sizeof *m->vals);
    return m->keys && m->vals ? 0 : -1;
}

static void smap_free(smap *m)
{
    if (m->keys)
        for (size_t i = 0; i < m->cap; i++)
            free(m->keys[i]);
    free(m->keys);
    free(m->vals);
}

/* First insertion wins; the key is folded (accents, case) first. */
static void smap_put(synth *S, smap *m, const char *name, int32_t val)
{
    char key[128];
    synth_fold_key(name, key, sizeof key);
    if (m->n * 2 >= m->cap)
        return; /* sized up front; never reached */
    size_t i = fnv1a(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key))
            return;
        i = (i + 1) & (m->cap - 1);
    }
    m->keys[i] = strdup(key);
    if (!m->keys[i]) {
        S->oom = 1;
        return;
    }
    m->vals[i] = val;
    m->n++;
}

static int32_t smap_get(const smap *m, const char *name)
{
    char key[128];
    synth_fold_key(name, key, sizeof key);
    size_t i = fnv1a(key) & (m->cap - 1);
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key))
            return m->vals[i];
        i = (i + 1) & (m->cap - 1);
    }
    return -1;
}

/* k-th '|'-separated alternative of list (k < count). */
static int alt_count(const char *list)
{
    int n = 1;
    for (; *list; list++)
        n += *list == '|';
    return n;
}

static void alt_get(const char *list, int k, char *out, size_t size)
{
    while (k > 0 && *list) {
        if (*list++ == '|')
            k--;
    }
    size_t n = 0;
    while (list[n] && list[n] != '|')
        n++;
    if (n >= size)
        n = size - 1;
    memcpy(out, list, n);
    out[n] = '\0';
}

/* ------------------------------------------------------------ population */

/* England, mid-2021 (ONS), thousands per five-year band from 0-4 to 95-99,
   then age 100: the target age pyramid. */
static const unsigned pyramid_bands[21] = {3200, 3500, 3500, 3200, 3400, 3700, 3900,
                                           3800, 3600, 3600, 3900, 3800, 3300, 2800,
                                           2900, 2100, 1400, 850,  400,  120,  15};

/* Community shares (per mille of people), and how they tilt by age: recent
   migration makes some communities young, so they are rarer among
   householders over 65 and commoner among families with children. */
static const struct {
    unsigned permille;
    double old_mult, family_mult;
    double native_adult, native_child; /* given name from the community pool */
    double middle;                     /* has a middle name */
} groups[SG_COUNT] = {
    [SG_GENERAL] = {833, 1.15, 0.95, 0, 0, 0},
    [SG_PAKISTANI] = {25, 0.4, 1.6, 0.95, 0.9, 0.5},
    [SG_BANGLADESHI] = {11, 0.3, 1.7, 0.97, 0.92, 0.4},
    [SG_INDIAN] = {18, 0.7, 1.1, 0.9, 0.75, 0.3},
    [SG_SIKH] = {8, 0.8, 1.1, 0.95, 0.85, 0.15},
    [SG_BLACK_AFRICAN] = {18, 0.25, 1.4, 0.6, 0.5, 0.7},
    [SG_SOMALI] = {6, 0.2, 1.8, 0.97, 0.92, 0.6},
    [SG_CARIBBEAN] = {11, 1.1, 0.8, 0.35, 0.25, 0.7},
    [SG_POLISH] = {20, 0.1, 1.3, 0.95, 0.6, 0.3},
    [SG_ROMANIAN] = {12, 0.03, 1.2, 0.95, 0.6, 0.3},
    [SG_CHINESE] = {12, 0.35, 0.8, 0.9, 0.5, 0.1},
    [SG_VIETNAMESE] = {2, 0.3, 1.0, 0.9, 0.5, 0.7},
    [SG_TURKISH] = {6, 0.4, 1.2, 0.95, 0.8, 0.2},
};

static int pick_group(rng *r, int anchor_age, int family)
{
    unsigned w[SG_COUNT];
    for (int g = 0; g < SG_COUNT; g++) {
        double x = groups[g].permille;
        if (anchor_age >= 65)
            x *= groups[g].old_mult;
        if (family)
            x *= groups[g].family_mult;
        w[g] = (unsigned)(x * 100);
    }
    return pick_weighted(r, w, SG_COUNT);
}

/* Age in [lo, hi] drawn from the pyramid. */
static int sample_age(synth *S, rng *r, int lo, int hi)
{
    if (lo < 0)
        lo = 0;
    if (hi > 100)
        hi = 100;
    if (hi < lo)
        hi = lo;
    uint64_t a = S->pyr_cum[lo], b = S->pyr_cum[hi + 1];
    uint64_t x = a + rng_below(r, b - a);
    int age = lo;
    while (age < hi && S->pyr_cum[age + 1] <= x)
        age++;
    return age;
}

/* A birth date for someone aged `age` on the reference day. */
static int32_t dob_for_age(rng *r, int age)
{
    int32_t hi = days_from_civil(SYNTH_REF_YEAR - age, SYNTH_REF_MONTH, SYNTH_REF_DAY);
    int32_t lo = days_from_civil(SYNTH_REF_YEAR - age - 1, SYNTH_REF_MONTH, SYNTH_REF_DAY) + 1;
    return lo + (int32_t)rng_below(r, (uint64_t)(hi - lo + 1));
}

/* Historic top-100 weight rank^-0.75, computed with square roots only
   (correctly rounded everywhere) so every platform builds the same table. */
static uint64_t rank_weight(unsigned rank)
{
    double r3 = (double)rank * rank * rank;
    return (uint64_t)(1000000.0 / sqrt(sqrt(r3)));
}

static const char *with_accent(synth *S, rng *r, const char *name)
{
    int32_t a = smap_get(&S->accent, name);
    if (a >= 0 && chance(r, synth_accents[a].permille / 1000.0))
        return synth_accents[a].accented;
    return name;
}

/* A given name as the ONS tables say people of that sex and birth cohort
   were named.  Names characteristic of a community are redrawn for the
   general pool, so they come from the community pools instead. */
static const char *general_given(synth *S, rng *r, int sex, int year, int general)
{
    int s = sex == 2;
    const char *name = NULL;
    for (int attempt = 0; attempt < 6; attempt++) {
        uint32_t it;
        if (year >= 1996) {
            int period = year < 2000 ? 0 : year < 2005 ? 1 : year < 2010 ? 2 : year < 2015 ? 3 : 4;
            it = sampler_draw(&S->baby[s][period], r);
            name = synth_babies[it].name;
        } else {
            /* Nearest census decade, blurred: parents named children after
               fashions a decade either side. */
            int dec = (year - 1904 + 5) / 10;
            static const unsigned jitter[5] = {4, 10, 72, 10, 4};
            dec += pick_weighted(r, jitter, 5) - 2;
            if (dec < 0)
                dec = 0;
            if (dec > 9)
                dec = 9;
            it = sampler_draw(&S->hist[s][dec], r);
            name = synth_hists[it].name;
        }
        if (!general || smap_get(&S->exclusive, name) < 0)
            break;
    }
    return with_accent(S, r, name);
}

static const char *group_given(synth *S, rng *r, int group, int sex)
{
    uint32_t it = sampler_draw(&S->given[group][sex == 2], r);
    return it == UINT32_MAX ? NULL : synth_given_extra[it].name;
}

static const char *draw_given(synth *S, rng *r, int group, int sex, int year, int child)
{
    if (group != SG_GENERAL) {
        double p = child ? groups[group].native_child : groups[group].native_adult;
        if (chance(r, p)) {
            const char *g = group_given(S, r, group, sex);
            if (g)
                return g;
        }
        return general_given(S, r, sex, year, 0);
    }
    return general_given(S, r, sex, year, 1);
}

static const char *draw_surname(synth *S, rng *r, int group, int which)
{
    if (which != 2 && chance(r, S->tail_share[group])) {
        if (group == SG_CARIBBEAN) /* mostly British family names */
            group = SG_GENERAL;
        else if (S->tail[group].n)
            return S->tail_names[group][sampler_draw(&S->tail[group], r)];
    }
    uint32_t it = sampler_draw(&S->surname[group][which], r);
    if (it == UINT32_MAX)
        it = sampler_draw(&S->surname[SG_GENERAL][which == 2 ? 1 : which], r);
    return synth_surnames[it].name;
}

/* Polish surnames in -ski/-cki/-dzki are -ska/-cka/-dzka for women. */
static const char *polish_female(synth *S, const char *name)
{
    size_t n = strlen(name);
    if (n >= 128)
        return name;
    if (n > 3 && (!strcmp(name + n - 3, "ski") || !strcmp(name + n - 3, "cki") ||
                  (n > 4 && !strcmp(name + n - 4, "dzki")))) {
        char buf[128];
        scopy(buf, sizeof buf, name);
        buf[n - 1] = 'a';
        return sstore(S, buf);
    }
    return name;
}

static const char *double_barrel(synth *S, const char *a, const char *b)
{
    if (!strcmp(a, b))
        return a;
    char buf[160];
    sfmt(buf, sizeof buf, "%s-%s", a, b);
    return sstore(S, buf);
}

static uint64_t new_nhs(synth *S, rng *r)
{
    for (;;) {
        /* Issued ranges are 400-499 and 600-799 million (first three digits). */
        static const unsigned first[3] = {100, 100, 100};
        int band = pick_weighted(r, first, 3);
        uint64_t lead = band == 0 ? 4 : band == 1 ? 6 : 7;
        uint64_t body = lead * 100000000ull + rng_below(r, 100000000ull);
        char nine[12];
        sfmt(nine, sizeof nine, "%09llu", (unsigned long long)body);
        int c = synth_nhs_check_digit(nine);
        if (c == 10)
            continue;
        uint64_t v = body * 10 + (uint64_t)c;
        size_t i = (size_t)(v * 0x9E3779B97F4A7C15ull >> 20) & (S->nhs_cap - 1);
        int dup = 0;
        while (S->nhs_set[i]) {
            if (S->nhs_set[i] == v) {
                dup = 1;
                break;
            }
            i = (i + 1) & (S->nhs_cap - 1);
        }
        if (dup)
            continue;
        S->nhs_set[i] = v;
        return v;
    }
}

static const char *draw_postcode(synth *S, rng *r)
{
    /* About 40% in Oxford city (real postcodes), the rest spread over the
       county's other districts with invented but valid inward codes. */
    if (chance(r, 0.40))
        return S->city[rng_below(r, S->ncity)];
    outpool *p = &S->pools[rng_below(r, S->npools)];
    return p->codes[rng_below(r, p->n)];
}

static household *new_household(synth *S, rng *r, int type)
{
    if (S->nh == S->cap_h) {
        size_t cap = S->cap_h ? S->cap_h * 2 : 1024;
        household *n = realloc(S->hh, cap * sizeof *n);
        if (!n) {
            S->oom = 1;
            return NULL;
        }
        S->hh = n;
        S->cap_h = cap;
    }
    household *h = &S->hh[S->nh++];
    memset(h, 0, sizeof *h);
    h->first = (uint32_t)S->np;
    h->type = (uint8_t)type;
    h->postcode = draw_postcode(S, r);
    /* One household in eight moved within the county recently: some records
       still hold the old address. */
    if (type != HH_CARE && chance(r, 0.12))
        h->prev_postcode = draw_postcode(S, r);
    h->practice = (uint8_t)rng_below(r, 72);
    h->deprived = (uint8_t)chance(r, 0.2);
    return h;
}

static person *add_person(synth *S, rng *r, household *h, int sex, int32_t dob, int group)
{
    if (S->np >= S->target || S->oom)
        return NULL;
    person *p = &S->pp[S->np++];
    memset(p, 0, sizeof *p);
    p->household = (uint32_t)(h - S->hh);
    p->sex = (uint8_t)sex;
    p->dob = dob;
    p->group = (uint8_t)group;
    p->postcode = h->postcode;
    p->prev_postcode = h->prev_postcode;
    p->nhs = new_nhs(S, r);
    h->count++;
    return p;
}

static int same_given_in_household(synth *S, const household *h, const person *p, const char *g)
{
    for (uint32_t i = h->first; i < h->first + h->count; i++)
        if (&S->pp[i] != p && S->pp[i].given && !strcmp(S->pp[i].given, g))
            return 1;
    return 0;
}

/* Given, middle and known-as names for p (family names are set by the caller,
   who knows the household). */
static void name_person(synth *S, rng *r, person *p, int child)
{
    int year = year_of(p->dob);
    household *h = &S->hh[p->household];
    int g = p->group;
    const char *given = NULL;
    for (int i = 0; i < 4; i++) {
        given = draw_given(S, r, g, p->sex, year, child);
        if (!same_given_in_household(S, h, p, given))
            break;
    }
    p->given = given;

    double pm = groups[g].middle;
    if (g == SG_GENERAL)
        pm = year < 1940 ? 0.45 : year < 1970 ? 0.6 : 0.75;
    if (chance(r, pm)) {
        const char *m = NULL;
        for (int i = 0; i < 3; i++) {
            m = draw_given(S, r, g, p->sex, year, child);
            if (strcmp(m, given))
                break;
        }
        p->middle = strcmp(m, given) ? m : NULL;
        if (p->middle && g == SG_GENERAL && chance(r, 0.1)) {
            const char *m2 = general_given(S, r, p->sex, year, 1);
            if (strcmp(m2, given) && strcmp(m2, p->middle))
                p->middle2 = m2;
        }
    }
    /* Vietnamese middle names are mostly Văn for men and Thị for women. */
    if (g == SG_VIETNAMESE && chance(r, 0.7))
        p->middle = p->sex == 1 ? (chance(r, 0.5) ? "Văn" : "Van") : (chance(r, 0.5) ? "Thị" : "Thi");
    /* Many Pakistani and Bangladeshi men are Mohammed + the name they go by. */
    if ((g == SG_PAKISTANI || g == SG_BANGLADESHI) && p->sex == 1 && chance(r, 0.35)) {
        static const char *const mo[4] = {"Mohammed", "Muhammad", "Mohammad", "Md"};
        static const unsigned mw[2][4] = {{5, 4, 2, 0}, {5, 3, 2, 3}};
        const char *personal = group_given(S, r, g, 1);
        p->given = mo[pick_weighted(r, mw[g == SG_BANGLADESHI], 4)];
        if (personal && strncmp(personal, "Mo", 2) && strcmp(personal, "Md")) {
            p->middle = personal;
            if (chance(r, 0.9)) {
                p->known_as = personal;
                p->known_kind = KNOWN_MIDDLE;
            }
        }
    }
    if (p->known_as)
        return;

    /* The name people go by. */
    int32_t nk = smap_get(&S->nick, p->given);
    double pn = 0;
    switch (g) {
    case SG_GENERAL: case SG_CARIBBEAN:
        pn = child ? 0.04 : p->sex == 1 ? 0.10 : 0.06;
        break;
    case SG_POLISH: case SG_ROMANIAN: pn = child ? 0.1 : 0.3; break;
    case SG_BLACK_AFRICAN: pn = 0.5; break;
    case SG_TURKISH: pn = 0.2; break;
    default: pn = 0.05; break;
    }
    if (nk >= 0 && chance(r, pn)) {
        char buf[64];
        const char *alts = synth_nicknames[nk].alts;
        alt_get(alts, (int)rng_below(r, (uint64_t)alt_count(alts)), buf, sizeof buf);
        p->known_as = sstore(S, buf);
        p->known_kind = KNOWN_NICK;
    } else if ((g == SG_CHINESE || g == SG_VIETNAMESE) &&
               chance(r, g == SG_CHINESE ? (child ? 0.25 : 0.45) : 0.25)) {
        /* English names Chinese and Vietnamese people use at school and work. */
        p->known_as = general_given(S, r, p->sex, year < 1960 ? 1975 : year, 1);
        p->known_kind = KNOWN_ENGLISH;
    } else if (p->middle && chance(r, 0.04)) {
        p->known_as = p->middle;
        p->known_kind = KNOWN_MIDDLE;
    } else if (!strcmp(p->given, "Abdul") && p->middle && chance(r, 0.5)) {
        p->known_as = p->middle;
        p->known_kind = KNOWN_MIDDLE;
    }
}

static void set_alt(person *p, const char *alt, int kind)
{
    if (alt && strcmp(alt, p->family)) {
        p->alt_family = alt;
        p->alt_kind = (uint8_t)kind;
    }
}

/* Sikh family names: a clan name, or Singh (men) / Kaur (women) - and the
   other may turn up in another record. */
static void sikh_family(synth *S, rng *r, person *p, const char *clan, int religious_only)
{
    const char *rel = p->sex == 1 ? "Singh" : "Kaur";
    if (religious_only) {
        p->family = rel;
        set_alt(p, clan, ALT_RELIGIOUS);
    } else {
        p->family = clan;
        set_alt(p, rel, ALT_RELIGIOUS);
    }
    (void)S;
    (void)r;
}

/* Birth surname of a person of `group` and sex. */
static const char *birth_surname(synth *S, rng *r, int group, int sex)
{
    const char *s = draw_surname(S, r, group, sex == 2);
    if (group == SG_POLISH && sex == 2)
        s = polish_female(S, s);
    return s;
}

static person *make_adult(synth *S, rng *r, household *h, int sex, int age, int group)
{
    person *p = add_person(S, r, h, sex, dob_for_age(r, age), group);
    if (!p)
        return NULL;
    name_person(S, r, p, 0);
    return p;
}

/* A couple: man and woman (or, in 4% of couples, two people of one sex). */
static void make_couple(synth *S, rng *r, household *h, int age, int group, person **out_a,
                        person **out_b)
{
    *out_a = *out_b = NULL;
    int same_sex = chance(r, 0.04);
    int sex_b = same_sex ? (chance(r, 0.5) ? 1 : 2) : 2;
    int sex_a = same_sex ? sex_b : 1;
    int age_b = age + (int)(rng_normalish(r) * 3.5) - 2;
    if (age_b < 18)
        age_b = 18;
    if (age_b > 100)
        age_b = 100;
    int group_b = chance(r, 0.9) ? group : SG_GENERAL;
    if (group != SG_GENERAL && group_b == SG_GENERAL && chance(r, 0.5))
        group_b = group; /* keep most couples within one community */
    person *a = make_adult(S, r, h, sex_a, age, group);
    if (!a)
        return;
    person *b = make_adult(S, r, h, sex_b, age_b, group_b);
    double pm = age < 30 ? 0.35 : age < 45 ? 0.6 : age < 65 ? 0.75 : 0.9;
    int married = chance(r, pm);
    a->married = b ? (uint8_t)married : 0;

    int sikh_rel = group == SG_SIKH && chance(r, 0.3);
    const char *fam_a = birth_surname(S, r, group, sex_a);
    if (group == SG_SIKH)
        sikh_family(S, r, a, fam_a, sikh_rel);
    else
        a->family = fam_a;
    *out_a = a;
    if (!b)
        return;
    b->married = (uint8_t)married;
    const char *birth_b = birth_surname(S, r, group_b, sex_b);
    int year_b = year_of(b->dob);
    double takes = year_b < 1960 ? 0.95 : year_b < 1980 ? 0.85 : 0.75;
    /* Bangladeshi and some Pakistani wives keep names like Begum or Bibi. */
    int own_convention = (group == SG_BANGLADESHI && chance(r, 0.5)) ||
                         (group == SG_PAKISTANI && chance(r, 0.25));
    if (same_sex || !married || own_convention) {
        if (own_convention && sex_b == 2)
            birth_b = draw_surname(S, r, group, 2);
        if (group_b == SG_SIKH && group == SG_SIKH)
            sikh_family(S, r, b, birth_b, sikh_rel);
        else
            b->family = birth_b;
    } else if (chance(r, takes)) {
        const char *married_name = a->family;
        if (group_b == SG_POLISH || group == SG_POLISH)
            married_name = polish_female(S, married_name);
        if (chance(r, 0.02))
            married_name = double_barrel(S, birth_b, a->family);
        if (group == SG_SIKH && group_b == SG_SIKH) {
            /* She takes his clan name; Kaur stands in for it in some records. */
            const char *clan = sikh_rel ? a->alt_family : a->family;
            sikh_family(S, r, b, clan ? clan : birth_b, sikh_rel);
        } else {
            b->family = married_name;
            set_alt(b, birth_b, ALT_MAIDEN);
            if (married_name != a->family && strcmp(married_name, a->family) &&
                b->alt_kind == ALT_MAIDEN && group == SG_POLISH && chance(r, 0.5))
                set_alt(b, a->family, ALT_GENDER_FORM);
        }
    } else {
        b->family = birth_b;
    }
    *out_b = b;
}

/* Children of a household: ages consistent with the mother's, twins 1.6%. */
/* Children of a household: the eldest aged `eldest`, the others spaced one
   to five years apart; twins in 1.6% of births. */
static void make_children(synth *S, rng *r, household *h, int eldest, int group, int nkids,
                          const person *father, const person *mother, const char *kid_family,
                          const char *kid_alt, int alt_kind)
{
    int junior_done = 0;
    int age = eldest;
    for (int k = 0; k < nkids && age >= 0; k++, age -= rng_range(r, 1, 5)) {
        int32_t dob = dob_for_age(r, age);
        int twins = chance(r, 0.016) ? 2 : 1;
        for (int t = 0; t < twins; t++) {
            int sex = chance(r, 0.512) ? 1 : 2;
            person *c = add_person(S, r, h, sex, dob, group);
            if (!c)
                return;
            if (twins == 2)
                c->flags |= PF_TWIN;
            const char *fam = kid_family;
            /* Bangladeshi children often carry names unlike the father's. */
            if (group == SG_BANGLADESHI && father && chance(r, 0.35))
                fam = draw_surname(S, r, group, sex == 2 ? 2 : 0);
            if (group == SG_POLISH && sex == 2)
                fam = polish_female(S, fam);
            if (group == SG_SIKH && father) {
                int rel = !strcmp(father->family, "Singh");
                const char *clan = rel ? father->alt_family : father->family;
                sikh_family(S, r, c, clan ? clan : kid_family, rel);
            } else {
                c->family = fam;
                if (kid_alt)
                    set_alt(c, group == SG_POLISH && sex == 2 ? polish_female(S, kid_alt) : kid_alt,
                            alt_kind);
            }
            name_person(S, r, c, age < 18);
            /* A son named after his father, sometimes down to the middle name. */
            if (!junior_done && father && sex == 1 && father->sex == 1 && chance(r, 0.03)) {
                junior_done = 1;
                c->given = father->given;
                c->known_as = NULL;
                c->known_kind = KNOWN_NONE;
                c->middle = chance(r, 0.67) ? father->middle : c->middle;
                c->flags |= PF_JUNIOR;
            }
            (void)mother;
        }
    }
}

static int kid_count(rng *r, int group)
{
    static const unsigned w[4] = {46, 38, 12, 4};
    int n = 1 + pick_weighted(r, w, 4);
    if ((group == SG_PAKISTANI || group == SG_BANGLADESHI || group == SG_SOMALI) && chance(r, 0.4))
        n++;
    return n;
}

static void make_family(synth *S, rng *r, int type)
{
    /* Build from the eldest child: their age from the pyramid, the mother's
       from a typical age at first birth, so both generations come out right. */
    int eldest;
    for (;;) {
        eldest = sample_age(S, r, 0, 24);
        /* Younger siblings fill the young ages; adult children mostly left. */
        double keep = eldest >= 18 ? 0.15 : 0.5 + eldest * 0.025;
        if (chance(r, keep))
            break;
    }
    int birth_age = 29 + (int)(rng_normalish(r) * 5.5);
    if (birth_age < 17)
        birth_age = 17;
    if (birth_age > 45)
        birth_age = 45;
    int mother_age = eldest + birth_age;
    if (mother_age < 18)
        mother_age = 18;
    int group = pick_group(r, mother_age, 1);
    household *h = new_household(S, r, type);
    if (!h)
        return;
    person *father = NULL, *mother = NULL;
    const char *kid_family, *kid_alt = NULL;
    int alt_kind = ALT_NONE;
    if (type == HH_LONE) {
        int dad = chance(r, 0.12);
        person *parent = make_adult(S, r, h, dad ? 1 : 2, mother_age, group);
        if (!parent)
            return;
        parent->family = birth_surname(S, r, group, parent->sex);
        if (group == SG_SIKH)
            sikh_family(S, r, parent, parent->family, 0);
        kid_family = parent->family;
        if (!dad) {
            mother = parent;
            if (chance(r, 0.55)) {
                /* Children carry the absent father's surname; the mother may
                   have gone back to her own or still use her married name. */
                kid_family = birth_surname(S, r, chance(r, 0.85) ? group : SG_GENERAL, 1);
                if (group == SG_POLISH)
                    kid_family = draw_surname(S, r, group, 0);
                kid_alt = mother->family;
                alt_kind = ALT_OTHER_PARENT;
                if (chance(r, 0.4))
                    set_alt(mother, kid_family, ALT_MARRIED);
            }
        } else {
            father = parent;
        }
    } else {
        person *a, *b;
        make_couple(S, r, h, mother_age + 2, group, &a, &b);
        if (!a)
            return;
        father = a->sex == 1 ? a : NULL;
        mother = b && b->sex == 2 ? b : NULL;
        kid_family = a->family;
        if (b && !b->married && strcmp(b->family, a->family)) {
            /* Unmarried parents: the father's name, the mother's, or both. */
            static const unsigned w[3] = {60, 25, 15};
            int c = pick_weighted(r, w, 3);
            if (c == 1) {
                kid_family = b->family;
                kid_alt = a->family;
                alt_kind = ALT_OTHER_PARENT;
            } else if (c == 2 && group == SG_GENERAL) {
                kid_family = double_barrel(S, a->family, b->family);
            } else {
                kid_alt = b->family;
                alt_kind = ALT_OTHER_PARENT;
            }
        }
    }
    make_children(S, r, h, eldest, group, kid_count(r, group), father, mother, kid_family,
                  kid_alt, alt_kind);
    if (type == HH_MULTIGEN) {
        /* A widowed grandmother (usually) living with the family. */
        int gage = mother_age + 22 + rng_range(r, 0, 12);
        if (gage > 100)
            gage = 100;
        int gsex = chance(r, 0.75) ? 2 : 1;
        person *gp = make_adult(S, r, h, gsex, gage, group);
        if (gp) {
            const person *child_of = chance(r, 0.6) && father ? father : mother ? mother : father;
            const char *fam = child_of ? (child_of == father ? father->family
                                                            : (mother->alt_kind == ALT_MAIDEN
                                                                   ? mother->alt_family
                                                                   : mother->family))
                                       : birth_surname(S, r, group, gsex);
            if (group == SG_POLISH && gsex == 2)
                fam = polish_female(S, fam);
            if (group == SG_SIKH)
                sikh_family(S, r, gp, fam, 0);
            else
                gp->family = fam;
            if (gsex == 2 && group == SG_GENERAL)
                set_alt(gp, birth_surname(S, r, group, 2), ALT_MAIDEN);
            gp->married = 1;
        }
    }
}

static void make_single(synth *S, rng *r)
{
    int age;
    for (;;) {
        age = sample_age(S, r, 18, 100);
        /* Older people live alone far more often than young adults. */
        double keep = age < 25 ? 0.2 : age < 35 ? 0.6 : age < 45 ? 0.4 : age < 65 ? 0.7 : 1.0;
        if (chance(r, keep))
            break;
    }
    int group = pick_group(r, age, 0);
    household *h = new_household(S, r, HH_SINGLE);
    if (!h)
        return;
    int sex = chance(r, age >= 75 ? 0.35 : 0.5) ? 1 : 2;
    person *p = make_adult(S, r, h, sex, age, group);
    if (!p)
        return;
    const char *birth = birth_surname(S, r, group, sex);
    if (group == SG_SIKH) {
        sikh_family(S, r, p, birth, chance(r, 0.3));
    } else if (sex == 2 && age >= 30 && chance(r, age >= 65 ? 0.8 : 0.4)) {
        /* Widowed or divorced: still the married name, the birth name elsewhere. */
        p->family = birth_surname(S, r, chance(r, 0.9) ? group : SG_GENERAL, 1);
        if (group == SG_POLISH)
            p->family = polish_female(S, p->family);
        set_alt(p, birth, ALT_MAIDEN);
        p->married = 1;
    } else {
        p->family = birth;
    }
}

static void make_couple_household(synth *S, rng *r)
{
    int age;
    for (;;) {
        age = sample_age(S, r, 20, 98);
        double keep = age < 35 ? 0.5 : age < 50 ? 0.3 : age < 60 ? 0.8 : 1.0;
        if (chance(r, keep))
            break;
    }
    int group = pick_group(r, age, 0);
    household *h = new_household(S, r, HH_COUPLE);
    if (!h)
        return;
    person *a, *b;
    make_couple(S, r, h, age, group, &a, &b);
}

static void make_shared(synth *S, rng *r)
{
    /* Students and young sharers: unrelated adults, one postcode, most of
       them still registered at (or remembered by) their parents' address. */
    household *h = new_household(S, r, HH_SHARED);
    if (!h)
        return;
    int n = rng_range(r, 2, 4);
    for (int i = 0; i < n; i++) {
        int age = sample_age(S, r, 18, chance(r, 0.6) ? 24 : 34);
        int group = pick_group(r, age, 0);
        person *p = make_adult(S, r, h, chance(r, 0.5) ? 1 : 2, age, group);
        if (!p)
            return;
        const char *fam = birth_surname(S, r, group, p->sex);
        if (group == SG_SIKH)
            sikh_family(S, r, p, fam, chance(r, 0.3));
        else
            p->family = fam;
        if (age < 24)
            p->flags |= PF_STUDENT;
        if (chance(r, 0.6))
            p->prev_postcode = draw_postcode(S, r);
    }
}

static void make_care_home(synth *S, rng *r)
{
    household *h = new_household(S, r, HH_CARE);
    if (!h)
        return;
    int n = rng_range(r, 20, 60);
    for (int i = 0; i < n; i++) {
        int age = sample_age(S, r, 72, 100);
        int group = pick_group(r, 90, 0);
        int sex = chance(r, 0.3) ? 1 : 2;
        person *p = make_adult(S, r, h, sex, age, group);
        if (!p)
            return;
        p->flags |= PF_CARE;
        /* Moved in from their own home: older records keep that address. */
        p->prev_postcode = draw_postcode(S, r);
        const char *birth = birth_surname(S, r, group, sex);
        if (sex == 2 && chance(r, 0.85)) {
            p->family = birth_surname(S, r, chance(r, 0.9) ? group : SG_GENERAL, 1);
            set_alt(p, birth, ALT_MAIDEN);
            p->married = 1;
        } else if (group == SG_SIKH) {
            sikh_family(S, r, p, birth, 0);
        } else {
            p->family = birth;
        }
    }
}

static bl_status build_population(synth *S, bl_progress_fn progress, void *user, bl_error *err)
{
    rng r;
    rng_seed(&r, S->opt->seed, 1);
    /* Household mix of England (2021 census shares, by household). */
    static const unsigned type_w[HH_TYPES] = {
        [HH_SINGLE] = 320, [HH_COUPLE] = 310, [HH_FAMILY] = 175, [HH_LONE] = 85,
        [HH_SHARED] = 45,  [HH_MULTIGEN] = 40, [HH_CARE] = 0};
    uint64_t next_report = 1000;
    while (S->np < S->target && !S->oom) {
        /* Care homes are rare but large: about 0.7% of people live in one. */
        if (chance(&r, 0.0005)) {
            make_care_home(S, &r);
        } else {
            switch (pick_weighted(&r, type_w, HH_TYPES)) {
            case HH_SINGLE: make_single(S, &r); break;
            case HH_COUPLE: make_couple_household(S, &r); break;
            case HH_FAMILY: make_family(S, &r, HH_FAMILY); break;
            case HH_LONE: make_family(S, &r, HH_LONE); break;
            case HH_SHARED: make_shared(S, &r); break;
            default: make_family(S, &r, HH_MULTIGEN); break;
            }
        }
        while (progress && S->np >= next_report) {
            if (progress(user, "synth: people", next_report, S->target))
                return bl_fail(err, BL_ECANCELLED, "cancelled");
            next_report += 1000;
        }
    }
    if (S->oom)
        return bl_fail(err, BL_ENOMEM, "out of memory building the population");
    /* Social renting depends on the household (lone parents, older people
       living alone and deprived areas more often). */
    rng rh;
    rng_seed(&rh, S->opt->seed, 2);
    for (size_t i = 0; i < S->nh; i++) {
        household *h = &S->hh[i];
        static const double p_rent[HH_TYPES] = {0.28, 0.12, 0.16, 0.45, 0.12, 0.25, 0};
        double p = p_rent[h->type] * (h->deprived ? 2.0 : 1.0);
        h->social_rent = (uint8_t)chance(&rh, p);
        /* Tenants move more (transfers, temporary accommodation), and the
           landlord hears first: housing holds the new address while the GP
           and others still have the old one. */
        if (h->social_rent && !h->prev_postcode && chance(&rh, 0.2)) {
            const char *old = h->postcode;
            h->prev_postcode = old;
            h->postcode = draw_postcode(S, &rh);
            for (uint32_t k = h->first; k < h->first + h->count; k++) {
                S->pp[k].prev_postcode = old;
                S->pp[k].postcode = h->postcode;
            }
        }
    }
    if (progress && S->np % 1000 && progress(user, "synth: people", S->np, S->target))
        return bl_fail(err, BL_ECANCELLED, "cancelled");
    return BL_OK;
}

/* ------------------------------------------------------------ tables init */

/*
 * The curated community pools hold each community's common family names,
 * but real communities also have a long tail of rare ones, and without it
 * Patel and Khan come out as common as Jones.  Each pool gets a tail of
 * invented names from a letter-trigram model of the pool's own names
 * ("Mehtani", "Sandhar"), weighted Zipf-like so a few repeat across families,
 * and taking the share of the community its real names do not cover.
 */
static void build_tail(synth *S, rng *r, int g, const smap *known)
{
    enum { A = 27 }; /* 0 = word boundary, 1..26 = a..z */
    uint32_t *cnt = calloc((size_t)A * A * A, sizeof *cnt);
    if (!cnt) {
        S->oom = 1;
        return;
    }
    uint64_t pool = 0;
    for (size_t i = 0; i < synth_surname_count; i++) {
        if (synth_surnames[i].group != g)
            continue;
        pool += synth_surnames[i].weight;
        char key[64];
        synth_fold_key(synth_surnames[i].name, key, sizeof key);
        int c1 = 0, c2 = 0;
        for (const char *k = key;; k++) {
            int c3 = (*k >= 'A' && *k <= 'Z') ? *k - 'A' + 1 : 0;
            if (*k && !c3)
                continue;
            cnt[(c1 * A + c2) * A + c3]++;
            if (!c3)
                break;
            c1 = c2;
            c2 = c3;
        }
    }
    double share = groups[g].permille / 1000.0 * 1e7;
    double t = pool >= share ? 0 : 1.0 - (double)pool / share;
    S->tail_share[g] = t > 0.6 ? 0.6 : t;
    size_t want = (size_t)(S->target / 2.3 * groups[g].permille / 1000.0 * 0.5);
    /* A trigram model of a few dozen names has only so many new ones in it. */
    if (want < 40)
        want = 40;
    if (want > 3000)
        want = 3000;
    S->tail_names[g] = malloc(want * sizeof *S->tail_names[g]);
    smap seen;
    if (!S->tail_names[g] || smap_init(&seen, want)) {
        free(cnt);
        S->oom = 1;
        return;
    }
    size_t n = 0;
    for (size_t attempt = 0; attempt < want * 40 && n < want; attempt++) {
        char name[16];
        int len = 0, c1 = 0, c2 = 0, vowel = 0;
        for (;;) {
            const uint32_t *row = &cnt[(c1 * A + c2) * A];
            uint64_t tot = 0;
            for (int c = 0; c < A; c++)
                tot += row[c];
            if (!tot || len >= 11)
                break;
            uint64_t x = rng_below(r, tot);
            int c3 = 0;
            while (x >= row[c3])
                x -= row[c3++];
            if (!c3)
                break;
            char ch = (char)('a' + c3 - 1);
            vowel |= strchr("aeiouy", ch) != NULL;
            name[len] = len ? ch : (char)(ch - 'a' + 'A');
            len++;
            c1 = c2;
            c2 = c3;
        }
        name[len] = '\0';
        if (len < 4 || len > 10 || !vowel || smap_get(known, name) >= 0 || smap_get(&seen, name) >= 0)
            continue;
        smap_put(S, &seen, name, 0);
        S->tail_names[g][n] = sstore(S, name);
        sampler_add(S, &S->tail[g], (uint32_t)n, 1000000 / (n + 8));
        n++;
    }
    smap_free(&seen);
    free(cnt);
    if (!n)
        S->tail_share[g] = 0;
}

static bl_status init_tables(synth *S, rng *r, bl_error *err)
{
    for (size_t i = 0; i < synth_surname_count; i++) {
        const synth_surname *s = &synth_surnames[i];
        if (s->sex != 'F')
            sampler_add(S, &S->surname[s->group][0], (uint32_t)i, s->weight);
        if (s->sex != 'M')
            sampler_add(S, &S->surname[s->group][1], (uint32_t)i, s->weight);
        if (s->sex == 'F')
            sampler_add(S, &S->surname[s->group][2], (uint32_t)i, s->weight);
    }
    smap known;
    if (smap_init(&known, synth_surname_count))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < synth_surname_count; i++)
        smap_put(S, &known, synth_surnames[i].name, 0);
    for (int g = SG_GENERAL + 1; g < SG_COUNT; g++)
        if (g != SG_CARIBBEAN)
            build_tail(S, r, g, &known);
    smap_free(&known);
    /* Caribbean family names beyond the pool are British ones. */
    S->tail_share[SG_CARIBBEAN] = 0.6;
    for (size_t i = 0; i < synth_given_extra_count; i++) {
        const synth_given *g = &synth_given_extra[i];
        if (g->sex != 'F')
            sampler_add(S, &S->given[g->group][0], (uint32_t)i, g->weight);
        if (g->sex != 'M')
            sampler_add(S, &S->given[g->group][1], (uint32_t)i, g->weight);
    }
    for (size_t i = 0; i < synth_baby_count; i++) {
        const synth_baby *b = &synth_babies[i];
        for (int p = 0; p < 5; p++)
            sampler_add(S, &S->baby[b->sex == 'F'][p], (uint32_t)i, b->n[p]);
    }
    for (size_t i = 0; i < synth_hist_count; i++) {
        const synth_hist *h = &synth_hists[i];
        sampler_add(S, &S->hist[h->sex == 'F'][h->decade], (uint32_t)i, rank_weight(h->rank));
    }
    if (smap_init(&S->nick, synth_nickname_count) || smap_init(&S->variant, 600) ||
        smap_init(&S->accent, synth_accent_count) || smap_init(&S->exclusive, synth_given_extra_count))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < synth_nickname_count; i++)
        smap_put(S, &S->nick, synth_nicknames[i].formal, (int32_t)i);
    for (size_t i = 0; i < synth_variant_count; i++) {
        const char *v = synth_variants[i];
        int n = alt_count(v);
        for (int k = 0; k < n; k++) {
            char buf[64];
            alt_get(v, k, buf, sizeof buf);
            smap_put(S, &S->variant, buf, (int32_t)i);
        }
    }
    for (size_t i = 0; i < synth_accent_count; i++)
        smap_put(S, &S->accent, synth_accents[i].plain, (int32_t)i);
    for (size_t i = 0; i < synth_given_extra_count; i++)
        if (synth_given_extra[i].exclusive)
            smap_put(S, &S->exclusive, synth_given_extra[i].name, (int32_t)i);

    /* Age pyramid: per single year (band / 5), 100 on its own. */
    S->pyr_cum[0] = 0;
    for (int a = 0; a <= 100; a++)
        S->pyr_cum[a + 1] = S->pyr_cum[a] + (a == 100 ? pyramid_bands[20] : pyramid_bands[a / 5] / 5);

    /* Postcodes: Oxford city's real ones; invented inward codes (digit + two
       letters from the 20 that inward codes use) for the other districts, a
       pool per district sized so each postcode holds a realistic dozen or so
       households. */
    S->ncity = synth_oxford_postcode_count;
    S->city = malloc(S->ncity * sizeof *S->city);
    S->pools = calloc(synth_outcode_count, sizeof *S->pools);
    if (!S->city || !S->pools)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < S->ncity; i++)
        S->city[i] = synth_oxford_postcodes[i];
    static const char letters[] = "ABDEFGHJLNPQRSTUWXYZ";
    size_t nrural = 0;
    for (size_t i = 0; i < synth_outcode_count; i++) {
        const char *oc = synth_outcodes[i].code;
        if (!synth_outcodes[i].retired && strcmp(oc, "OX1") && strcmp(oc, "OX2") &&
            strcmp(oc, "OX3") && strcmp(oc, "OX4"))
            nrural++;
    }
    uint64_t households = S->target / 2 + 1;
    size_t per = (size_t)(households * 6 / 10 / (nrural ? nrural : 1) / 12);
    if (per < 30)
        per = 30;
    if (per > 4000)
        per = 4000;
    uint16_t perm[4000];
    for (size_t i = 0; i < synth_outcode_count; i++) {
        const char *oc = synth_outcodes[i].code;
        if (synth_outcodes[i].retired || !strcmp(oc, "OX1") || !strcmp(oc, "OX2") ||
            !strcmp(oc, "OX3") || !strcmp(oc, "OX4"))
            continue;
        outpool *p = &S->pools[S->npools++];
        p->outcode = oc;
        p->codes = malloc(per * sizeof *p->codes);
        if (!p->codes)
            return bl_fail(err, BL_ENOMEM, "out of memory");
        for (uint16_t k = 0; k < 4000; k++)
            perm[k] = k;
        for (size_t k = 0; k < per; k++) {
            size_t j = k + (size_t)rng_below(r, 4000 - k);
            uint16_t t = perm[k];
            perm[k] = perm[j];
            perm[j] = t;
            unsigned v = perm[k];
            char pc[16];
            sfmt(pc, sizeof pc, "%s %u%c%c", oc, v / 400, letters[v / 20 % 20], letters[v % 20]);
            p->codes[k] = sstore(S, pc);
        }
        p->n = per;
    }
    S->nhs_cap = 1024;
    while (S->nhs_cap < S->target * 2 + 16)
        S->nhs_cap *= 2;
    S->nhs_set = calloc(S->nhs_cap, sizeof *S->nhs_set);
    S->cap_p = (size_t)S->target;
    S->pp = malloc((S->cap_p ? S->cap_p : 1) * sizeof *S->pp);
    if (!S->nhs_set || !S->pp || S->oom)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    return BL_OK;
}

static void synth_free(synth *S)
{
    for (int g = 0; g < SG_COUNT; g++) {
        for (int k = 0; k < 3; k++)
            sampler_free(&S->surname[g][k]);
        for (int k = 0; k < 2; k++)
            sampler_free(&S->given[g][k]);
        sampler_free(&S->tail[g]);
        free(S->tail_names[g]);
    }
    for (int s = 0; s < 2; s++) {
        for (int p = 0; p < 5; p++)
            sampler_free(&S->baby[s][p]);
        for (int d = 0; d < 10; d++)
            sampler_free(&S->hist[s][d]);
    }
    smap_free(&S->nick);
    smap_free(&S->variant);
    smap_free(&S->accent);
    smap_free(&S->exclusive);
    free(S->city);
    if (S->pools)
        for (size_t i = 0; i < S->npools; i++)
            free(S->pools[i].codes);
    free(S->pools);
    free(S->pp);
    free(S->hh);
    free(S->nhs_set);
    while (S->chunks) {
        chunk *n = S->chunks->next;
        free(S->chunks);
        S->chunks = n;
    }
}

/* ---------------------------------------------------------- error models */

/*
 * Per-source error rates at error_rate 1.0 (each is multiplied by error_rate
 * and capped at 1).  Rates are per record, or per field where it says so.
 * They are our reading of published data-quality audits and of what PPRL
 * studies report for English administrative data: GP registers (synced with
 * the NHS spine) are clean; social care and housing are keyed by hand from
 * conversation and letters; schools hold legal and preferred names.
 */
typedef struct src_params {
    const char *name;
    double typo;           /* per name field */
    double nickname;       /* a nickname the person is not even known by */
    double variant;        /* another spelling of the same name (per name field) */
    double known_use;      /* record the name the person goes by, when they have one */
    double swap;           /* given and family names swapped */
    double title;          /* title typed into a name field */
    double oddcase;        /* odd capitalisation (per name field) */
    double accent_strip;   /* system stores ASCII: accents dropped */
    double mojibake;       /* UTF-8 read as Windows-1252 somewhere upstream */
    double concat_middle;  /* middle name typed into the given-name field */
    double hyphen_var;     /* hyphenated/apostrophe names written another way */
    double alt_use[ALT_COUNT];
    double dob_swap, dob_typo, dob_year1, dob_year10, dob_jan1, dob_invalid, dob_future,
        dob_missing, dob_1900;
    double pc_stale;       /* mover recorded at the old address */
    double pc_typo, pc_missing, pc_malformed, pc_nospace, pc_lower;
    double nhs_missing, nhs_household, nhs_invalid, nhs_spaced;
    double sex_missing, sex_wrong;
    double dup, dup_nhs_blank;
    double junk_ws;        /* stray spaces, doubled spaces, no-break spaces */
} src_params;

static const src_params SRC[SYNTH_NSOURCES] = {
    [SYNTH_GP] = {
        .name = "gp", .typo = 0.010, .nickname = 0.005, .variant = 0.006, .known_use = 0.12,
        .swap = 0.002, .title = 0, .oddcase = 0.01, .accent_strip = 0.3, .mojibake = 0,
        .concat_middle = 0.004, .hyphen_var = 0.2,
        .alt_use = {[ALT_MAIDEN] = 0.06, [ALT_RELIGIOUS] = 0.25, [ALT_OTHER_PARENT] = 0.05,
                    [ALT_GENDER_FORM] = 0.05, [ALT_MARRIED] = 0.3},
        .dob_swap = 0.002, .dob_typo = 0.003, .dob_year1 = 0.001, .dob_year10 = 0.0005,
        .dob_jan1 = 0.001, .dob_invalid = 0.0005, .dob_future = 0.0003, .dob_missing = 0.0003,
        .dob_1900 = 0,
        .pc_stale = 0.35, .pc_typo = 0.005, .pc_missing = 0.01, .pc_malformed = 0.002,
        .pc_nospace = 0.02, .pc_lower = 0.01,
        .nhs_missing = 0.015, .nhs_household = 0.002, .nhs_invalid = 0.005, .nhs_spaced = 0.15,
        .sex_missing = 0.003, .sex_wrong = 0.002, .dup = 0.02, .dup_nhs_blank = 0.85,
        .junk_ws = 0.01},
    [SYNTH_SOCIAL_CARE] = {
        .name = "social_care", .typo = 0.030, .nickname = 0.02, .variant = 0.03,
        .known_use = 0.35, .swap = 0.01, .title = 0.08, .oddcase = 0.03, .accent_strip = 0.6,
        .mojibake = 0.002, .concat_middle = 0.02, .hyphen_var = 0.35,
        .alt_use = {[ALT_MAIDEN] = 0.10, [ALT_RELIGIOUS] = 0.35, [ALT_OTHER_PARENT] = 0.10,
                    [ALT_GENDER_FORM] = 0.10, [ALT_MARRIED] = 0.3},
        .dob_swap = 0.010, .dob_typo = 0.010, .dob_year1 = 0.004, .dob_year10 = 0.002,
        .dob_jan1 = 0.010, .dob_invalid = 0.002, .dob_future = 0.001, .dob_missing = 0.01,
        .dob_1900 = 0.002,
        .pc_stale = 0.30, .pc_typo = 0.015, .pc_missing = 0.03, .pc_malformed = 0.005,
        .pc_nospace = 0.05, .pc_lower = 0.03,
        .nhs_missing = 0.30, .nhs_household = 0.008, .nhs_invalid = 0.010, .nhs_spaced = 0.30,
        .sex_missing = 0.02, .sex_wrong = 0.005, .dup = 0.05, .dup_nhs_blank = 0.7,
        .junk_ws = 0.03},
    [SYNTH_HOUSING] = {
        .name = "housing", .typo = 0.025, .nickname = 0.04, .variant = 0.03, .known_use = 0.45,
        .swap = 0.01, .title = 0.05, .oddcase = 0.05, .accent_strip = 0.85, .mojibake = 0.01,
        .concat_middle = 0.03, .hyphen_var = 0.4,
        .alt_use = {[ALT_MAIDEN] = 0.15, [ALT_RELIGIOUS] = 0.35, [ALT_OTHER_PARENT] = 0.10,
                    [ALT_GENDER_FORM] = 0.15, [ALT_MARRIED] = 0.4},
        .dob_swap = 0.008, .dob_typo = 0.008, .dob_year1 = 0.003, .dob_year10 = 0.002,
        .dob_jan1 = 0.003, .dob_invalid = 0.001, .dob_future = 0.0005, .dob_missing = 0.03,
        .dob_1900 = 0,
        .pc_stale = 0.03, .pc_typo = 0.010, .pc_missing = 0.01, .pc_malformed = 0.005,
        .pc_nospace = 0.10, .pc_lower = 0.05,
        .nhs_missing = 1, .nhs_household = 0, .nhs_invalid = 0, .nhs_spaced = 0,
        .sex_missing = 0.25, .sex_wrong = 0.003, .dup = 0.04, .dup_nhs_blank = 1,
        .junk_ws = 0.04},
    [SYNTH_EDUCATION] = {
        .name = "education", .typo = 0.010, .nickname = 0.01, .variant = 0.01, .known_use = 0.03,
        .swap = 0.003, .title = 0, .oddcase = 0.02, .accent_strip = 0.3, .mojibake = 0,
        .concat_middle = 0.01, .hyphen_var = 0.25,
        .alt_use = {[ALT_MAIDEN] = 0.05, [ALT_RELIGIOUS] = 0.2, [ALT_OTHER_PARENT] = 0.08,
                    [ALT_GENDER_FORM] = 0.05, [ALT_MARRIED] = 0.3},
        .dob_swap = 0.003, .dob_typo = 0.003, .dob_year1 = 0.002, .dob_year10 = 0.0002,
        .dob_jan1 = 0.0005, .dob_invalid = 0.0005, .dob_future = 0.0003, .dob_missing = 0.002,
        .dob_1900 = 0,
        .pc_stale = 0.25, .pc_typo = 0.008, .pc_missing = 0.01, .pc_malformed = 0.002,
        .pc_nospace = 0.03, .pc_lower = 0.02,
        .nhs_missing = 1, .nhs_household = 0, .nhs_invalid = 0, .nhs_spaced = 0,
        .sex_missing = 0.005, .sex_wrong = 0.002, .dup = 0.02, .dup_nhs_blank = 1,
        .junk_ws = 0.01},
};

const char *synth_source_name(int source)
{
    return source >= 0 && source < SYNTH_NSOURCES ? SRC[source].name : NULL;
}

/* ------------------------------------------------------ string corruption */

#define NAME_MAX_BYTES 192

/* QWERTY neighbours of each letter. */
static const char *const kbd[26] = {
    "qwsz", "vghn", "xdfv", "serfcx", "wrsd", "drtgvc", "ftyhbv", "gyujnb", "uojk",
    "huikmn", "jiolm", "kop", "njk", "bhjm", "iplk", "ol", "wa", "etdf", "awedxz",
    "ryfg", "yihj", "cfgb", "qeas", "zsdc", "tugh", "asx"};

static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int lower_c(int c) { return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c; }
static int upper_c(int c) { return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c; }

/* Index of a random ASCII letter in s, or -1.  Typos touch ASCII letters
   only, so a multi-byte character is never split (the output stays UTF-8). */
static int random_letter(rng *r, const char *s)
{
    int idx[NAME_MAX_BYTES], n = 0;
    for (int i = 0; s[i] && n < NAME_MAX_BYTES; i++)
        if (is_alpha((unsigned char)s[i]))
            idx[n++] = i;
    return n ? idx[rng_below(r, (uint64_t)n)] : -1;
}

static void str_delete(char *s, int i, int n)
{
    memmove(s + i, s + i + n, strlen(s + i + n) + 1);
}

static void str_insert(char *s, size_t size, int i, const char *ins)
{
    size_t len = strlen(s), k = strlen(ins);
    if (len + k + 1 > size)
        return;
    memmove(s + i + k, s + i, len - (size_t)i + 1);
    memcpy(s + i, ins, k);
}

/* Replace the first occurrence of `from` (case-insensitive ASCII) by `to`. */
static int str_replace_ci(char *s, size_t size, const char *from, const char *to)
{
    size_t fl = strlen(from);
    for (char *p = s; *p; p++) {
        size_t k = 0;
        while (k < fl && p[k] && lower_c((unsigned char)p[k]) == from[k])
            k++;
        if (k == fl) {
            int i = (int)(p - s);
            int up = p[0] >= 'A' && p[0] <= 'Z';
            str_delete(s, i, (int)fl);
            char t[16];
            scopy(t, sizeof t, to);
            if (up)
                t[0] = (char)upper_c((unsigned char)t[0]);
            str_insert(s, size, i, t);
            return 1;
        }
    }
    return 0;
}

/* One typing or transcription error: keyboard slips, dropped and doubled
   letters, swapped neighbours, OCR confusions (rn/m, cl/d, l/I), and
   spelling by ear (ph/f, ie/y, doubled consonants). */
static void typo(rng *r, char *s, size_t size)
{
    static const unsigned w[6] = {30, 20, 12, 20, 8, 10};
    int op = pick_weighted(r, w, 6);
    int i = random_letter(r, s);
    if (i < 0)
        return;
    switch (op) {
    case 0: { /* neighbouring key */
        const char *nb = kbd[lower_c((unsigned char)s[i]) - 'a'];
        char c = nb[rng_below(r, strlen(nb))];
        s[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? upper_c(c) : c);
        break;
    }
    case 1: /* dropped letter */
        if (strlen(s) > 2)
            str_delete(s, i, 1);
        break;
    case 2: { /* doubled or stray letter */
        char ins[2] = {(char)lower_c((unsigned char)s[i]), 0};
        if (chance(r, 0.5))
            ins[0] = kbd[ins[0] - 'a'][0];
        str_insert(s, size, i + 1, ins);
        break;
    }
    case 3: /* transposition */
        if (s[i + 1] && is_alpha((unsigned char)s[i + 1]) && s[i] != s[i + 1]) {
            int up = s[i] >= 'A' && s[i] <= 'Z';
            char a = s[i], b = s[i + 1];
            s[i] = (char)(up ? upper_c((unsigned char)b) : lower_c((unsigned char)b));
            s[i + 1] = (char)(up ? lower_c((unsigned char)a) : a);
        } else if (i > 0 && is_alpha((unsigned char)s[i - 1]) && s[i - 1] != s[i]) {
            char t = s[i];
            s[i] = s[i - 1];
            s[i - 1] = t;
        }
        break;
    case 4: { /* OCR and handwriting */
        static const char *const pairs[][2] = {{"rn", "m"}, {"m", "rn"}, {"cl", "d"}, {"d", "cl"},
                                               {"l", "I"},  {"li", "h"}, {"e", "c"},   {"u", "v"},
                                               {"n", "h"},  {"o", "0"}};
        int k = (int)rng_below(r, 10);
        for (int t = 0; t < 10; t++, k = (k + 1) % 10)
            if (str_replace_ci(s, size, pairs[k][0], pairs[k][1]))
                break;
        break;
    }
    default: { /* spelling by ear */
        static const char *const pairs[][2] = {
            {"ph", "f"}, {"f", "ph"},  {"ck", "k"},  {"ie", "y"},   {"y", "ie"},  {"ll", "l"},
            {"tt", "t"}, {"nn", "n"},  {"ei", "ie"}, {"ou", "ow"},  {"ee", "ea"}, {"s", "z"},
            {"c", "k"},  {"ey", "y"},  {"th", "t"},  {"ai", "ay"}};
        int k = (int)rng_below(r, 16);
        for (int t = 0; t < 16; t++, k = (k + 1) % 16)
            if (str_replace_ci(s, size, pairs[k][0], pairs[k][1]))
                break;
        break;
    }
    }
}

/* Upper/lower case for ASCII and the Latin letters our names use. */
static unsigned long case_map(unsigned long cp, int upper)
{
    if (cp < 0x80)
        return (unsigned long)(upper ? upper_c((int)cp) : lower_c((int)cp));
    if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
        return upper ? cp : cp + 0x20;
    if (cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)
        return upper ? cp - 0x20 : cp;
    if (cp == 0x130 || cp == 0x131)
        return upper ? (cp == 0x131 ? 'I' : cp) : (cp == 0x130 ? 'i' : cp);
    if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177) || (cp >= 0x218 && cp <= 0x21B))
        return upper ? (cp & ~1ul) : (cp | 1ul);
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
        return upper ? ((cp & 1) ? cp : cp - 1) : ((cp & 1) ? cp + 1 : cp);
    return cp;
}

static size_t utf8_dec(const unsigned char *s, unsigned long *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0 && (s[1] & 0xC0) == 0x80) {
        *cp = (unsigned long)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
        return 2;
    }
    if ((s[0] & 0xF0) == 0xE0 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
        *cp = (unsigned long)(s[0] & 0x0F) << 12 | (unsigned long)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
        return 3;
    }
    *cp = s[0];
    return 1;
}

static size_t utf8_enc(unsigned long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* mode: 0 lower, 1 upper, 2 first letter only upper ("Mcdonald"). */
static void recase(char *s, size_t size, int mode)
{
    char out[NAME_MAX_BYTES * 2];
    size_t o = 0;
    int first = 1;
    const unsigned char *p = (const unsigned char *)s;
    while (*p && o + 4 < sizeof out) {
        unsigned long cp;
        size_t n = utf8_dec(p, &cp);
        int up = mode == 1 || (mode == 2 && first);
        unsigned long m = case_map(cp, up);
        o += utf8_enc(m, out + o);
        if (cp != ' ' && cp != '-')
            first = 0;
        else
            first = mode == 2 ? first : 1;
        p += n;
    }
    out[o] = '\0';
    scopy(s, size, out);
}

/* UTF-8 bytes misread as Windows-1252 and re-encoded ("Zoë" -> "ZoÃ«"). */
static void mojibake(char *s, size_t size)
{
    static const unsigned short cp1252[32] = {
        0x20AC, 0x81, 0x201A, 0x192, 0x201E, 0x2026, 0x2020, 0x2021, 0x2C6, 0x2030, 0x160,
        0x2039, 0x152, 0x8D, 0x17D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x2DC, 0x2122, 0x161, 0x203A, 0x153, 0x9D, 0x17E, 0x178};
    char out[NAME_MAX_BYTES * 3];
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < sizeof out; p++) {
        unsigned long cp = *p;
        if (cp >= 0x80 && cp < 0xA0)
            cp = cp1252[cp - 0x80];
        o += utf8_enc(cp, out + o);
    }
    out[o] = '\0';
    scopy(s, size, out);
}

static int has_non_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s >= 0x80)
            return 1;
    return 0;
}

/* Double-barrelled and apostrophe names written another way: with a space,
   run together, one half only, the apostrophe dropped or curly. */
static void hyphen_variant(rng *r, char *s, size_t size, int given)
{
    char *h = strchr(s, '-');
    char *ap = strchr(s, '\'');
    if (h) {
        static const unsigned wf[4] = {40, 15, 25, 20}, wg[4] = {30, 10, 60, 0};
        int c = pick_weighted(r, given ? wg : wf, 4);
        if (c == 0)
            *h = ' ';
        else if (c == 1)
            str_delete(s, (int)(h - s), 1);
        else if (c == 2)
            *h = '\0';
        else
            memmove(s, h + 1, strlen(h + 1) + 1);
    } else if (ap) {
        static const unsigned w[3] = {50, 30, 20};
        int c = pick_weighted(r, w, 3);
        if (c == 0)
            str_delete(s, (int)(ap - s), 1);
        else if (c == 1)
            *ap = ' ';
        else {
            str_delete(s, (int)(ap - s), 1);
            str_insert(s, size, (int)(ap - s), "\xE2\x80\x99");
        }
    } else if (strchr(s, ' ') && !given) {
        if (chance(r, 0.5))
            str_delete(s, (int)(strchr(s, ' ') - s), 1); /* "St Clair" -> "StClair" */
    }
}

static void junk_ws(rng *r, char *s, size_t size)
{
    static const unsigned w[4] = {40, 30, 20, 10};
    switch (pick_weighted(r, w, 4)) {
    case 0: str_insert(s, size, (int)strlen(s), " "); break;
    case 1: str_insert(s, size, 0, " "); break;
    case 2: {
        char *sp = strchr(s, ' ');
        if (sp)
            str_insert(s, size, (int)(sp - s), " ");
        else
            str_insert(s, size, (int)strlen(s), "  ");
        break;
    }
    default: str_insert(s, size, (int)strlen(s), "\xC2\xA0"); break; /* no-break space */
    }
}

/* ---------------------------------------------------------- record views */

typedef struct rec {
    char given[NAME_MAX_BYTES], middle[NAME_MAX_BYTES], family[NAME_MAX_BYTES];
    char title[16];
    int title_in_name;
    int y, m, d;
    int dob_missing;
    char postcode[32];
    char nhs[32];
    int sex; /* 0 missing, 1 male, 2 female */
    int stale;
} rec;

typedef struct src_ctx {
    synth *S;
    int source;
    const src_params *sp;
    double rate;
    rng *r; /* error stream */
} src_ctx;

static double P(const src_ctx *c, double base)
{
    double p = base * c->rate;
    return p > 1 ? 1 : p;
}

static const char *title_for(rng *r, const person *p)
{
    int age = age_at_ref(p->dob);
    if (chance(r, 0.01) && age > 26)
        return "Dr";
    if (p->sex == 1)
        return age < 16 ? "Master" : "Mr";
    if (age < 18)
        return "Miss";
    if (p->married)
        return chance(r, 0.85) ? "Mrs" : "Ms";
    return chance(r, 0.6) ? "Miss" : "Ms";
}

/* Apply a name's per-field errors in place. */
static void corrupt_name(src_ctx *c, char *s, size_t size, int given)
{
    rng *r = c->r;
    const src_params *sp = c->sp;
    int32_t v = smap_get(&c->S->variant, s);
    if (chance(r, P(c, sp->variant)) && v >= 0) {
        const char *set = synth_variants[v];
        int n = alt_count(set);
        char buf[64];
        alt_get(set, (int)rng_below(r, (uint64_t)n), buf, sizeof buf);
        scopy(s, size, buf);
    }
    if (chance(r, P(c, sp->hyphen_var)) && (strchr(s, '-') || strchr(s, '\'') || strchr(s, ' ')))
        hyphen_variant(r, s, size, given);
    int na = has_non_ascii(s);
    if (na && chance(r, P(c, sp->mojibake)))
        mojibake(s, size);
    else if (na && chance(r, sp->accent_strip))
        synth_strip_accents(s, s, size);
    if (chance(r, P(c, sp->typo)))
        typo(r, s, size);
    if (chance(r, P(c, sp->typo) * 0.15))
        typo(r, s, size); /* a few names carry two errors */
    if (chance(r, P(c, sp->oddcase))) {
        static const unsigned w[3] = {30, 50, 20};
        recase(s, size, pick_weighted(r, w, 3));
    }
}

/* The identifiers one record of person p holds in source c. */
static void render_record(src_ctx *c, const person *p, int dup, rec *o)
{
    synth *S = c->S;
    rng *r = c->r;
    const src_params *sp = c->sp;
    memset(o, 0, sizeof *o);
    double dupf = dup ? 3.0 : 1.0; /* old registrations are staler and messier */

    /* Given name: legal, the name they go by, or a nickname. */
    const char *given = p->given;
    if (p->known_as && chance(r, P(c, sp->known_use)))
        given = p->known_as;
    else {
        int32_t nk = smap_get(&S->nick, p->given);
        if (nk >= 0 && chance(r, P(c, sp->nickname))) {
            const char *alts = synth_nicknames[nk].alts;
            char buf[64];
            alt_get(alts, (int)rng_below(r, (uint64_t)alt_count(alts)), buf, sizeof buf);
            scopy(o->given, sizeof o->given, buf);
            given = NULL;
        }
    }
    /* Newborns registered before they were named. */
    if ((c->source == SYNTH_GP || c->source == SYNTH_SOCIAL_CARE) && age_at_ref(p->dob) == 0 &&
        chance(r, P(c, 0.15)))
        given = "Baby";
    if (given)
        scopy(o->given, sizeof o->given, given);
    if (p->middle && given != p->middle)
        sfmt(o->middle, sizeof o->middle, "%s%s%s", p->middle, p->middle2 ? " " : "",
             p->middle2 ? p->middle2 : "");
    if (o->middle[0] && chance(r, P(c, sp->concat_middle))) {
        char both[NAME_MAX_BYTES];
        sfmt(both, sizeof both, "%s %s", o->given, p->middle);
        scopy(o->given, sizeof o->given, both);
    }

    /* Family name: current, or the other one this person has. */
    const char *fam = p->family;
    if (p->alt_family && chance(r, P(c, sp->alt_use[p->alt_kind] * (dup ? 2.0 : 1.0))))
        fam = p->alt_family;
    scopy(o->family, sizeof o->family, fam);

    corrupt_name(c, o->given, sizeof o->given, 1);
    corrupt_name(c, o->family, sizeof o->family, 0);
    if (o->middle[0] && chance(r, 0.5))
        corrupt_name(c, o->middle, sizeof o->middle, 1);

    double swap = sp->swap * (p->group == SG_CHINESE || p->group == SG_VIETNAMESE ? 5 : 1);
    if (chance(r, P(c, swap))) {
        char t[NAME_MAX_BYTES];
        scopy(t, sizeof t, o->given);
        scopy(o->given, sizeof o->given, o->family);
        scopy(o->family, sizeof o->family, t);
    }
    scopy(o->title, sizeof o->title, title_for(r, p));
    o->title_in_name = chance(r, P(c, sp->title));
    if (chance(r, P(c, sp->junk_ws)))
        junk_ws(r, chance(r, 0.5) ? o->given : o->family, NAME_MAX_BYTES);

    /* Date of birth. */
    int y, m, d;
    civil_from_days(p->dob, &y, &m, &d);
    if (chance(r, P(c, sp->dob_missing))) {
        o->dob_missing = 1;
    } else if (chance(r, P(c, sp->dob_1900))) {
        y = 1900, m = 1, d = 1; /* a system's "unknown" placeholder */
    } else {
        if (chance(r, P(c, sp->dob_jan1)))
            m = 1, d = 1; /* born abroad, only the year known */
        if (chance(r, P(c, sp->dob_swap)) && d <= 12 && d != m) {
            int t = d;
            d = m;
            m = t;
        }
        if (chance(r, P(c, sp->dob_year1)))
            y += chance(r, 0.5) ? 1 : -1;
        if (chance(r, P(c, sp->dob_year10)))
            y += chance(r, 0.5) ? 10 : -10;
        if (chance(r, P(c, sp->dob_typo))) {
            static const unsigned w[3] = {40, 20, 40};
            int which = pick_weighted(r, w, 3);
            int digit = rng_range(r, 0, 9);
            if (which == 0)
                d = chance(r, 0.5) ? (d / 10) * 10 + digit : digit * 10 + d % 10;
            else if (which == 1)
                m = m >= 10 ? 10 + digit % 3 : (digit ? digit : 1);
            else
                y = (y / 10) * 10 + digit;
            if (d == 0)
                d = 10;
        }
        if (chance(r, P(c, sp->dob_invalid))) {
            /* A day the month does not have (31/02, 31/04, 29/02/1987). */
            static const int months[5] = {2, 4, 6, 9, 11};
            m = months[rng_below(r, 5)];
            d = m == 2 ? (days_in_month(y, 2) == 29 ? 30 : rng_range(r, 29, 31)) : 31;
        }
        if (chance(r, P(c, sp->dob_future))) {
            /* An appointment or due date keyed as the birth date. */
            civil_from_days(ref_day() + rng_range(r, 1, 400), &y, &m, &d);
        }
    }
    o->y = y, o->m = m, o->d = d;

    /* Sex. */
    o->sex = p->sex;
    if (chance(r, P(c, sp->sex_wrong)))
        o->sex = 3 - p->sex;
    if (chance(r, P(c, sp->sex_missing)))
        o->sex = 0;

    /* Postcode: movers may still be on record at the old address. */
    const char *pc = p->postcode;
    if (p->prev_postcode && chance(r, P(c, sp->pc_stale * dupf)))
        pc = p->prev_postcode, o->stale = 1;
    else if (dup && !p->prev_postcode && chance(r, 0.4 * c->rate))
        pc = draw_postcode(S, r), o->stale = 1;
    scopy(o->postcode, sizeof o->postcode, pc);
    if (o->stale && chance(r, 0.3)) {
        /* Old records in Bicester and Witney still say OX6 and OX8. */
        if (!strncmp(pc, "OX25 ", 5) || !strncmp(pc, "OX26 ", 5) || !strncmp(pc, "OX27 ", 5))
            sfmt(o->postcode, sizeof o->postcode, "OX6 %s", pc + 5);
        else if (!strncmp(pc, "OX28 ", 5) || !strncmp(pc, "OX29 ", 5))
            sfmt(o->postcode, sizeof o->postcode, "OX8 %s", pc + 5);
    }
    if (chance(r, P(c, sp->pc_missing))) {
        o->postcode[0] = '\0';
    } else {
        if (chance(r, P(c, sp->pc_typo))) {
            /* Look-alike characters, a neighbouring district, or swapped letters. */
            static const unsigned w[4] = {35, 25, 25, 15};
            char *s = o->postcode;
            size_t n = strlen(s);
            switch (pick_weighted(r, w, 4)) {
            case 0:
                if (s[0] == 'O')
                    s[0] = '0';
                else
                    s[0] = 'Q';
                break;
            case 1: {
                char *sp2 = strchr(s, ' ');
                if (sp2 && sp2 > s + 2 && sp2[-1] >= '0' && sp2[-1] <= '9')
                    sp2[-1] = (char)('0' + (sp2[-1] - '0' + rng_range(r, 1, 9)) % 10);
                break;
            }
            case 2:
                if (n >= 2) {
                    char t = s[n - 1];
                    s[n - 1] = s[n - 2];
                    s[n - 2] = t;
                }
                break;
            default:
                if (n >= 1)
                    s[n - 1] = "ABDEFGHJLNPQRSTUWXYZ"[rng_below(r, 20)];
                break;
            }
        }
        if (chance(r, P(c, sp->pc_malformed))) {
            static const unsigned w[3] = {40, 30, 30};
            size_t n = strlen(o->postcode);
            switch (pick_weighted(r, w, 3)) {
            case 0: if (n) o->postcode[n - 1] = '\0'; break;       /* "OX4 1A" */
            case 1: { char *sp2 = strchr(o->postcode, ' '); if (sp2) *sp2 = '\0'; break; } /* "OX4" */
            default: scopy(o->postcode, sizeof o->postcode, "NFA"); break; /* no fixed abode */
            }
        }
        if (chance(r, P(c, sp->pc_nospace))) {
            char *sp2 = strchr(o->postcode, ' ');
            if (sp2)
                str_delete(o->postcode, (int)(sp2 - o->postcode), 1);
        }
        if (chance(r, P(c, sp->pc_lower)))
            recase(o->postcode, sizeof o->postcode, 0);
    }

    /* NHS number. */
    if (sp->nhs_missing < 1) {
        double miss = dup ? sp->dup_nhs_blank : P(c, sp->nhs_missing);
        if (!chance(r, miss)) {
            uint64_t v = p->nhs;
            const household *h = &S->hh[p->household];
            if (chance(r, P(c, sp->nhs_household)) && h->count > 1) {
                /* A household member's number picked from the wrong line. */
                uint32_t k = h->first + (uint32_t)rng_below(r, h->count);
                if (&S->pp[k] != p)
                    v = S->pp[k].nhs;
            }
            char ten[16];
            sfmt(ten, sizeof ten, "%010llu", (unsigned long long)v);
            if (chance(r, P(c, sp->nhs_invalid))) {
                /* Mod 11 catches every one of these. */
                static const unsigned w[3] = {55, 35, 10};
                int op = pick_weighted(r, w, 3);
                int i = (int)rng_below(r, 9);
                if (op == 0) {
                    ten[i] = (char)('0' + (ten[i] - '0' + rng_range(r, 1, 9)) % 10);
                } else if (op == 1) {
                    int j = i;
                    while (j < 9 && ten[j] == ten[j + 1])
                        j++;
                    if (j < 9) {
                        char t = ten[j];
                        ten[j] = ten[j + 1];
                        ten[j + 1] = t;
                    } else {
                        ten[0] = (char)('0' + (ten[0] - '0' + 1) % 10);
                    }
                } else {
                    str_delete(ten, i, 1);
                }
            }
            if (strlen(ten) == 10 && chance(r, sp->nhs_spaced))
                sfmt(o->nhs, sizeof o->nhs, "%.3s %.3s %.4s", ten, ten + 3, ten + 6);
            else if (strlen(ten) == 10 && chance(r, 0.01))
                sfmt(o->nhs, sizeof o->nhs, "%.3s-%.3s-%.4s", ten, ten + 3, ten + 6);
            else
                scopy(o->nhs, sizeof o->nhs, ten);
        }
    }
}

/* --------------------------------------------------------- date formats */

enum { DF_DMY_SLASH, DF_D_MON_Y, DF_ISO };
static const char *const month_abbr[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void fmt_date(char *out, size_t size, int fmt, int y, int m, int d, int upper)
{
    if (fmt == DF_ISO)
        sfmt(out, size, "%04d-%02d-%02d", y, m, d);
    else if (fmt == DF_DMY_SLASH)
        sfmt(out, size, "%02d/%02d/%04d", d, m, y);
    else {
        char mon[4];
        scopy(mon, sizeof mon, month_abbr[(m - 1 + 12) % 12]);
        if (upper)
            recase(mon, sizeof mon, 1);
        sfmt(out, size, "%02d-%s-%04d", d, mon, y);
    }
}

static void fmt_day(char *out, size_t size, int fmt, int32_t day)
{
    int y, m, d;
    civil_from_days(day, &y, &m, &d);
    fmt_date(out, size, fmt, y, m, d, 0);
}

/* ----------------------------------------------------------------- CSV out */

typedef struct csvout {
    bl_atomic_file *f;
    FILE *fp;
    const char *eol;
} csvout;

static void csv_field(FILE *fp, const char *s)
{
    if (strpbrk(s, ",\"\r\n")) {
        putc('"', fp);
        for (; *s; s++) {
            if (*s == '"')
                putc('"', fp);
            putc(*s, fp);
        }
        putc('"', fp);
    } else {
        fputs(s, fp);
    }
}

static void csv_row(csvout *o, const char *const *f, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(',', o->fp);
        csv_field(o->fp, f[i] ? f[i] : "");
    }
    fputs(o->eol, o->fp);
}

/* -------------------------------------------------------------- content */

/* A random day in [from, to]. */
static int32_t day_between(rng *r, int32_t from, int32_t to)
{
    if (to < from)
        return from;
    return from + (int32_t)rng_below(r, (uint64_t)(to - from) + 1);
}

static const person *other_member(synth *S, rng *r, const person *p)
{
    const household *h = &S->hh[p->household];
    if (h->count < 2)
        return NULL;
    for (int t = 0; t < 4; t++) {
        const person *q = &S->pp[h->first + rng_below(r, h->count)];
        if (q != p)
            return q;
    }
    return NULL;
}

/* Free text as caseworkers write it: names of the person and their family,
   phone numbers from Ofcom's drama range, quotes, commas, line breaks.  The
   column must never reach linkage outputs. */
static void make_notes(synth *S, rng *r, int source, const person *p, const rec *o, char *out,
                       size_t size)
{
    out[0] = '\0';
    if (!chance(r, 0.35))
        return;
    const person *q = other_member(S, r, p);
    const char *qg = q ? (q->known_as ? q->known_as : q->given) : "Sam";
    const char *qf = q ? q->family : p->family;
    const char *rel = q ? (age_at_ref(q->dob) < age_at_ref(p->dob) - 15 ? (q->sex == 1 ? "son" : "daughter")
                                                                        : (q->sex == 1 ? "partner" : "wife"))
                        : "neighbour";
    unsigned tel = (unsigned)rng_below(r, 1000);
    int t = (int)rng_below(r, 5);
    switch (source) {
    case SYNTH_GP:
        switch (t) {
        case 0: sfmt(out, size, "Seen with %s %s %s.", rel, qg, qf); break;
        case 1: sfmt(out, size, "Pt prefers \"%s\". BP 128/82, r/v 6/12", p->known_as ? p->known_as : o->given); break;
        case 2: sfmt(out, size, "DNA x2, letter sent to %s", p->postcode); break;
        case 3: sfmt(out, size, "NOK %s %s, tel 07700 900%03u", qg, qf, tel); break;
        default: sfmt(out, size, "Discussed self-care plan with %s %s;\nreview in clinic", o->given, o->family); break;
        }
        break;
    case SYNTH_SOCIAL_CARE:
        switch (t) {
        case 0: sfmt(out, size, "Referred by %s %s (%s), lives with family, \"managing\"", qg, qf, rel); break;
        case 1: sfmt(out, size, "NOK: %s %s, tel 07700 900%03u", qg, qf, tel); break;
        case 2: sfmt(out, size, "Carer %s reports two falls;\nOT assessment booked for %s", qg, p->given); break;
        case 3: sfmt(out, size, "%s %s declined home visit, will call back", p->given, p->family); break;
        default: sfmt(out, size, "Safeguarding concern raised by school re %s, strategy meeting held", p->given); break;
        }
        break;
    case SYNTH_HOUSING:
        switch (t) {
        case 0: sfmt(out, size, "Tenant %s %s reported damp in bathroom, \"urgent\"", p->given, p->family); break;
        case 1: sfmt(out, size, "Joint tenancy with %s %s", qg, qf); break;
        case 2: sfmt(out, size, "Arrears \xC2\xA3%u; payment plan agreed with %s", 100 + tel, p->given); break;
        case 3: sfmt(out, size, "Call from %s (%s) re repairs, tel 07700 900%03u", qg, rel, tel); break;
        default: sfmt(out, size, "Previous address %s;\nreferred by homeless team", p->prev_postcode ? p->prev_postcode : "unknown"); break;
        }
        break;
    default:
        switch (t) {
        case 0: sfmt(out, size, "Known as %s; %s %s attends meetings", p->known_as ? p->known_as : p->given, qg, qf); break;
        case 1: sfmt(out, size, "Moved from another LA; previous UPN unknown"); break;
        case 2: sfmt(out, size, "EHCP review, parent %s %s present, \"positive\"", qg, qf); break;
        case 3: sfmt(out, size, "Sibling of %s %s in Year %d", qg, qf, rng_range(r, 1, 11)); break;
        default: sfmt(out, size, "Attendance 84%%, letter home to %s,\nfollow-up call", qg); break;
        }
        break;
    }
}

static const char *ethnicity_for(rng *r, int group)
{
    if (chance(r, 0.06))
        return chance(r, 0.5) ? "Not stated" : "Information not yet obtained";
    switch (group) {
    case SG_GENERAL: {
        static const char *const e[6] = {
            "White - English, Welsh, Scottish, Northern Irish or British", "White - Irish",
            "White - Any other White background", "Mixed - White and Black Caribbean",
            "Mixed - Any other Mixed background", "Mixed - White and Asian"};
        static const unsigned w[6] = {860, 30, 50, 20, 20, 20};
        return e[pick_weighted(r, w, 6)];
    }
    case SG_PAKISTANI: return "Asian or Asian British - Pakistani";
    case SG_BANGLADESHI: return "Asian or Asian British - Bangladeshi";
    case SG_INDIAN: case SG_SIKH: return "Asian or Asian British - Indian";
    case SG_BLACK_AFRICAN: case SG_SOMALI: return "Black or Black British - African";
    case SG_CARIBBEAN: return "Black or Black British - Caribbean";
    case SG_POLISH: return "White - Any other White background";
    case SG_ROMANIAN: return chance(r, 0.15) ? "White - Roma" : "White - Any other White background";
    case SG_CHINESE: return "Asian or Asian British - Chinese";
    case SG_VIETNAMESE: return "Asian or Asian British - Any other Asian background";
    default: return chance(r, 0.5) ? "Other ethnic group - Any other ethnic group" : "White - Any other White background";
    }
}

/* --------------------------------------------------------- per source */

typedef struct entry {
    uint32_t person;
    uint32_t dup;
} entry;

/* Who appears in each source (selection stream; independent of error_rate
   except for duplicates, which are an error). */
static int selected(synth *S, rng *r, int source, const person *p)
{
    int age = age_at_ref(p->dob);
    const household *h = &S->hh[p->household];
    switch (source) {
    case SYNTH_GP:
        /* Nearly everyone; some recent arrivals and students are not registered here. */
        return chance(r, (p->flags & PF_STUDENT) ? 0.85 : (p->flags & PF_CARE) ? 1.0 : 0.98);
    case SYNTH_SOCIAL_CARE: {
        double q = age < 18 ? 0.11 : age < 65 ? 0.06 : age < 80 ? 0.26 : 0.55;
        if (p->flags & PF_CARE)
            q = 0.97;
        if (h->type == HH_LONE && age < 18)
            q *= 1.8;
        if (h->deprived)
            q *= 1.5;
        return chance(r, q > 1 ? 1 : q);
    }
    case SYNTH_HOUSING:
        if (p->flags & PF_CARE)
            return chance(r, 0.01);
        if (h->social_rent)
            return chance(r, age >= 18 ? 0.95 : 0.35);
        /* Homelessness applications and private-rented repairs. */
        return chance(r, age >= 18 ? 0.07 : 0.015);
    default: {
        double q = age == 3 ? 0.5 : age >= 4 && age <= 15 ? 0.95 : age <= 17 && age >= 16 ? 0.75
                 : age == 18 ? 0.4 : age == 19 ? 0.15 : age < 60 && age > 19 ? 0.005 : 0;
        return chance(r, q);
    }
    }
}

typedef struct outputs {
    bl_atomic_file *f[16];
    int n;
} outputs;

static bl_status open_out(outputs *outs, const char *dir, const char *name, bl_atomic_file **f,
                          bl_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return bl_fail(err, BL_EMISUSE, "output directory path too long");
    bl_status st = bl_atomic_open(path, f, err);
    if (st == BL_OK)
        outs->f[outs->n++] = *f;
    return st;
}

/* Record id styles differ per source, as they do between real systems. */
static void record_id(int source, uint32_t k, int32_t event_day, char *out, size_t size)
{
    switch (source) {
    case SYNTH_GP:
        /* EMIS-style numeric patient ids, scattered. */
        /* Steps of 8 plus a 0-7 jitter: scattered, and never equal. */
        sfmt(out, size, "%u", 1000000u + k * 8u + ((k * 2654435761u) >> 29));
        break;
    case SYNTH_SOCIAL_CARE:
        sfmt(out, size, "C%07u", 100000u + k * 3u);
        break;
    case SYNTH_HOUSING:
        sfmt(out, size, "HSG/%04d/%06u", year_of(event_day), k + 1);
        break;
    default: {
        /* Unique Pupil Number: check letter + LA 931 (Oxfordshire) +
           establishment + year + serial; the check letter follows the DfE
           scheme (weights 2..13 mod 23). */
        char body[16];
        sfmt(body, sizeof body, "931%04u%02d%03u", 2000u + k / 1000u, year_of(event_day) % 100,
             k % 1000u);
        int sum = 0;
        for (int i = 0; i < 12; i++)
            sum += (body[i] - '0') * (i + 2);
        sfmt(out, size, "%c%s", "ABCDEFGHJKLMNPQRTUVWXYZ"[sum % 23], body);
        break;
    }
    }
}

static void sex_code(int source, rng *r, int sex, char *out, size_t size)
{
    switch (source) {
    case SYNTH_GP:
        scopy(out, size, sex == 1 ? "M" : sex == 2 ? "F" : "U");
        break;
    case SYNTH_SOCIAL_CARE:
        if (!sex)
            scopy(out, size, chance(r, 0.8) ? "Not Known" : "");
        else if (chance(r, 0.25)) /* records migrated from the old system kept codes */
            scopy(out, size, sex == 1 ? "1" : "2");
        else
            scopy(out, size, sex == 1 ? "Male" : "Female");
        break;
    case SYNTH_HOUSING:
        scopy(out, size, sex == 1 ? "M" : sex == 2 ? "F" : "");
        break;
    default:
        if (sex && chance(r, 0.3))
            scopy(out, size, sex == 1 ? "1" : "2");
        else
            scopy(out, size, sex == 1 ? "M" : sex == 2 ? "F" : "");
        break;
    }
}

static bl_status write_source(synth *S, int source, const char *dir, outputs *outs,
                              csvout *truth, bl_progress_fn progress, void *user, bl_error *err)
{
    static const char *const file[SYNTH_NSOURCES] = {"gp.csv", "social_care.csv", "housing.csv",
                                                     "education.csv"};
    rng rs, re;
    rng_seed(&rs, S->opt->seed, 10 + (uint64_t)source);
    rng_seed(&re, S->opt->seed, 20 + (uint64_t)source);
    src_ctx c = {S, source, &SRC[source], S->rate, &re};

    size_t n = 0, cap = 1024;
    entry *e = malloc(cap * sizeof *e);
    if (!e)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < S->np; i++) {
        const person *p = &S->pp[i];
        if (!selected(S, &rs, source, p))
            continue;
        int dup = chance(&rs, P(&c, SRC[source].dup));
        for (int k = 0; k <= dup; k++) {
            if (n == cap) {
                entry *ne = realloc(e, cap * 2 * sizeof *e);
                if (!ne) {
                    free(e);
                    return bl_fail(err, BL_ENOMEM, "out of memory");
                }
                e = ne;
                cap *= 2;
            }
            e[n].person = (uint32_t)i;
            e[n].dup = (uint32_t)k;
            n++;
        }
    }
    /* Extract order says nothing about households or people. */
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)rng_below(&rs, i);
        entry t = e[i - 1];
        e[i - 1] = e[j];
        e[j] = t;
    }

    bl_atomic_file *f;
    bl_status st = open_out(outs, dir, file[source], &f, err);
    if (st != BL_OK) {
        free(e);
        return st;
    }
    csvout o = {f, bl_atomic_stream(f), "\n"};
    if (source == SYNTH_HOUSING) {
        /* An Excel export: byte-order mark and CRLF line ends. */
        o.eol = "\r\n";
        fputs("\xEF\xBB\xBF", o.fp);
    }
    static const char *const hdr_gp[] = {"PatientID", "NHSNumber", "Forename", "MiddleNames",
                                         "Surname", "DOB", "Sex", "Postcode", "PracticeCode",
                                         "EventDate", "EventType", "LTCCount", "Notes"};
    static const char *const hdr_sc[] = {"ClientRef", "ClientName", "DateOfBirth", "Gender",
                                         "NHSNo", "Postcode", "Ethnicity", "ServiceType",
                                         "EventType", "EventDate", "Notes"};
    static const char *const hdr_ho[] = {"TenancyRef", "Title", "FirstName", "LastName",
                                         "BirthDate", "Sex", "PostCode", "Tenure",
                                         "HouseholdSize", "EventType", "EventDate", "Notes"};
    static const char *const hdr_ed[] = {"UPN", "LegalSurname", "LegalForename",
                                         "PreferredSurname", "PreferredForename", "DOB",
                                         "Gender", "Postcode", "SchoolPhase", "SENStatus",
                                         "FreeSchoolMeals", "EventType", "EventDate", "Notes"};
    switch (source) {
    case SYNTH_GP: csv_row(&o, hdr_gp, 13); break;
    case SYNTH_SOCIAL_CARE: csv_row(&o, hdr_sc, 11); break;
    case SYNTH_HOUSING: csv_row(&o, hdr_ho, 12); break;
    default: csv_row(&o, hdr_ed, 14); break;
    }

    char what[48];
    sfmt(what, sizeof what, "synth: %s", file[source]);
    const int32_t ref = ref_day();
    for (size_t k = 0; k < n; k++) {
        const person *p = &S->pp[e[k].person];
        const household *h = &S->hh[p->household];
        int dup = (int)e[k].dup;
        rec rr;
        render_record(&c, p, dup, &rr);
        int age = age_at_ref(p->dob);

        /* Content: one event per record, after birth, in the last few years
           (duplicates are older registrations). */
        int32_t from = p->dob > ref - 9 * 365 ? p->dob : ref - 9 * 365;
        int32_t event = dup ? day_between(&rs, from - 2 * 365 > p->dob ? from - 2 * 365 : p->dob, ref - 2 * 365)
                            : day_between(&rs, from, ref);
        if (event < p->dob)
            event = p->dob;
        char rid[32], dob[32], evd[32], sex[16], notes[512];
        record_id(source, (uint32_t)k, event, rid, sizeof rid);
        sex_code(source, &rs, rr.sex, sex, sizeof sex);
        make_notes(S, &rs, source, p, &rr, notes, sizeof notes);

        char pid[24];
        sfmt(pid, sizeof pid, "P%07u", e[k].person + 1);
        const char *trow[3] = {SRC[source].name, rid, pid};
        csv_row(truth, trow, 3);

        switch (source) {
        case SYNTH_GP: {
            if (rr.dob_missing)
                dob[0] = '\0';
            else
                fmt_date(dob, sizeof dob, DF_DMY_SLASH, rr.y, rr.m, rr.d, 0);
            fmt_day(evd, sizeof evd, DF_DMY_SLASH, event);
            static const char *const ev[5] = {"registration", "consultation",
                                              "long_term_condition_review", "immunisation",
                                              "medication_review"};
            static const unsigned evw[2][5] = {{30, 45, 5, 12, 8}, {15, 40, 30, 5, 10}};
            const char *et = dup ? "registration" : ev[pick_weighted(&rs, evw[age >= 50], 5)];
            char practice[16], ltc[8];
            sfmt(practice, sizeof practice, "K84%03u", (unsigned)(h->practice * 7 % 90 + 1));
            int nl = 0;
            for (int t = 0; t < 8; t++)
                nl += chance(&rs, age / 220.0);
            sfmt(ltc, sizeof ltc, "%d", nl);
            const char *row[13] = {rid, rr.nhs, rr.given, rr.middle, rr.family, dob, sex,
                                   rr.postcode, practice, evd, et, ltc, notes};
            csv_row(&o, row, 13);
            break;
        }
        case SYNTH_SOCIAL_CARE: {
            /* Mostly the case system's DD-Mon-YYYY (some upper case, as Oracle
               exports them); records migrated from the old system kept ISO. */
            int fmt = chance(&rs, 0.2) ? DF_ISO : DF_D_MON_Y;
            int upper = chance(&rs, 0.08);
            if (rr.dob_missing)
                dob[0] = '\0';
            else
                fmt_date(dob, sizeof dob, fmt, rr.y, rr.m, rr.d, upper);
            fmt_day(evd, sizeof evd, DF_D_MON_Y, event);
            char full[NAME_MAX_BYTES * 3 + 32];
            static const unsigned w[3] = {55, 30, 15};
            int form = pick_weighted(&rs, w, 3);
            if (form == 0) {
                /* "SURNAME, Given Middle" */
                char fam[NAME_MAX_BYTES];
                scopy(fam, sizeof fam, rr.family);
                if (chance(&rs, 0.85))
                    recase(fam, sizeof fam, 1);
                sfmt(full, sizeof full, "%s, %s%s%s", fam, rr.given, rr.middle[0] ? " " : "",
                     chance(&rs, 0.6) ? rr.middle : "");
                size_t L = strlen(full);
                while (L && full[L - 1] == ' ')
                    full[--L] = '\0';
                if (rr.title_in_name) {
                    size_t used = strlen(full);
                    sfmt(full + used, sizeof full - used, " (%s)", rr.title);
                }
            } else {
                const char *mid = form == 1 && rr.middle[0] ? rr.middle : "";
                sfmt(full, sizeof full, "%s%s%s%s%s%s", rr.title_in_name ? rr.title : "",
                     rr.title_in_name ? " " : "", rr.given, mid[0] ? " " : "", mid, "");
                size_t used = strlen(full);
                sfmt(full + used, sizeof full - used, " %s", rr.family);
            }
            static const char *const ev[5] = {"assessment", "care_package_start",
                                              "safeguarding_referral", "review",
                                              "care_package_end"};
            static const unsigned evw[5] = {35, 25, 12, 20, 8};
            const char *et = ev[pick_weighted(&rs, evw, 5)];
            static const char *const child_st[4] = {"Children in Need", "Child Protection",
                                                    "Looked After Child", "Early Help"};
            static const char *const adult_st[8] = {"Home Care", "Residential Care",
                                                    "Nursing Care", "Day Care",
                                                    "Direct Payment", "Reablement",
                                                    "Supported Living", "Carer Support"};
            const char *st2 = age < 18 ? child_st[rng_below(&rs, 4)]
                            : (p->flags & PF_CARE) ? (chance(&rs, 0.6) ? "Residential Care" : "Nursing Care")
                                                   : adult_st[rng_below(&rs, 8)];
            const char *row[11] = {rid, full, dob, sex, rr.nhs, rr.postcode,
                                   ethnicity_for(&rs, p->group), st2, et, evd, notes};
            csv_row(&o, row, 11);
            break;
        }
        case SYNTH_HOUSING: {
            if (rr.dob_missing)
                dob[0] = '\0';
            else
                fmt_date(dob, sizeof dob, DF_ISO, rr.y, rr.m, rr.d, 0);
            fmt_day(evd, sizeof evd, DF_ISO, event);
            char first[NAME_MAX_BYTES + 16], last[NAME_MAX_BYTES];
            if (rr.title_in_name)
                sfmt(first, sizeof first, "%s %s", rr.title, rr.given);
            else
                scopy(first, sizeof first, rr.given);
            scopy(last, sizeof last, rr.family);
            if (chance(&rs, 0.3)) { /* the legacy system stores upper case */
                recase(first, sizeof first, 1);
                recase(last, sizeof last, 1);
            }
            static const char *const ev[6] = {"tenancy_start", "homelessness_application",
                                              "repairs_request", "rent_arrears",
                                              "transfer_request", "tenancy_end"};
            static const unsigned evw[2][6] = {{5, 60, 25, 0, 0, 10}, {25, 5, 40, 15, 8, 7}};
            const char *et = ev[pick_weighted(&rs, evw[h->social_rent], 6)];
            static const char *const ten[5] = {"Council", "Housing Association",
                                               "Temporary Accommodation", "Private Rented",
                                               "Shared Ownership"};
            static const unsigned tw[2][5] = {{0, 0, 40, 55, 5}, {55, 45, 0, 0, 0}};
            const char *tenure = ten[pick_weighted(&rs, tw[h->social_rent], 5)];
            char hs[8];
            int size = (int)h->count + (chance(&rs, 0.1) ? (chance(&rs, 0.5) ? 1 : -1) : 0);
            sfmt(hs, sizeof hs, "%d", size < 1 ? 1 : size);
            const char *title = chance(&rs, 0.85) ? rr.title : "";
            const char *row[12] = {rid, title, first, last, dob, sex, rr.postcode, tenure, hs,
                                   et, evd, notes};
            csv_row(&o, row, 12);
            break;
        }
        default: {
            if (rr.dob_missing)
                dob[0] = '\0';
            else
                fmt_date(dob, sizeof dob, DF_DMY_SLASH, rr.y, rr.m, rr.d, 0);
            fmt_day(evd, sizeof evd, DF_DMY_SLASH, event);
            /* The name a child goes by, and the surname they use at school
               (often a step-parent's or the other parent's). */
            char pg[NAME_MAX_BYTES] = "", pf[NAME_MAX_BYTES] = "";
            if (p->known_as && chance(&re, 0.85))
                scopy(pg, sizeof pg, p->known_as);
            else if (chance(&re, 0.03)) {
                int32_t nk = smap_get(&S->nick, p->given);
                if (nk >= 0)
                    alt_get(synth_nicknames[nk].alts, 0, pg, sizeof pg);
            }
            if (p->alt_family && p->alt_kind == ALT_OTHER_PARENT && chance(&re, 0.35))
                scopy(pf, sizeof pf, p->alt_family);
            const char *phase = age <= 4 ? (age == 4 && chance(&rs, 0.6) ? "Primary" : "Nursery")
                              : age <= 10 ? "Primary" : age <= 15 ? "Secondary"
                              : age <= 19 ? "Post16" : "Adult";
            if (age >= 4 && age <= 19 && chance(&rs, 0.015))
                phase = "Special";
            static const char *const sen[3] = {"N", "K", "E"};
            static const unsigned senw[3] = {84, 13, 3};
            const char *senst = sen[pick_weighted(&rs, senw, 3)];
            if (!strcmp(phase, "Special"))
                senst = "E";
            const char *fsm = chance(&rs, h->social_rent || h->type == HH_LONE ? 0.45 : 0.12) ? "Y" : "N";
            static const char *const ev[5] = {"enrolment", "exclusion", "sen_assessment",
                                              "attendance_concern", "school_move"};
            static const unsigned evw[5] = {55, 6, 12, 17, 10};
            const char *et = dup ? "enrolment" : ev[pick_weighted(&rs, evw, 5)];
            const char *row[14] = {rid, rr.family, rr.given, pf, pg, dob, sex, rr.postcode,
                                   phase, senst, fsm, et, evd, notes};
            csv_row(&o, row, 14);
            break;
        }
        }
        if (progress && (k + 1) % 1000 == 0 && progress(user, what, k + 1, n)) {
            free(e);
            return bl_fail(err, BL_ECANCELLED, "cancelled");
        }
    }
    free(e);
    if (progress && n % 1000 && progress(user, what, n, n))
        return bl_fail(err, BL_ECANCELLED, "cancelled");
    return BL_OK;
}

/* ---------------------------------------------------------- profiles */

static bl_status write_json(outputs *outs, const char *dir, const char *name, json_t *root,
                            bl_error *err)
{
    if (!root)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_atomic_file *f;
    bl_status st = open_out(outs, dir, name, &f, err);
    if (st == BL_OK)
        st = bl_atomic_printf(f, err, "%s\n", text);
    free(text);
    return st;
}

static json_t *col(const char *column) { return json_pack("{s:s}", "column", column); }

static json_t *dob_col(const char *column, const char *f1, const char *f2)
{
    json_t *fm = f2 ? json_pack("[s,s]", f1, f2) : json_pack("[s]", f1);
    return json_pack("{s:s,s:o}", "column", column, "formats", fm);
}

/* Every synthetic holder attaches birth year and sex, derived by the encoder
   from the identifiers, so the controller can describe people by age band
   and sex under the agreement (which generalises them) without receiving a
   date of birth. */
static json_t *with_derived(json_t *profile)
{
    if (profile)
        json_object_set_new(profile, "derived_content", json_pack("[s,s]", "BirthYear", "Sex"));
    return profile;
}

static bl_status write_profiles(outputs *outs, const char *dir, bl_error *err)
{
    json_t *gp = with_derived(json_pack(
        "{s:s,s:s,s:s,s:{s:s,s:b},s:{s:o,s:o,s:o,s:o,s:o,s:o},s:[s,s,s,s,s]}",
        "source", "gp", "description",
        "GP practice register extract (NHS numbers mostly present; DD/MM/YYYY dates)",
        "record_id", "PatientID", "csv", "separator", ",", "skip_initial_space", 0, "fields",
        "given_name", col("Forename"), "family_name", col("Surname"), "dob",
        dob_col("DOB", "%d/%m/%Y", NULL), "sex", col("Sex"), "postcode", col("Postcode"),
        "nhs_number", col("NHSNumber"), "content", "EventDate", "EventType", "PracticeCode",
        "LTCCount", "Notes"));
    bl_status st = write_json(outs, dir, "gp.profile.json", gp, err);
    if (st != BL_OK)
        return st;
    json_t *sc = with_derived(json_pack(
        "{s:s,s:s,s:s,s:{s:s,s:b},s:{s:o,s:o,s:o,s:o},s:{s:s,s:s,s:s},s:[s,s,s,s,s]}",
        "source", "social_care", "description",
        "Adult and children's social care case records (one full-name column)", "record_id",
        "ClientRef", "csv", "separator", ",", "skip_initial_space", 0, "fields", "dob",
        dob_col("DateOfBirth", "%d-%b-%Y", "%Y-%m-%d"), "sex", col("Gender"), "postcode",
        col("Postcode"), "nhs_number", col("NHSNo"), "full_name", "column", "ClientName",
        "given", "given_name", "family", "family_name", "content", "EventDate", "EventType",
        "ServiceType", "Ethnicity", "Notes"));
    st = write_json(outs, dir, "social_care.profile.json", sc, err);
    if (st != BL_OK)
        return st;
    json_t *ho = with_derived(json_pack(
        "{s:s,s:s,s:s,s:{s:s,s:b},s:{s:o,s:o,s:o,s:o,s:o},s:[s,s,s,s,s]}",
        "source", "housing", "description",
        "Housing tenancy and homelessness records (no NHS number; Excel export with BOM and CRLF)",
        "record_id", "TenancyRef", "csv", "separator", ",", "skip_initial_space", 0, "fields",
        "given_name", col("FirstName"), "family_name", col("LastName"), "dob",
        dob_col("BirthDate", "%Y-%m-%d", NULL), "sex", col("Sex"), "postcode", col("PostCode"),
        "content", "EventDate", "EventType", "Tenure", "HouseholdSize", "Notes"));
    st = write_json(outs, dir, "housing.profile.json", ho, err);
    if (st != BL_OK)
        return st;
    json_t *ed = with_derived(json_pack(
        "{s:s,s:s,s:s,s:{s:s,s:b},s:{s:o,s:o,s:o,s:o,s:o},s:[s,s,s,s,s,s]}",
        "source", "education", "description",
        "School census style pupil records (legal names; no NHS number)", "record_id", "UPN",
        "csv", "separator", ",", "skip_initial_space", 0, "fields", "given_name",
        col("LegalForename"), "family_name", col("LegalSurname"), "dob",
        dob_col("DOB", "%d/%m/%Y", NULL), "sex", col("Gender"), "postcode", col("Postcode"),
        "content", "EventDate", "EventType", "SchoolPhase", "SENStatus", "FreeSchoolMeals",
        "Notes"));
    return write_json(outs, dir, "education.profile.json", ed, err);
}

static const char readme_text[] =
    "Synthetic extracts written by `bloomlink synth` (all people are invented).\n"
    "\n"
    "gp.csv, social_care.csv, housing.csv, education.csv\n"
    "    Four data holders' extracts of one population (Oxfordshire-like), each\n"
    "    with its own columns, date format, sex codes and record ids, and the\n"
    "    errors its kind of system makes: typos, nicknames and known-as names,\n"
    "    spelling variants, married and maiden names, swapped names, titles,\n"
    "    accents, day/month swaps and placeholder birth dates, old addresses,\n"
    "    missing or mistyped NHS numbers, duplicates within a source.\n"
    "    RFC 4180 CSV in UTF-8; housing.csv is an Excel-style export (BOM, CRLF).\n"
    "    Notes is free text that names people: it must never reach outputs.\n"
    "<source>.profile.json\n"
    "    Source profiles: which columns feed which linkage-schema field, the\n"
    "    date formats, the record-id column and the content columns.\n"
    "schema.json\n"
    "    The default linkage schema (bl_schema_default_json).\n"
    "truth.csv\n"
    "    source,record_id,person_id for every row of every extract: the answer\n"
    "    key for evaluation.  Keep it away from anything being evaluated.\n"
    "optout.csv\n"
    "    NHS numbers of people who registered a national data opt-out.\n";

static int mkdir_p(const char *dir)
{
    char buf[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return -1;
            buf[i] = c;
        }
    }
    struct stat st;
    return stat(dir, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* ------------------------------------------------------------ public API */

void bl_synth_options_default(bl_synth_options *opt)
{
    if (!opt)
        return;
    memset(opt, 0, sizeof *opt);
    opt->people = 20000;
    opt->seed = 1;
    opt->error_rate = 1.0;
}

bl_status bl_synth_write(const bl_synth_options *opt, const char *dir, bl_progress_fn progress,
                         void *progress_user, bl_error *err)
{
    if (!opt || !dir || !*dir)
        return bl_fail(err, BL_EMISUSE, "bl_synth_write: options and directory are required");
    if (opt->people == 0 || opt->people > 50000000ull)
        return bl_fail(err, BL_EMISUSE, "people must be between 1 and 50,000,000");
    if (!(opt->error_rate >= 0 && opt->error_rate <= 20))
        return bl_fail(err, BL_EMISUSE, "error_rate must be between 0 and 20");
    if (mkdir_p(dir) != 0)
        return bl_fail_at(err, BL_EIO, dir, -1, -1, NULL, "cannot create directory: %s",
                          strerror(errno));
    const char *schema = bl_schema_default_json();
    if (!schema)
        return bl_fail(err, BL_ESCHEMA, "no default schema");

    synth S;
    memset(&S, 0, sizeof S);
    S.opt = opt;
    S.rate = opt->error_rate;
    S.target = opt->people;
    outputs outs = {{0}, 0};
    rng rt;
    rng_seed(&rt, opt->seed, 3);
    bl_status st = init_tables(&S, &rt, err);
    if (st == BL_OK)
        st = build_population(&S, progress, progress_user, err);

    bl_atomic_file *tf = NULL;
    if (st == BL_OK)
        st = open_out(&outs, dir, "truth.csv", &tf, err);
    csvout truth = {tf, tf ? bl_atomic_stream(tf) : NULL, "\n"};
    if (st == BL_OK) {
        static const char *const th[3] = {"source", "record_id", "person_id"};
        csv_row(&truth, th, 3);
    }
    for (int s = 0; s < SYNTH_NSOURCES && st == BL_OK; s++)
        st = write_source(&S, s, dir, &outs, &truth, progress, progress_user, err);

    if (st == BL_OK) {
        /* About 5% of people have registered a national data opt-out. */
        bl_atomic_file *of;
        st = open_out(&outs, dir, "optout.csv", &of, err);
        if (st == BL_OK) {
            rng ro;
            rng_seed(&ro, opt->seed, 4);
            csvout oo = {of, bl_atomic_stream(of), "\n"};
            static const char *const oh[1] = {"nhs_number"};
            csv_row(&oo, oh, 1);
            for (size_t i = 0; i < S.np; i++) {
                if (!chance(&ro, 0.05))
                    continue;
                char ten[16];
                sfmt(ten, sizeof ten, "%010llu", (unsigned long long)S.pp[i].nhs);
                const char *row[1] = {ten};
                csv_row(&oo, row, 1);
            }
        }
    }
    if (st == BL_OK) {
        bl_atomic_file *sf;
        st = open_out(&outs, dir, "schema.json", &sf, err);
        if (st == BL_OK)
            st = bl_atomic_write(sf, schema, strlen(schema), err);
    }
    if (st == BL_OK)
        st = write_profiles(&outs, dir, err);
    if (st == BL_OK) {
        bl_atomic_file *rf;
        st = open_out(&outs, dir, "README.txt", &rf, err);
        if (st == BL_OK)
            st = bl_atomic_write(rf, readme_text, sizeof readme_text - 1, err);
    }
    synth_free(&S);
    /* Everything was written to temp files; only now do they take their names. */
    int i = 0;
    for (; i < outs.n && st == BL_OK; i++)
        st = bl_atomic_commit(outs.f[i], err);
    for (; i < outs.n; i++)
        bl_atomic_abort(outs.f[i]);
    return st;
}
