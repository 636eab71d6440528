/* emit.c - the pseudonymised longitudinal dataset, under a signed agreement.
 *
 * Flow: verify the agreement (every party signed this exact text, in force
 * today) -> load the link map and the opt-out tokens -> read each content
 * file, keeping only the columns the agreement names, generalised before they
 * are stored anywhere -> give every entity a project pseudonym -> drop every
 * entity with an opted-out record -> write person, event and provenance
 * tables (SQLite or CSV) or a suppressed aggregate -> append to the audit log.
 *
 * Working tables (link map, tokens, staged rows) live in a separate temporary
 * SQLite database that SQLite deletes on close, so neither record tokens nor
 * entity ids can survive in the output's free pages.  The output is built
 * under a temp name in the destination directory and renamed into place only
 * when complete: a crash at any point leaves no dataset at the output path.
 */
#include "config.h"

#include "emit.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "dsa.h"
#include "error.h"
#include "io.h"
#include "key.h"
#include "suppress.h"

#define ENTITY_MAX 128
#define VALUE_MAX 256

/* ---------------------------------------------------------- string builder */

void bl_sb_printf(bl_sb *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 256;
        while (nc < b->len + (size_t)n + 1)
            nc *= 2;
        char *ns = realloc(b->s, nc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->cap = nc;
    }
}

void bl_sb_free(bl_sb *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

/* -------------------------------------------------------------- pseudonyms */

bl_status bl_pseudonym_raw(const uint8_t *key, size_t key_len, const char *project_id,
                           const char *entity_id, char *hex33, bl_error *err)
{
    /* HMAC-SHA256(project key, project id || 0x00 || entity id): the NUL keeps
       ("ab","c") and ("a","bc") apart; a different project id or key gives
       unrelated pseudonyms, so two projects' datasets cannot be joined. */
    size_t pl = strlen(project_id), el = strlen(entity_id);
    if (pl > 256 || el > ENTITY_MAX)
        return bl_fail(err, BL_EINVALID, "project or entity id too long");
    uint8_t msg[256 + 1 + ENTITY_MAX], mac[32];
    memcpy(msg, project_id, pl);
    msg[pl] = 0;
    memcpy(msg + pl + 1, entity_id, el);
    bl_status st = bl_hmac_sha256(key, key_len, msg, pl + 1 + el, mac, err);
    if (st == BL_OK)
        bl_hex(mac, 16, hex33);
    bl_wipe(mac, sizeof mac);
    return st;
}

bl_status bl_pseudonym(const bl_key *project_key, const char *project_id, const char *entity_id,
                       char *hex33, bl_error *err)
{
    if (!project_key || !project_id || !entity_id || !hex33)
        return bl_fail(err, BL_EMISUSE, "bl_pseudonym needs a key, a project id and an entity id");
    return bl_pseudonym_raw(project_key->bytes, BL_KEY_BYTES, project_id, entity_id, hex33, err);
}

/* ---------------------------------------------------------------- options */

void bl_emit_options_default(bl_emit_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->format = BL_EMIT_SQLITE;
}

void bl_emit_result_clear(bl_emit_result *res)
{
    if (!res)
        return;
    free(res->report_json);
    memset(res, 0, sizeof *res);
}

/* ---------------------------------------------------------------- context */

typedef struct emit_ctx {
    const bl_emit_options *opt;
    bl_emit_result *res;
    bl_dsa *dsa;
    bl_key *pkey;
    sqlite3 *db;
    char *tmp_path;  /* SQLite or CSV output under construction */
    int tmp_is_dir;
    char **ev_attr;  /* event attribute output names, DSA order */
    size_t nev;
    char **p_attr;   /* person attribute output names */
    size_t npa;
    int *supplied;   /* per DSA source: a content file was given */
    uint64_t staged;
    char prev_head[BL_FINGERPRINT_HEX + 1];
    uint64_t prev_entries;
    json_t *inputs, *outputs, *counts, *columns, *mix, *aggregate;
    sqlite3_stmt *ins_ev, *ins_pa;
} emit_ctx;

static void count_set(emit_ctx *c, const char *name, uint64_t v)
{
    json_object_set_new(c->counts, name, json_integer((json_int_t)v));
}

static bl_status sql_fail(emit_ctx *c, bl_error *err, const char *what)
{
    int rc = c->db ? sqlite3_errcode(c->db) : SQLITE_ERROR;
    return bl_fail(err, rc == SQLITE_NOMEM ? BL_ENOMEM : BL_EIO, "SQLite (%s): %s", what,
                   c->db ? sqlite3_errmsg(c->db) : "no database");
}

static bl_status sql_exec(emit_ctx *c, const char *sql, bl_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) == SQLITE_OK)
        return BL_OK;
    bl_status st = bl_fail(err, BL_EIO, "SQLite: %s", msg ? msg : "error");
    sqlite3_free(msg);
    return st;
}

static bl_status sql_exec_sb(emit_ctx *c, bl_sb *b, bl_error *err)
{
    if (b->oom)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_status st = sql_exec(c, b->s, err);
    bl_sb_free(b);
    return st;
}

static int64_t sql_int(emit_ctx *c, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static int add_name(char ***list, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*list)[i], name))
            return 0;
    char **nl = realloc(*list, (*n + 1) * sizeof *nl);
    if (!nl)
        return -1;
    *list = nl;
    if (!(nl[*n] = strdup(name)))
        return -1;
    (*n)++;
    return 0;
}

static int name_index(char **list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(list[i], name))
            return (int)i;
    return -1;
}

/* Record an input file: role, source, name and SHA-256. */
static bl_status note_file_as(emit_ctx *c, json_t *list, const char *role, const char *source,
                              const char *path, const char *shown, bl_error *err)
{
    char hex[BL_FINGERPRINT_HEX + 1];
    bl_status st = bl_sha256_file(path, hex, err);
    if (st != BL_OK)
        return st;
    (void)c;
    json_t *o = json_pack("{s:s, s:s, s:s}", "role", role, "file", bl_audit_basename(shown),
                          "sha256", hex);
    if (o && source)
        json_object_set_new(o, "source", json_string(source));
    if (!o || json_array_append_new(list, o) != 0)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    return BL_OK;
}

static bl_status note_file(emit_ctx *c, json_t *list, const char *role, const char *source,
                           const char *path, bl_error *err)
{
    return note_file_as(c, list, role, source, path, path, err);
}

static int valid_token(const char *in, char *out33)
{
    if (strlen(in) != 32)
        return 0;
    for (int i = 0; i < 32; i++) {
        char ch = in[i];
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')))
            return 0;
        out33[i] = ch;
    }
    out33[32] = '\0';
    return 1;
}

static int find_col(char **fields, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(fields[i], name))
            return (int)i;
    return -1;
}

/* ------------------------------------------------------ SQL pseudonym hook */

static void sql_pseudonym(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    emit_ctx *c = sqlite3_user_data(ctx);
    (void)argc;
    const unsigned char *e = sqlite3_value_text(argv[0]);
    char hex[33];
    bl_error err;
    bl_error_clear(&err);
    if (!e || bl_pseudonym(c->pkey, c->dsa->project_id, (const char *)e, hex, &err) != BL_OK) {
        sqlite3_result_error(ctx, "pseudonym failed", -1);
        return;
    }
    sqlite3_result_text(ctx, hex, 32, SQLITE_TRANSIENT);
}

/* Test hook: count rows written (staged, then final); fail like a full disk
   once the count reaches opt->fail_after_rows. */
static bl_status tick(emit_ctx *c, uint64_t rows, bl_error *err)
{
    c->staged += rows;
    if (c->opt->fail_after_rows && c->staged >= c->opt->fail_after_rows)
        return bl_fail_at(err, BL_EIO, c->opt->out_path, -1, -1, NULL,
                          "simulated failure after %llu rows (test hook)",
                          (unsigned long long)c->staged);
    return BL_OK;
}

/* ------------------------------------------------------------------ inputs */

static bl_status load_linkmap(emit_ctx *c, bl_error *err)
{
    const char *path = c->opt->linkmap_path;
    bl_csv_reader *r;
    bl_status st = bl_csv_open(path, ',', 0, &r, err);
    if (st != BL_OK)
        return st;
    char **f;
    size_t nf;
    sqlite3_stmt *ins = NULL;
    uint64_t rows = 0, other = 0;
    st = bl_csv_next(r, &f, &nf, err);
    if (st == BL_OK && !f)
        st = bl_fail_at(err, BL_EPARSE, path, 1, -1, NULL, "empty link map");
    int cs = -1, ct = -1, ce = -1;
    if (st == BL_OK) {
        cs = find_col(f, nf, "source");
        ct = find_col(f, nf, "record_token");
        ce = find_col(f, nf, "entity_id");
        if (cs < 0 || ct < 0 || ce < 0)
            st = bl_fail_at(err, BL_EPARSE, path, 1, -1, NULL,
                            "a link map needs the columns source, record_token and entity_id");
    }
    if (st == BL_OK && sqlite3_prepare_v2(c->db, "INSERT INTO stage.lm VALUES (?1, ?2, ?3, ?4)", -1,
                                          &ins, NULL) != SQLITE_OK)
        st = sql_fail(c, err, "link map");
    while (st == BL_OK) {
        st = bl_csv_next(r, &f, &nf, err);
        if (st != BL_OK || !f)
            break;
        long line = bl_csv_line(r);
        if (nf == 1 && !f[0][0])
            continue; /* blank line */
        size_t need = (size_t)(cs > ct ? (cs > ce ? cs : ce) : (ct > ce ? ct : ce)) + 1;
        char tok[33];
        if (nf < need) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, NULL, "row has %zu fields, expected %zu",
                            nf, need);
            break;
        }
        if (!valid_token(f[ct], tok)) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "record_token",
                            "not a record token (32 hex digits)");
            break;
        }
        size_t el = strlen(f[ce]);
        if (el == 0 || el > ENTITY_MAX) {
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "entity_id", "empty or longer than %d",
                            ENTITY_MAX);
            break;
        }
        rows++;
        int si = bl_dsa_source_index(c->dsa, f[cs]);
        if (si < 0) {
            other++; /* a source the agreement does not cover: never used */
            continue;
        }
        sqlite3_bind_text(ins, 1, f[cs], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, tok, 32, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 3, f[ce], (int)el, SQLITE_TRANSIENT);
        sqlite3_bind_int(ins, 4, c->supplied[si]);
        int rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc == SQLITE_CONSTRAINT)
            st = bl_fail_at(err, BL_EPARSE, path, line, -1, "record_token",
                            "the same record token appears twice in the link map");
        else if (rc != SQLITE_DONE)
            st = sql_fail(c, err, "link map");
    }
    sqlite3_finalize(ins);
    bl_csv_close(r);
    count_set(c, "linkmap_rows", rows);
    count_set(c, "linkmap_rows_other_sources", other);
    c->res->linkmap_rows = rows;
    return st;
}

static bl_status load_optout(emit_ctx *c, const bl_emit_input *in, bl_error *err)
{
    bl_csv_reader *r;
    bl_status st = bl_csv_open(in->path, ',', 0, &r, err);
    if (st != BL_OK)
        return st;
    char **f;
    size_t nf;
    sqlite3_stmt *ins = NULL;
    st = bl_csv_next(r, &f, &nf, err);
    int ct = -1, cs = -1;
    if (st == BL_OK && f) {
        ct = find_col(f, nf, "record_token");
        cs = find_col(f, nf, "source");
    }
    if (st == BL_OK && ct < 0)
        st = bl_fail_at(err, BL_EPARSE, in->path, 1, -1, NULL,
                        "an opt-out file needs a record_token column (bloomlink optout writes one)");
    if (st == BL_OK && sqlite3_prepare_v2(c->db, "INSERT OR IGNORE INTO stage.oo VALUES (?1, ?2)", -1,
                                          &ins, NULL) != SQLITE_OK)
        st = sql_fail(c, err, "opt-out");
    while (st == BL_OK) {
        st = bl_csv_next(r, &f, &nf, err);
        if (st != BL_OK || !f)
            break;
        if (nf == 1 && !f[0][0])
            continue;
        long line = bl_csv_line(r);
        char tok[33];
        if ((size_t)ct >= nf || !valid_token(f[ct], tok)) {
            st = bl_fail_at(err, BL_EPARSE, in->path, line, -1, "record_token",
                            "not a record token (32 hex digits)");
            break;
        }
        if (cs >= 0 && (size_t)cs < nf && strcmp(f[cs], in->source)) {
            st = bl_fail_at(err, BL_EMISMATCH, in->path, line, -1, "source",
                            "token of source '%s' in the opt-out file given for '%s'", f[cs],
                            in->source);
            break;
        }
        sqlite3_bind_text(ins, 1, in->source, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, tok, 32, SQLITE_TRANSIENT);
        if (sqlite3_step(ins) != SQLITE_DONE)
            st = sql_fail(c, err, "opt-out");
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    bl_csv_close(r);
    return st;
}

/* Read one content file into the staging tables, generalising as we go. */
static bl_status load_content(emit_ctx *c, const bl_emit_input *in, bl_error *err)
{
    int si = bl_dsa_source_index(c->dsa, in->source);
    const bl_dsa_source *s = &c->dsa->sources[si];
    bl_csv_reader *r;
    bl_status st = bl_csv_open(in->path, ',', 0, &r, err);
    if (st != BL_OK)
        return st;
    char **f;
    size_t nf;
    st = bl_csv_next(r, &f, &nf, err);
    if (st == BL_OK && !f)
        st = bl_fail_at(err, BL_EPARSE, in->path, 1, -1, NULL, "empty content file");
    int ct = -1;
    size_t ncols = 0;
    int *rule = NULL;      /* header column -> DSA column rule, -1 if none */
    int *slot = NULL;      /* header column -> event attribute slot or person attribute */
    if (st == BL_OK) {
        ncols = nf;
        ct = find_col(f, nf, "record_token");
        if (ct < 0)
            st = bl_fail_at(err, BL_EPARSE, in->path, 1, -1, NULL,
                            "a content file needs a record_token column");
    }
    if (st == BL_OK && (!(rule = calloc(ncols, sizeof *rule)) || !(slot = calloc(ncols, sizeof *slot))))
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    int date_seen = 0;
    for (size_t i = 0; st == BL_OK && i < ncols; i++) {
        rule[i] = slot[i] = -1;
        if ((int)i == ct)
            continue;
        for (size_t j = 0; j < s->ncols; j++)
            if (!strcmp(s->cols[j].column, f[i]))
                rule[i] = (int)j;
        if (rule[i] < 0) {
            /* Reported, never passed on: the agreement decides what leaves. */
            json_array_append_new(json_object_get(c->columns, "undeclared"),
                                  json_pack("{s:s, s:s}", "source", in->source, "column", f[i]));
            c->res->undeclared_columns++;
            continue;
        }
        const bl_dsa_column *dc = &s->cols[rule[i]];
        if (dc->use == BL_USE_EVENT)
            slot[i] = name_index(c->ev_attr, c->nev, dc->as);
        else if (dc->use == BL_USE_PERSON)
            slot[i] = name_index(c->p_attr, c->npa, dc->as);
        else if (dc->use == BL_USE_EVENT_DATE)
            date_seen = 1;
        else if (dc->use == BL_USE_DROP)
            json_array_append_new(json_object_get(c->columns, "dropped"),
                                  json_pack("{s:s, s:s}", "source", in->source, "column", f[i]));
    }
    for (size_t j = 0; st == BL_OK && j < s->ncols; j++) {
        int present = 0;
        for (size_t i = 0; i < ncols; i++)
            present |= rule[i] == (int)j;
        if (!present)
            json_array_append_new(json_object_get(c->columns, "missing"),
                                  json_pack("{s:s, s:s}", "source", in->source, "column",
                                            s->cols[j].column));
    }
    if (st == BL_OK && !date_seen)
        st = bl_fail_at(err, BL_ESCHEMA, in->path, 1, -1, NULL,
                        "the agreement's event date column for '%s' is missing", in->source);

    uint64_t rows = 0, bad_tokens = 0, invalid = 0;
    while (st == BL_OK) {
        st = bl_csv_next(r, &f, &nf, err);
        if (st != BL_OK || !f)
            break;
        if (nf == 1 && !f[0][0])
            continue;
        long line = bl_csv_line(r);
        if (nf != ncols) {
            st = bl_fail_at(err, BL_EPARSE, in->path, line, -1, NULL, "row has %zu fields, header %zu",
                            nf, ncols);
            break;
        }
        char tok[33];
        if (!valid_token(f[ct], tok)) {
            bad_tokens++;
            continue;
        }
        rows++;
        sqlite3_stmt *ev = c->ins_ev;
        sqlite3_bind_text(ev, 1, in->source, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ev, 2, tok, 32, SQLITE_TRANSIENT);
        sqlite3_bind_int(ev, 3, si);
        for (int k = 4; k <= 5 + (int)c->nev; k++)
            sqlite3_bind_null(ev, k);
        for (size_t i = 0; i < ncols; i++) {
            if (rule[i] < 0)
                continue;
            const bl_dsa_column *dc = &s->cols[rule[i]];
            if (dc->use == BL_USE_DROP)
                continue; /* free text and the like: not even staged */
            char v[VALUE_MAX];
            int bad;
            bl_dsa_generalise(c->dsa, s, dc, f[i], v, sizeof v, &bad);
            invalid += (uint64_t)bad;
            if (!v[0])
                continue;
            switch (dc->use) {
            case BL_USE_EVENT_DATE:
                sqlite3_bind_text(ev, 4, v, -1, SQLITE_TRANSIENT);
                break;
            case BL_USE_EVENT_TYPE:
                sqlite3_bind_text(ev, 5, v, -1, SQLITE_TRANSIENT);
                break;
            case BL_USE_EVENT:
                sqlite3_bind_text(ev, 6 + slot[i], v, -1, SQLITE_TRANSIENT);
                break;
            case BL_USE_PERSON: {
                sqlite3_stmt *pa = c->ins_pa;
                sqlite3_bind_text(pa, 1, in->source, -1, SQLITE_TRANSIENT);
                sqlite3_bind_text(pa, 2, tok, 32, SQLITE_TRANSIENT);
                sqlite3_bind_int(pa, 3, si);
                sqlite3_bind_int(pa, 4, slot[i]);
                sqlite3_bind_text(pa, 5, v, -1, SQLITE_TRANSIENT);
                int rc = sqlite3_step(pa);
                sqlite3_reset(pa);
                if (rc != SQLITE_DONE)
                    st = sql_fail(c, err, "content");
                break;
            }
            case BL_USE_DROP:
                break;
            }
        }
        if (st == BL_OK && sqlite3_step(ev) != SQLITE_DONE)
            st = sql_fail(c, err, "content");
        sqlite3_reset(ev);
        if (st == BL_OK)
            st = tick(c, 1, err);
        if (st == BL_OK && c->opt->progress && (c->staged & 0xffff) == 0 &&
            c->opt->progress(c->opt->progress_user, "content rows", c->staged, 0))
            st = bl_fail(err, BL_ECANCELLED, "cancelled");
    }
    bl_csv_close(r);
    free(rule);
    free(slot);
    char key[96];
    snprintf(key, sizeof key, "content_rows.%s", in->source);
    count_set(c, key, rows);
    snprintf(key, sizeof key, "content_rows_bad_token.%s", in->source);
    count_set(c, key, bad_tokens);
    snprintf(key, sizeof key, "values_not_generalisable.%s", in->source);
    count_set(c, key, invalid);
    c->res->content_rows += rows;
    c->res->invalid_values += invalid;
    return st;
}

/* ------------------------------------------------------------- staging */

static bl_status create_staging(emit_ctx *c, bl_error *err)
{
    bl_status st = sql_exec(c, "ATTACH DATABASE '' AS stage;"
                               "PRAGMA stage.journal_mode=OFF; PRAGMA stage.synchronous=OFF;"
                               /* The staging joins revisit pages at random:
                                  a larger cache avoids re-reading them (it
                                  only grows as far as the data needs). */
                               "PRAGMA stage.cache_size=-262144;"
                               "CREATE TABLE stage.lm(source TEXT NOT NULL, token TEXT NOT NULL,"
                               " entity TEXT NOT NULL, used INTEGER NOT NULL,"
                               " PRIMARY KEY(source, token)) WITHOUT ROWID;"
                               "CREATE TABLE stage.oo(source TEXT NOT NULL, token TEXT NOT NULL,"
                               " PRIMARY KEY(source, token)) WITHOUT ROWID;"
                               "CREATE TABLE stage.pa(source TEXT, token TEXT, srank INTEGER,"
                               " attr INTEGER, value TEXT);",
                            err);
    if (st != BL_OK)
        return st;
    bl_sb b = {0};
    bl_sb_printf(&b, "CREATE TABLE stage.ev(source TEXT, token TEXT, srank INTEGER, event_date TEXT,"
                     " event_type TEXT");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", a%zu TEXT", i);
    bl_sb_printf(&b, ");");
    if ((st = sql_exec_sb(c, &b, err)) != BL_OK)
        return st;
    bl_sb_printf(&b, "INSERT INTO stage.ev VALUES (?1, ?2, ?3, ?4, ?5");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", ?%zu", 6 + i);
    bl_sb_printf(&b, ")");
    if (b.oom)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    int rc = sqlite3_prepare_v2(c->db, b.s, -1, &c->ins_ev, NULL);
    bl_sb_free(&b);
    if (rc != SQLITE_OK ||
        sqlite3_prepare_v2(c->db, "INSERT INTO stage.pa VALUES (?1, ?2, ?3, ?4, ?5)", -1, &c->ins_pa,
                           NULL) != SQLITE_OK)
        return sql_fail(c, err, "staging");
    return BL_OK;
}

/* Per-source counts from a "SELECT source, count(*) ... GROUP BY source". */
static bl_status count_by_source(emit_ctx *c, const char *sql, const char *prefix, uint64_t *total,
                                 bl_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(c->db, sql, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(c, err, "counts");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char key[128];
        snprintf(key, sizeof key, "%s.%s", prefix, (const char *)sqlite3_column_text(s, 0));
        uint64_t n = (uint64_t)sqlite3_column_int64(s, 1);
        count_set(c, key, n);
        if (total)
            *total += n;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BL_OK : sql_fail(c, err, "counts");
}

/*
 * An opt-out list that matches none of its source's records in the link map
 * was made with another key or another extract: the opt-out could not be
 * applied, so the run stops rather than emit people who objected.
 */
static bl_status check_optout_applies(emit_ctx *c, bl_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(c->db,
                           "SELECT oo.source, count(*), count(lm.entity) FROM stage.oo oo"
                           " LEFT JOIN stage.lm lm ON lm.source = oo.source AND lm.token = oo.token"
                           " GROUP BY 1", -1, &s, NULL) != SQLITE_OK)
        return sql_fail(c, err, "opt-out");
    bl_status st = BL_OK;
    while (st == BL_OK && sqlite3_step(s) == SQLITE_ROW) {
        const char *src = (const char *)sqlite3_column_text(s, 0);
        int64_t n = sqlite3_column_int64(s, 1), linked = sqlite3_column_int64(s, 2);
        char key[128];
        snprintf(key, sizeof key, "optout.tokens.%s", src);
        count_set(c, key, (uint64_t)n);
        snprintf(key, sizeof key, "optout.tokens_in_linkmap.%s", src);
        count_set(c, key, (uint64_t)linked);
        if (n > 0 && linked == 0)
            st = bl_fail(err, BL_EMISMATCH,
                         "none of the %lld opt-out tokens of '%s' is in the link map: were they made "
                         "with another linkage key or another extract?  The opt-out cannot be "
                         "applied, so nothing is emitted", (long long)n, src);
    }
    sqlite3_finalize(s);
    return st;
}

/* Entities, opt-out flags and the person staging table. */
static bl_status build_people(emit_ctx *c, bl_error *err)
{
    const bl_dsa *d = c->dsa;
    bl_status st = check_optout_applies(c, err);
    if (st != BL_OK)
        return st;
    bl_sb b = {0};
    /* Resolve each staged row's entity once; every later step joins on it. */
    bl_sb_printf(&b, "CREATE TABLE stage.evx AS SELECT lm.entity AS entity, ev.* FROM stage.ev ev"
                     " LEFT JOIN stage.lm lm ON lm.source = ev.source AND lm.token = ev.token;"
                     "DROP TABLE stage.ev;"
                     "CREATE INDEX stage.evx_entity ON evx(entity);"
                     "CREATE TABLE stage.ent AS SELECT entity, bl_pseudonym(entity) AS pseudonym,"
                     " 0 AS optout");
    for (size_t i = 0; i < d->nsources; i++)
        bl_sb_printf(&b, ", max(source = '%s' AND used) AS \"in_%s\"", d->sources[i].name,
                     d->sources[i].name);
    bl_sb_printf(&b, " FROM stage.lm GROUP BY entity HAVING max(used) = 1;"
                     "CREATE UNIQUE INDEX stage.ent_entity ON ent(entity);"
                     "UPDATE stage.ent SET optout = 1 WHERE entity IN (SELECT lm.entity FROM stage.lm lm"
                     " JOIN stage.oo oo ON oo.source = lm.source AND oo.token = lm.token);"
                     "CREATE TABLE stage.pav AS SELECT lm.entity AS entity, pa.attr AS attr,"
                     " pa.value AS value, count(*) AS n, min(pa.srank) AS r FROM stage.pa pa"
                     " JOIN stage.lm lm ON lm.source = pa.source AND lm.token = pa.token"
                     " GROUP BY 1, 2, 3;"
                     "CREATE INDEX stage.pav_entity ON pav(entity, attr);"
                     "CREATE TABLE stage.evc AS SELECT entity, count(*) AS n FROM stage.evx"
                     " WHERE entity IS NOT NULL GROUP BY 1;"
                     "CREATE UNIQUE INDEX stage.evc_entity ON evc(entity);");
    /* A person-level value is the most frequent one over the person's
       records; ties go to the source listed first in the agreement, then to
       the smaller value. */
    bl_sb_printf(&b, "CREATE TABLE stage.ps AS SELECT e.entity AS entity, e.pseudonym AS pseudonym,"
                     " e.optout AS optout, rtrim(''");
    for (size_t i = 0; i < d->nsources; i++)
        bl_sb_printf(&b, " || CASE WHEN e.\"in_%s\" THEN '%s+' ELSE '' END", d->sources[i].name,
                     d->sources[i].name);
    bl_sb_printf(&b, ", '+') AS sources");
    for (size_t i = 0; i < d->nsources; i++)
        bl_sb_printf(&b, ", e.\"in_%s\" AS \"in_%s\"", d->sources[i].name, d->sources[i].name);
    bl_sb_printf(&b, ", coalesce(v.n, 0) AS n_events");
    for (size_t i = 0; i < c->npa; i++)
        bl_sb_printf(&b, ", (SELECT p.value FROM stage.pav p WHERE p.entity = e.entity AND p.attr = %zu"
                         " ORDER BY p.n DESC, p.r, p.value LIMIT 1) AS p%zu", i, i);
    bl_sb_printf(&b, " FROM stage.ent e LEFT JOIN stage.evc v ON v.entity = e.entity;");
    if ((st = sql_exec_sb(c, &b, err)) != BL_OK)
        return st;

    bl_emit_result *res = c->res;
    res->entities = (uint64_t)sql_int(c, "SELECT count(*) FROM stage.ent");
    res->persons = (uint64_t)sql_int(c, "SELECT count(*) FROM stage.ent WHERE optout = 0");
    res->optout_persons = (uint64_t)sql_int(c, "SELECT count(*) FROM stage.ent WHERE optout = 1");
    res->optout_tokens = (uint64_t)sql_int(c, "SELECT count(*) FROM stage.oo");
    res->optout_tokens_linked = (uint64_t)sql_int(
        c, "SELECT count(*) FROM stage.oo oo JOIN stage.lm lm ON lm.source = oo.source AND lm.token = oo.token");
    res->content_rows_unlinked =
        (uint64_t)sql_int(c, "SELECT count(*) FROM stage.evx WHERE entity IS NULL");
    res->events = (uint64_t)sql_int(
        c, "SELECT count(*) FROM stage.evx ev JOIN stage.ent e ON e.entity = ev.entity WHERE e.optout = 0");
    count_set(c, "entities", res->entities);
    count_set(c, "persons", res->persons);
    count_set(c, "events", res->events);
    count_set(c, "content_rows_without_link", res->content_rows_unlinked);
    count_set(c, "optout.tokens", res->optout_tokens);
    count_set(c, "optout.tokens_in_linkmap", res->optout_tokens_linked);
    count_set(c, "optout.removed_persons", res->optout_persons);
    st = count_by_source(c, "SELECT lm.source, count(*) FROM stage.lm lm JOIN stage.ent e"
                            " ON e.entity = lm.entity WHERE e.optout = 1 AND lm.used GROUP BY 1",
                         "optout.removed_records", &res->optout_records, err);
    if (st == BL_OK)
        st = count_by_source(c, "SELECT ev.source, count(*) FROM stage.evx ev JOIN stage.ent e"
                                " ON e.entity = ev.entity WHERE e.optout = 1 GROUP BY 1",
                             "optout.removed_events", &res->optout_events, err);
    return st;
}

/* ------------------------------------------------- suppressed tabulations */

/* Column of stage.ps that a dimension name refers to (written into col). */
static int dimension_column(emit_ctx *c, const char *name, char *col, size_t n)
{
    if (!strcmp(name, "sources")) {
        snprintf(col, n, "sources");
        return 0;
    }
    if (!strncmp(name, "in_", 3) && bl_dsa_source_index(c->dsa, name + 3) >= 0) {
        snprintf(col, n, "\"%s\"", name);
        return 0;
    }
    int i = name_index(c->p_attr, c->npa, name);
    if (i < 0)
        return -1;
    snprintf(col, n, "p%d", i);
    return 0;
}

typedef struct {
    char **v;
    size_t n;
} catlist;

static void catlist_free(catlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static bl_status load_categories(emit_ctx *c, const char *col, const char *where, catlist *out,
                                 bl_error *err)
{
    char q[256];
    snprintf(q, sizeof q, "SELECT DISTINCT coalesce(%s, 'unknown') FROM stage.ps %s ORDER BY 1", col,
             where);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(c->db, q, -1, &s, NULL) != SQLITE_OK)
        return sql_fail(c, err, "categories");
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        char **nv = realloc(out->v, (out->n + 1) * sizeof *nv);
        if (!nv) {
            sqlite3_finalize(s);
            return bl_fail(err, BL_ENOMEM, "out of memory");
        }
        out->v = nv;
        if (!(nv[out->n] = strdup((const char *)sqlite3_column_text(s, 0)))) {
            sqlite3_finalize(s);
            return bl_fail(err, BL_ENOMEM, "out of memory");
        }
        out->n++;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? BL_OK : sql_fail(c, err, "categories");
}

static size_t cat_index(const catlist *l, const char *v)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], v))
            return i;
    return SIZE_MAX;
}

/*
 * How opt-out changes the mix: for each dimension, people kept and removed
 * per category, as a category x {kept, removed} table whose row totals are
 * the people before opt-out.  The table goes through the same suppression
 * as any aggregate, so the report cannot reveal a small group of objectors.
 */
static bl_status optout_mix(emit_ctx *c, const char *dim, bl_error *err)
{
    char col[64];
    if (dimension_column(c, dim, col, sizeof col) != 0)
        return BL_OK;
    catlist cats = {0};
    bl_status st = load_categories(c, col, "", &cats, err);
    if (st != BL_OK || cats.n == 0) {
        catlist_free(&cats);
        return st;
    }
    bl_ctable t;
    size_t ext[2] = {cats.n, 2};
    if ((st = bl_ctable_init(&t, 2, ext, err)) != BL_OK) {
        catlist_free(&cats);
        return st;
    }
    char q[256];
    snprintf(q, sizeof q, "SELECT coalesce(%s, 'unknown'), optout, count(*) FROM stage.ps GROUP BY 1, 2",
             col);
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(c->db, q, -1, &s, NULL) != SQLITE_OK)
        st = sql_fail(c, err, "opt-out mix");
    while (st == BL_OK && sqlite3_step(s) == SQLITE_ROW) {
        size_t idx[2] = {cat_index(&cats, (const char *)sqlite3_column_text(s, 0)),
                         (size_t)(sqlite3_column_int(s, 1) != 0)};
        if (idx[0] != SIZE_MAX)
            t.count[bl_ctable_index(&t, idx)] = (uint64_t)sqlite3_column_int64(s, 2);
    }
    if (st == BL_OK)
        sqlite3_finalize(s);
    if (st == BL_OK) {
        bl_ctable_totals(&t);
        st = bl_ctable_suppress(&t, c->dsa->supp_threshold, c->dsa->supp_secondary, NULL, NULL, err);
    }
    json_t *rows = json_array();
    for (size_t i = 0; st == BL_OK && i <= cats.n; i++) {
        char kept[32], removed[32], before[32];
        size_t a[2] = {i, 0}, b2[2] = {i, 1}, tt[2] = {i, 2};
        bl_ctable_format(&t, bl_ctable_index(&t, a), c->dsa->supp_round, kept, sizeof kept);
        bl_ctable_format(&t, bl_ctable_index(&t, b2), c->dsa->supp_round, removed, sizeof removed);
        bl_ctable_format(&t, bl_ctable_index(&t, tt), c->dsa->supp_round, before, sizeof before);
        json_array_append_new(rows, json_pack("{s:s, s:s, s:s, s:s}", "value",
                                              i < cats.n ? cats.v[i] : "Total", "before", before,
                                              "removed", removed, "after", kept));
    }
    json_array_append_new(c->mix, json_pack("{s:s, s:o}", "dimension", dim, "rows", rows));
    bl_ctable_free(&t);
    catlist_free(&cats);
    return st;
}

static bl_status write_aggregate(emit_ctx *c, bl_error *err)
{
    const bl_emit_options *opt = c->opt;
    size_t k = opt->aggregate_by_count;
    char cols[BL_CTABLE_MAX_DIMS][64];
    catlist cats[BL_CTABLE_MAX_DIMS];
    memset(cats, 0, sizeof cats);
    bl_status st = BL_OK;
    for (size_t d = 0; d < k; d++)
        if (dimension_column(c, opt->aggregate_by[d], cols[d], sizeof cols[d]) != 0)
            return bl_fail(err, BL_EPOLICY,
                           "cannot aggregate by '%s': not 'sources', 'in_<source>' or a person "
                           "column the agreement allows", opt->aggregate_by[d]);
    size_t ext[BL_CTABLE_MAX_DIMS];
    for (size_t d = 0; st == BL_OK && d < k; d++) {
        st = load_categories(c, cols[d], "WHERE optout = 0", &cats[d], err);
        ext[d] = cats[d].n ? cats[d].n : 1;
    }
    bl_ctable t = {0};
    if (st == BL_OK)
        st = bl_ctable_init(&t, k, ext, err);
    bl_sb q = {0};
    bl_sb_printf(&q, "SELECT ");
    for (size_t d = 0; d < k; d++)
        bl_sb_printf(&q, "coalesce(%s, 'unknown'), ", cols[d]);
    bl_sb_printf(&q, "count(*) FROM stage.ps WHERE optout = 0 GROUP BY ");
    for (size_t d = 0; d < k; d++)
        bl_sb_printf(&q, "%s%zu", d ? ", " : "", d + 1);
    sqlite3_stmt *s = NULL;
    if (st == BL_OK && (q.oom || sqlite3_prepare_v2(c->db, q.s, -1, &s, NULL) != SQLITE_OK))
        st = q.oom ? bl_fail(err, BL_ENOMEM, "out of memory") : sql_fail(c, err, "aggregate");
    bl_sb_free(&q);
    while (st == BL_OK && sqlite3_step(s) == SQLITE_ROW) {
        size_t idx[BL_CTABLE_MAX_DIMS];
        for (size_t d = 0; d < k; d++)
            idx[d] = cat_index(&cats[d], (const char *)sqlite3_column_text(s, (int)d));
        t.count[bl_ctable_index(&t, idx)] = (uint64_t)sqlite3_column_int64(s, (int)k);
    }
    sqlite3_finalize(s);
    if (st == BL_OK) {
        bl_ctable_totals(&t);
        st = bl_ctable_suppress(&t, c->dsa->supp_threshold, c->dsa->supp_secondary,
                                &c->res->suppressed_primary, &c->res->suppressed_secondary, err);
    }
    bl_atomic_file *out = NULL;
    if (st == BL_OK)
        st = bl_atomic_open(opt->out_path, &out, err);
    for (size_t d = 0; st == BL_OK && d < k; d++)
        st = bl_csv_write_field(out, opt->aggregate_by[d], 0, err);
    if (st == BL_OK)
        st = bl_csv_write_field(out, "people", 1, err);
    for (size_t i = 0; st == BL_OK && i < t.ncells; i++) {
        for (size_t d = 0; st == BL_OK && d < k; d++) {
            size_t stride = 1;
            for (size_t e = d + 1; e < k; e++)
                stride *= t.ext[e];
            size_t ci = i / stride % t.ext[d];
            st = bl_csv_write_field(out, ci < cats[d].n ? cats[d].v[ci] : "Total", 0, err);
        }
        char v[32];
        bl_ctable_format(&t, i, c->dsa->supp_round, v, sizeof v);
        if (st == BL_OK)
            st = bl_csv_write_field(out, v, 1, err);
    }
    c->res->aggregate_cells = t.ncells;
    if (st == BL_OK) {
        st = bl_atomic_commit(out, err);
        out = NULL;
        if (st == BL_OK)
            st = note_file(c, c->outputs, "aggregate", NULL, opt->out_path, err);
    }
    bl_atomic_abort(out);
    json_t *agg = json_pack("{s:I, s:I, s:I, s:I, s:I}", "cells", (json_int_t)t.ncells,
                            "suppressed_primary", (json_int_t)c->res->suppressed_primary,
                            "suppressed_secondary", (json_int_t)c->res->suppressed_secondary,
                            "threshold", (json_int_t)c->dsa->supp_threshold, "round_to",
                            (json_int_t)c->dsa->supp_round);
    json_object_set_new(agg, "by", json_array());
    for (size_t d = 0; d < k; d++)
        json_array_append_new(json_object_get(agg, "by"), json_string(opt->aggregate_by[d]));
    json_decref(c->aggregate);
    c->aggregate = agg;
    bl_ctable_free(&t);
    for (size_t d = 0; d < k; d++)
        catlist_free(&cats[d]);
    return st;
}

/* ------------------------------------------------------------ the dataset */

static bl_status add_provenance(emit_ctx *c, sqlite3_stmt *ins, const char *item, const char *value,
                                bl_error *err)
{
    sqlite3_bind_text(ins, 1, item, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, value ? value : "", -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(ins);
    sqlite3_reset(ins);
    return rc == SQLITE_DONE ? BL_OK : sql_fail(c, err, "provenance");
}

static bl_status write_provenance(emit_ctx *c, bl_error *err)
{
    const bl_dsa *d = c->dsa;
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO main.provenance VALUES (?1, ?2)", -1, &ins, NULL) !=
        SQLITE_OK)
        return sql_fail(c, err, "provenance");
    char buf[256], when[32], fp[BL_FINGERPRINT_HEX + 1] = "";
    time_t t = (time_t)(c->opt->now ? c->opt->now : (int64_t)time(NULL));
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    bl_status st = bl_key_fingerprint(c->pkey, fp, err);
    snprintf(buf, sizeof buf, "bloomlink %s", bl_version_string());
#define PROV(k, v) \
    if (st == BL_OK) \
    st = add_provenance(c, ins, k, v, err)
    PROV("format", "bloomlink-dataset/1");
    PROV("software", buf);
    PROV("created", when);
    PROV("project_id", d->project_id);
    PROV("purpose", d->purpose);
    PROV("dsa_sha256", d->hash);
    snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld", d->expires / 10000, d->expires / 100 % 100,
             d->expires % 100);
    PROV("dsa_expires", buf);
    snprintf(buf, sizeof buf, "%04ld-%02ld-%02ld", d->retain_until / 10000,
             d->retain_until / 100 % 100, d->retain_until % 100);
    PROV("retain_until", buf);
    PROV("pseudonym", "HMAC-SHA256(project key, project_id || 0x00 || entity_id), first 16 bytes, hex");
    PROV("project_key_fingerprint", fp);
    PROV("opt_out_rule", d->optout_apply ? "national_data_opt_out: entity removed from every source"
                                         : "none");
    snprintf(buf, sizeof buf, "counts 1-%ld suppressed, others rounded to %ld, secondary %s",
             d->supp_threshold, d->supp_round, d->supp_secondary ? "on" : "off");
    PROV("suppression_rule", buf);
    PROV("audit_previous_head", c->prev_head);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)c->prev_entries);
    PROV("audit_previous_entries", buf);
    size_t i;
    json_t *v;
    json_array_foreach(c->inputs, i, v) {
        const char *src = json_string_value(json_object_get(v, "source"));
        char item[160];
        snprintf(item, sizeof item, "input.%s%s%s.sha256", json_string_value(json_object_get(v, "role")),
                 src ? "." : "", src ? src : "");
        PROV(item, json_string_value(json_object_get(v, "sha256")));
        snprintf(item, sizeof item, "input.%s%s%s.file", json_string_value(json_object_get(v, "role")),
                 src ? "." : "", src ? src : "");
        PROV(item, json_string_value(json_object_get(v, "file")));
    }
    const char *k;
    json_object_foreach(c->counts, k, v) {
        char item[160];
        snprintf(item, sizeof item, "count.%s", k);
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        PROV(item, buf);
    }
    static const char *const kinds[] = {"undeclared", "missing", "dropped"};
    for (size_t kk = 0; kk < 3; kk++) {
        json_array_foreach(json_object_get(c->columns, kinds[kk]), i, v) {
            char item[200];
            snprintf(item, sizeof item, "column_%s.%s.%s", kinds[kk],
                     json_string_value(json_object_get(v, "source")),
                     json_string_value(json_object_get(v, "column")));
            PROV(item, kk == 0 ? "reported, not passed on" : kk == 1 ? "declared, absent from input"
                                                                     : "dropped by the agreement");
        }
    }
#undef PROV
    sqlite3_finalize(ins);
    return st;
}

/* What each output column is and where it came from. */
static bl_status write_variables(emit_ctx *c, bl_error *err)
{
    const bl_dsa *d = c->dsa;
    sqlite3_stmt *ins;
    if (sqlite3_prepare_v2(c->db, "INSERT INTO main.variable VALUES (?1, ?2, ?3, ?4, ?5)", -1, &ins,
                           NULL) != SQLITE_OK)
        return sql_fail(c, err, "variables");
    bl_status st = BL_OK;
    for (size_t i = 0; st == BL_OK && i < d->nsources; i++) {
        const bl_dsa_source *s = &d->sources[i];
        for (size_t j = 0; st == BL_OK && j < s->ncols; j++) {
            const bl_dsa_column *dc = &s->cols[j];
            const char *table = NULL, *col = NULL;
            switch (dc->use) {
            case BL_USE_EVENT_DATE: table = "event"; col = "event_date"; break;
            case BL_USE_EVENT_TYPE: table = "event"; col = "event_type"; break;
            case BL_USE_EVENT: table = "event"; col = dc->as; break;
            case BL_USE_PERSON: table = "person"; col = dc->as; break;
            case BL_USE_DROP: break;
            }
            if (!table)
                continue;
            sqlite3_bind_text(ins, 1, table, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, col, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 3, s->name, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 4, dc->column, -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(ins, 5, bl_dsa_gen_name(dc->gen), -1, SQLITE_STATIC);
            if (sqlite3_step(ins) != SQLITE_DONE)
                st = sql_fail(c, err, "variables");
            sqlite3_reset(ins);
        }
    }
    sqlite3_finalize(ins);
    return st;
}

static bl_status write_tables(emit_ctx *c, bl_error *err)
{
    const bl_dsa *d = c->dsa;
    bl_sb b = {0};
    bl_sb_printf(&b, "CREATE TABLE main.person(pseudonym TEXT PRIMARY KEY, sources TEXT NOT NULL");
    for (size_t i = 0; i < d->nsources; i++)
        bl_sb_printf(&b, ", \"in_%s\" INTEGER NOT NULL", d->sources[i].name);
    bl_sb_printf(&b, ", n_events INTEGER NOT NULL");
    for (size_t i = 0; i < c->npa; i++)
        bl_sb_printf(&b, ", \"%s\" TEXT", c->p_attr[i]);
    bl_sb_printf(&b, ");CREATE TABLE main.event(event_id INTEGER PRIMARY KEY, pseudonym TEXT NOT NULL"
                     " REFERENCES person(pseudonym), source TEXT NOT NULL, event_date TEXT,"
                     " event_type TEXT");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", \"%s\" TEXT", c->ev_attr[i]);
    bl_sb_printf(&b, ");CREATE TABLE main.provenance(item TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "CREATE TABLE main.variable(table_name TEXT NOT NULL, column_name TEXT NOT NULL,"
                     " source TEXT NOT NULL, source_column TEXT NOT NULL, generalisation TEXT NOT NULL);");
    /* Rows go in pseudonym order, which is random with respect to entity ids
       and input order; events within a person follow time, then the
       agreement's source order.  Nothing finer than the generalised date
       decides the order, so row order leaks no more than the values do. */
    bl_sb_printf(&b, "INSERT INTO main.person SELECT pseudonym, sources");
    for (size_t i = 0; i < d->nsources; i++)
        bl_sb_printf(&b, ", \"in_%s\"", d->sources[i].name);
    bl_sb_printf(&b, ", n_events");
    for (size_t i = 0; i < c->npa; i++)
        bl_sb_printf(&b, ", p%zu", i);
    bl_sb_printf(&b, " FROM stage.ps WHERE optout = 0 ORDER BY pseudonym;");
    bl_sb_printf(&b, "INSERT INTO main.event(pseudonym, source, event_date, event_type");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", \"%s\"", c->ev_attr[i]);
    bl_sb_printf(&b, ") SELECT e.pseudonym, ev.source, ev.event_date, ev.event_type");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", ev.a%zu", i);
    bl_sb_printf(&b, " FROM stage.evx ev JOIN stage.ent e ON e.entity = ev.entity WHERE e.optout = 0"
                     " ORDER BY e.pseudonym, ev.event_date, ev.srank, ev.event_type");
    for (size_t i = 0; i < c->nev; i++)
        bl_sb_printf(&b, ", ev.a%zu", i);
    bl_sb_printf(&b, ";CREATE INDEX main.event_person ON event(pseudonym, event_date);"
                     "CREATE INDEX main.event_date ON event(event_date, source);");
    bl_status st = sql_exec_sb(c, &b, err);
    if (st == BL_OK)
        st = tick(c, c->res->persons + c->res->events, err);
    if (st == BL_OK)
        st = write_provenance(c, err);
    if (st == BL_OK)
        st = write_variables(c, err);
    return st;
}

/* ----------------------------------------------------------- output files */

static char *temp_name(const char *path, bl_error *err)
{
    size_t n = strlen(path) + 24;
    char *t = malloc(n);
    uint8_t r[6];
    char hex[13];
    if (!t) {
        bl_fail(err, BL_ENOMEM, "out of memory");
        return NULL;
    }
    if (RAND_bytes(r, sizeof r) != 1) {
        free(t);
        bl_fail_openssl(err, "RAND_bytes");
        return NULL;
    }
    bl_hex(r, sizeof r, hex);
    snprintf(t, n, "%s.tmp-%s", path, hex);
    return t;
}

static bl_status open_database(emit_ctx *c, bl_error *err)
{
    const char *dbpath = "";
    if (c->opt->format == BL_EMIT_SQLITE) {
        /* Created here with O_EXCL and mode 0600: SQLite then opens an
           existing empty file, which it treats as an empty database. */
        if (!(c->tmp_path = temp_name(c->opt->out_path, err)))
            return BL_ENOMEM;
        int fd = open(c->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
            bl_status st = bl_fail_at(err, BL_EIO, c->opt->out_path, -1, -1, NULL,
                                      "cannot create output: %s", strerror(errno));
            free(c->tmp_path);
            c->tmp_path = NULL;
            return st;
        }
        close(fd);
        dbpath = c->tmp_path;
    }
    if (sqlite3_open_v2(dbpath, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK)
        return sql_fail(c, err, "open");
    sqlite3_extended_result_codes(c->db, 0);
    /* No journal: on failure the whole file is discarded, never repaired.
       secure_delete: freed pages are zeroed, so nothing deleted lingers. */
    bl_status st = sql_exec(c, "PRAGMA main.journal_mode=OFF; PRAGMA main.synchronous=OFF;"
                               "PRAGMA secure_delete=ON; PRAGMA main.locking_mode=EXCLUSIVE;"
                               "PRAGMA cache_size=-65536;",
                            err);
    if (st != BL_OK)
        return st;
    if (sqlite3_create_function_v2(c->db, "bl_pseudonym", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, c,
                                   sql_pseudonym, NULL, NULL, NULL) != SQLITE_OK)
        return sql_fail(c, err, "pseudonym function");
    return BL_OK;
}

static void close_database(emit_ctx *c)
{
    sqlite3_finalize(c->ins_ev);
    sqlite3_finalize(c->ins_pa);
    c->ins_ev = c->ins_pa = NULL;
    if (c->db)
        sqlite3_close(c->db);
    c->db = NULL;
}

static bl_status fsync_path(const char *path, int dir, bl_error *err)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    if (fd < 0)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "cannot open for fsync: %s", strerror(errno));
    int r = fsync(fd);
    int e = errno;
    close(fd);
    if (r != 0 && !dir)
        return bl_fail_at(err, BL_EIO, path, -1, -1, NULL, "fsync failed: %s", strerror(e));
    return BL_OK;
}

static char *dir_of(const char *path)
{
    const char *s = strrchr(path, '/');
    if (!s)
        return strdup(".");
    if (s == path)
        return strdup("/");
    return strndup(path, (size_t)(s - path));
}

static bl_status finish_sqlite(emit_ctx *c, bl_error *err)
{
    sqlite3_finalize(c->ins_ev);
    sqlite3_finalize(c->ins_pa);
    c->ins_ev = c->ins_pa = NULL;
    if (sqlite3_close(c->db) != SQLITE_OK)
        return sql_fail(c, err, "close");
    c->db = NULL;
    bl_status st = fsync_path(c->tmp_path, 0, err);
    if (st == BL_OK)
        st = note_file_as(c, c->outputs, "dataset", NULL, c->tmp_path, c->opt->out_path, err);
    if (st == BL_OK && rename(c->tmp_path, c->opt->out_path) != 0)
        st = bl_fail_at(err, BL_EIO, c->opt->out_path, -1, -1, NULL, "rename failed: %s", strerror(errno));
    if (st != BL_OK)
        return st;
    free(c->tmp_path);
    c->tmp_path = NULL;
    char *d = dir_of(c->opt->out_path);
    if (d)
        fsync_path(d, 1, NULL); /* best effort, as in bl_atomic_commit */
    free(d);
    return BL_OK;
}

static bl_status export_table(emit_ctx *c, const char *dir, const char *table, bl_error *err)
{
    size_t n = strlen(dir) + strlen(table) + 8;
    char *path = malloc(n);
    if (!path)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    snprintf(path, n, "%s/%s.csv", dir, table);
    char q[96];
    snprintf(q, sizeof q, "SELECT * FROM main.%s ORDER BY rowid", table);
    sqlite3_stmt *s = NULL;
    bl_atomic_file *f = NULL;
    bl_status st = bl_atomic_open(path, &f, err);
    if (st == BL_OK && sqlite3_prepare_v2(c->db, q, -1, &s, NULL) != SQLITE_OK)
        st = sql_fail(c, err, "export");
    int nc = s ? sqlite3_column_count(s) : 0;
    for (int i = 0; st == BL_OK && i < nc; i++)
        st = bl_csv_write_field(f, sqlite3_column_name(s, i), i == nc - 1, err);
    while (st == BL_OK) {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW) {
            st = sql_fail(c, err, "export");
            break;
        }
        for (int i = 0; st == BL_OK && i < nc; i++)
            st = bl_csv_write_field(f, (const char *)sqlite3_column_text(s, i), i == nc - 1, err);
        if (st == BL_OK)
            st = tick(c, 1, err);
    }
    sqlite3_finalize(s);
    if (st == BL_OK) {
        st = bl_atomic_commit(f, err);
        f = NULL;
    }
    bl_atomic_abort(f);
    if (st == BL_OK) {
        char shown[128];
        snprintf(shown, sizeof shown, "%s/%s.csv", bl_audit_basename(c->opt->out_path), table);
        st = note_file_as(c, c->outputs, table, NULL, path, shown, err);
    }
    free(path);
    return st;
}

static const char *const csv_tables[] = {"person", "event", "provenance", "variable"};

static void remove_csv_dir(const char *dir)
{
    for (size_t i = 0; i < sizeof csv_tables / sizeof csv_tables[0]; i++) {
        size_t n = strlen(dir) + 32;
        char *p = malloc(n);
        if (!p)
            continue;
        snprintf(p, n, "%s/%s.csv", dir, csv_tables[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
}

static bl_status finish_csv(emit_ctx *c, bl_error *err)
{
    if (!(c->tmp_path = temp_name(c->opt->out_path, err)))
        return BL_ENOMEM;
    if (mkdir(c->tmp_path, 0700) != 0) {
        bl_status st = bl_fail_at(err, BL_EIO, c->opt->out_path, -1, -1, NULL,
                                  "cannot create output directory: %s", strerror(errno));
        free(c->tmp_path);
        c->tmp_path = NULL;
        return st;
    }
    c->tmp_is_dir = 1;
    bl_status st = BL_OK;
    for (size_t i = 0; st == BL_OK && i < sizeof csv_tables / sizeof csv_tables[0]; i++)
        st = export_table(c, c->tmp_path, csv_tables[i], err);
    if (st != BL_OK)
        return st;
    struct stat sb;
    if (stat(c->opt->out_path, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode))
            return bl_fail_at(err, BL_EEXISTS, c->opt->out_path, -1, -1, NULL,
                              "exists and is not a dataset directory");
        remove_csv_dir(c->opt->out_path); /* overwrite was asked for */
    }
    if (rename(c->tmp_path, c->opt->out_path) != 0)
        return bl_fail_at(err, BL_EIO, c->opt->out_path, -1, -1, NULL, "rename failed: %s",
                          strerror(errno));
    free(c->tmp_path);
    c->tmp_path = NULL;
    char *d = dir_of(c->opt->out_path);
    if (d)
        fsync_path(d, 1, NULL);
    free(d);
    return BL_OK;
}

/* ------------------------------------------------------------------ driver */

static int is_refusal(bl_status st)
{
    return st == BL_ESIGNATURE || st == BL_EEXPIRED || st == BL_EPOLICY;
}

static bl_status check_inputs(emit_ctx *c, bl_error *err)
{
    const bl_emit_options *opt = c->opt;
    const bl_dsa *d = c->dsa;
    unsigned need = opt->format == BL_EMIT_SQLITE ? BL_DSA_OUT_SQLITE
                    : opt->format == BL_EMIT_CSV  ? BL_DSA_OUT_CSV
                                                  : BL_DSA_OUT_AGGREGATE;
    static const char *const fname[] = {"sqlite", "csv", "aggregate"};
    if ((unsigned)opt->format > BL_EMIT_AGGREGATE)
        return bl_fail(err, BL_EMISUSE, "unknown output format");
    if (!(d->outputs & need))
        return bl_fail_at(err, BL_EPOLICY, d->name, -1, -1, "outputs",
                          "the agreement does not allow %s output", fname[opt->format]);
    if (!(c->supplied = calloc(d->nsources, sizeof *c->supplied)))
        return bl_fail(err, BL_ENOMEM, "out of memory");
    for (size_t i = 0; i < opt->content_count; i++) {
        const bl_emit_input *in = &opt->content[i];
        if (!in->source || !in->path)
            return bl_fail(err, BL_EMISUSE, "content input %zu lacks a source or a path", i);
        int si = bl_dsa_source_index(d, in->source);
        if (si < 0)
            return bl_fail_at(err, BL_EPOLICY, d->name, -1, -1, "sources",
                              "source '%s' is not covered by the agreement", in->source);
        if (c->supplied[si])
            return bl_fail(err, BL_EMISUSE, "two content files for source '%s'", in->source);
        c->supplied[si] = 1;
    }
    for (size_t i = 0; i < opt->optout_count; i++) {
        const bl_emit_input *in = &opt->optout[i];
        if (!in->source || !in->path)
            return bl_fail(err, BL_EMISUSE, "opt-out input %zu lacks a source or a path", i);
        if (bl_dsa_source_index(d, in->source) < 0)
            return bl_fail_at(err, BL_EPOLICY, d->name, -1, -1, "sources",
                              "opt-out list for '%s', which the agreement does not cover", in->source);
    }
    if (d->optout_apply) {
        /* The opt-out must be applied, so a missing list is a refusal, not
           an empty list: an empty file states that nobody opted out. */
        for (size_t i = 0; i < d->noptout_sources; i++) {
            int have = 0;
            for (size_t j = 0; j < opt->optout_count; j++)
                have |= !strcmp(opt->optout[j].source, d->optout_sources[i]);
            if (!have)
                return bl_fail_at(err, BL_EPOLICY, d->name, -1, -1, "opt_out",
                                  "the agreement requires the national data opt-out list of '%s' "
                                  "(bloomlink optout, run by that holder)", d->optout_sources[i]);
        }
    }
    if (opt->format == BL_EMIT_AGGREGATE &&
        (opt->aggregate_by_count == 0 || opt->aggregate_by_count > BL_CTABLE_MAX_DIMS))
        return bl_fail(err, BL_EMISUSE, "an aggregate needs 1 to %d dimensions", BL_CTABLE_MAX_DIMS);
    return BL_OK;
}

static bl_status run(emit_ctx *c, int *verified, bl_error *err)
{
    const bl_emit_options *opt = c->opt;
    bl_status st = bl_dsa_load(opt->dsa_path, &c->dsa, err);
    if (st != BL_OK)
        return st;
    memcpy(c->res->dsa_hash, c->dsa->hash, sizeof c->res->dsa_hash);
    if ((st = note_file(c, c->inputs, "dsa", NULL, opt->dsa_path, err)) != BL_OK)
        return st;
    if ((st = bl_dsa_verify(c->dsa, opt->now, err)) != BL_OK)
        return st;
    if ((st = check_inputs(c, err)) != BL_OK)
        return st;
    *verified = 1;

    /* The log must be intact before we add to it; its head goes into the
       dataset so a later truncation of the log shows. */
    memset(c->prev_head, '0', BL_FINGERPRINT_HEX);
    c->prev_head[BL_FINGERPRINT_HEX] = '\0';
    if (access(opt->audit_log_path, F_OK) == 0 &&
        (st = bl_audit_verify(opt->audit_log_path, NULL, &c->prev_entries, c->prev_head, err)) != BL_OK)
        return st;

    if ((st = bl_key_load(opt->project_key_path, &c->pkey, err)) != BL_OK)
        return st;
    if (c->dsa->project_key_fingerprint) {
        char fp[BL_FINGERPRINT_HEX + 1];
        if ((st = bl_key_fingerprint(c->pkey, fp, err)) != BL_OK)
            return st;
        if (strcasecmp(fp, c->dsa->project_key_fingerprint))
            return bl_fail_at(err, BL_EPOLICY, opt->project_key_path, -1, -1, NULL,
                              "this is not the project key the agreement names");
    }
    struct stat sb;
    if (!opt->overwrite && stat(opt->out_path, &sb) == 0)
        return bl_fail_at(err, BL_EEXISTS, opt->out_path, -1, -1, NULL,
                          "output exists (pass overwrite / --force to replace it)");

    const bl_dsa *d = c->dsa;
    for (size_t i = 0; i < d->nsources; i++)
        for (size_t j = 0; j < d->sources[i].ncols; j++) {
            const bl_dsa_column *dc = &d->sources[i].cols[j];
            if ((dc->use == BL_USE_EVENT && add_name(&c->ev_attr, &c->nev, dc->as) != 0) ||
                (dc->use == BL_USE_PERSON && add_name(&c->p_attr, &c->npa, dc->as) != 0))
                return bl_fail(err, BL_ENOMEM, "out of memory");
        }

    if ((st = open_database(c, err)) != BL_OK || (st = create_staging(c, err)) != BL_OK ||
        (st = sql_exec(c, "BEGIN", err)) != BL_OK)
        return st;
    if ((st = note_file(c, c->inputs, "linkmap", NULL, opt->linkmap_path, err)) != BL_OK ||
        (st = load_linkmap(c, err)) != BL_OK)
        return st;
    for (size_t i = 0; i < opt->optout_count; i++)
        if ((st = note_file(c, c->inputs, "optout", opt->optout[i].source, opt->optout[i].path,
                            err)) != BL_OK ||
            (st = load_optout(c, &opt->optout[i], err)) != BL_OK)
            return st;
    for (size_t i = 0; i < opt->content_count; i++)
        if ((st = note_file(c, c->inputs, "content", opt->content[i].source, opt->content[i].path,
                            err)) != BL_OK ||
            (st = load_content(c, &opt->content[i], err)) != BL_OK)
            return st;
    if ((st = build_people(c, err)) != BL_OK)
        return st;
    if ((st = optout_mix(c, "sources", err)) != BL_OK)
        return st;
    for (size_t i = 0; i < c->npa; i++)
        if ((st = optout_mix(c, c->p_attr[i], err)) != BL_OK)
            return st;

    if (opt->format == BL_EMIT_AGGREGATE)
        return write_aggregate(c, err);
    if ((st = write_tables(c, err)) != BL_OK || (st = sql_exec(c, "COMMIT", err)) != BL_OK)
        return st;
    if (opt->format == BL_EMIT_SQLITE)
        return finish_sqlite(c, err);
    return finish_csv(c, err);
}

static void discard_output(emit_ctx *c)
{
    close_database(c);
    if (c->tmp_path) {
        if (c->tmp_is_dir)
            remove_csv_dir(c->tmp_path);
        else
            unlink(c->tmp_path);
        free(c->tmp_path);
        c->tmp_path = NULL;
    }
}

static json_t *build_report(emit_ctx *c, const char *outcome)
{
    json_t *r = json_pack("{s:s, s:s, s:s, s:O, s:O, s:O, s:O}", "outcome", outcome, "project_id",
                          c->dsa ? c->dsa->project_id : "", "dsa_sha256",
                          c->dsa ? c->dsa->hash : "", "inputs", c->inputs, "outputs", c->outputs,
                          "counts", c->counts, "columns", c->columns);
    if (r) {
        json_object_set(r, "opt_out_mix", c->mix);
        if (c->aggregate)
            json_object_set(r, "aggregate", c->aggregate);
    }
    return r;
}

bl_status bl_emit(const bl_emit_options *opt, bl_emit_result *res, bl_error *err)
{
    bl_emit_result local;
    int caller_res = res != NULL; /* only a caller's result takes the report */
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    if (!opt || !opt->dsa_path || !opt->project_key_path || !opt->linkmap_path || !opt->out_path ||
        !opt->audit_log_path || !opt->actor || !*opt->actor || opt->content_count == 0 || !opt->content)
        return bl_fail(err, BL_EMISUSE, "emit needs an agreement, a project key, a link map, content "
                                        "files, an output, an audit log and an actor");
    emit_ctx c;
    memset(&c, 0, sizeof c);
    c.opt = opt;
    c.res = res;
    c.inputs = json_array();
    c.outputs = json_array();
    c.counts = json_object();
    c.mix = json_array();
    c.columns = json_pack("{s:[], s:[], s:[]}", "undeclared", "missing", "dropped");
    bl_status st;
    int verified = 0;
    if (!c.inputs || !c.outputs || !c.counts || !c.mix || !c.columns)
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    else
        st = run(&c, &verified, err);
    if (st != BL_OK)
        discard_output(&c);
    close_database(&c);

    const char *outcome = st == BL_OK ? "ok" : (!verified || is_refusal(st)) ? "refused" : "failed";
    json_t *report = build_report(&c, outcome);
    if (st == BL_OK && report && opt->report_path) {
        char *text = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        st = text ? bl_write_file_atomic(opt->report_path, text, strlen(text), err)
                  : bl_fail(err, BL_ENOMEM, "out of memory");
        free(text);
        if (st == BL_OK)
            st = note_file(&c, c.outputs, "report", NULL, opt->report_path, err);
        if (st != BL_OK) {
            outcome = "failed";
            json_object_set_new(report, "outcome", json_string(outcome));
        }
    }

    /* Every run leaves an audit entry, refusals included.  It holds names,
       hashes and counts only: no identifiers, tokens, pseudonyms or values,
       and no error text (which could quote input). */
    static const char *const fname[] = {"sqlite", "csv", "aggregate"};
    json_t *details = json_pack("{s:s, s:s, s:s, s:s, s:O, s:O, s:O}", "outcome", outcome, "status",
                                bl_strerror(st), "project_id", c.dsa ? c.dsa->project_id : "",
                                "dsa_sha256", c.dsa ? c.dsa->hash : "", "inputs", c.inputs,
                                "outputs", c.outputs, "counts", c.counts);
    if (details && (unsigned)opt->format <= BL_EMIT_AGGREGATE)
        json_object_set_new(details, "format", json_string(fname[opt->format]));
    bl_error aerr;
    bl_error_clear(&aerr);
    bl_status ast = details ? bl_audit_append_json(opt->audit_log_path, opt->actor, "emit", details,
                                                   opt->now, res->audit_entry_hash, &aerr)
                            : BL_ENOMEM;
    json_decref(details);
    if (ast != BL_OK && st == BL_OK) {
        /* No unaudited dataset may exist. */
        if (opt->format == BL_EMIT_CSV)
            remove_csv_dir(opt->out_path);
        else
            unlink(opt->out_path);
        if (opt->report_path)
            unlink(opt->report_path);
        bl_error_copy(err, &aerr);
        st = ast;
    }
    if (st == BL_OK && report && caller_res)
        res->report_json = json_dumps(report, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(report);

    discard_output(&c);
    bl_key_free(c.pkey);
    bl_dsa_free(c.dsa);
    for (size_t i = 0; i < c.nev; i++)
        free(c.ev_attr[i]);
    for (size_t i = 0; i < c.npa; i++)
        free(c.p_attr[i]);
    free(c.ev_attr);
    free(c.p_attr);
    free(c.supplied);
    json_decref(c.inputs);
    json_decref(c.outputs);
    json_decref(c.counts);
    json_decref(c.columns);
    json_decref(c.mix);
    json_decref(c.aggregate);
    return st;
}
