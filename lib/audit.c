/* audit.c - an append-only, hash-chained audit log.
 *
 * One JSON object per line, each in canonical form (sorted keys, compact,
 * ASCII).  Entry n carries "seq": n, "prev": the hash of entry n-1 (64 zeros
 * for the first) and "hash": SHA-256 of its own canonical text without
 * "hash".  Editing an entry breaks its hash; removing or reordering one
 * breaks the next entry's "prev" and the sequence.  Removing entries from the
 * end leaves a valid shorter chain, which only a head hash kept elsewhere can
 * reveal: bl_audit_verify takes one, every run reports the new head, and the
 * emitted dataset records the head it followed.
 *
 * Appends rewrite the log through a temp file and rename under an exclusive
 * lock on "<log>.lock", so a crash leaves the old log or the new one, never a
 * torn line, and two runs cannot both extend the same head.
 */
#include "config.h"

#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "dsa.h"
#include "error.h"
#include "io.h"

#define AUDIT_MAX_BYTES ((size_t)1 << 30)
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

const char *bl_audit_basename(const char *path)
{
    if (!path)
        return "";
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Hash of an entry: SHA-256 of its canonical text without "hash". */
static bl_status entry_hash(const json_t *entry, char *hex, bl_error *err)
{
    json_t *copy = json_copy((json_t *)entry);
    if (!copy)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    json_object_del(copy, "hash");
    char *text = bl_json_canonical(copy);
    json_decref(copy);
    if (!text)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    bl_status st = bl_sha256_hex(text, strlen(text), hex, err);
    free(text);
    return st;
}

/* Walk the chain in text (NUL-terminated, len bytes). */
static bl_status verify_text(const char *path, const char *text, size_t len, uint64_t *entries,
                             char *head, bl_error *err)
{
    char prev[BL_FINGERPRINT_HEX + 1] = GENESIS;
    uint64_t n = 0;
    const char *p = text, *end = text + len;
    long line = 0;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl)
            return bl_fail_at(err, BL_ECHECKSUM, path, line, -1, NULL,
                              "last entry is not terminated: the log was truncated or edited");
        size_t ll = (size_t)(nl - p);
        json_error_t je;
        json_t *e = json_loadb(p, ll, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(e)) {
            json_decref(e);
            return bl_fail_at(err, BL_ECHECKSUM, path, line, -1, NULL,
                              "entry is not a JSON object: the log was edited");
        }
        char *canon = bl_json_canonical(e);
        int same = canon && strlen(canon) == ll && memcmp(canon, p, ll) == 0;
        free(canon);
        json_t *seq = json_object_get(e, "seq");
        const char *eprev = json_string_value(json_object_get(e, "prev"));
        const char *ehash = json_string_value(json_object_get(e, "hash"));
        char calc[BL_FINGERPRINT_HEX + 1];
        bl_status st = entry_hash(e, calc, err);
        if (st != BL_OK) {
            json_decref(e);
            return st;
        }
        const char *why = NULL;
        if (!same)
            why = "entry is not in canonical form: it was edited";
        else if (!json_is_integer(seq) || (uint64_t)json_integer_value(seq) != n + 1)
            why = "sequence number is out of order: an entry was removed, added or moved";
        else if (!eprev || strcmp(eprev, prev))
            why = "entry does not follow the previous one: an entry was removed or replaced";
        else if (!ehash || strcmp(ehash, calc))
            why = "entry hash does not match its contents: the entry was edited";
        if (why) {
            json_decref(e);
            return bl_fail_at(err, BL_ECHECKSUM, path, line, -1, NULL, "entry %lld: %s",
                              (long long)n + 1, why);
        }
        memcpy(prev, calc, sizeof prev);
        json_decref(e);
        n++;
        p = nl + 1;
    }
    if (entries)
        *entries = n;
    if (head)
        memcpy(head, prev, BL_FINGERPRINT_HEX + 1);
    return BL_OK;
}

bl_status bl_audit_verify(const char *log_path, const char *expect_head, uint64_t *entries,
                          char *head_hash, bl_error *err)
{
    if (!log_path)
        return bl_fail(err, BL_EMISUSE, "no audit log path");
    char *text;
    size_t len;
    bl_status st = bl_read_file(log_path, AUDIT_MAX_BYTES, &text, &len, err);
    if (st != BL_OK)
        return st;
    if (strlen(text) != len) {
        free(text);
        return bl_fail_at(err, BL_ECHECKSUM, log_path, -1, -1, NULL, "the log holds NUL bytes");
    }
    char head[BL_FINGERPRINT_HEX + 1];
    uint64_t n = 0;
    st = verify_text(log_path, text, len, &n, head, err);
    free(text);
    if (st != BL_OK)
        return st;
    if (expect_head && *expect_head && strcmp(expect_head, head))
        return bl_fail_at(err, BL_ECHECKSUM, log_path, -1, -1, NULL,
                          "the chain is intact but ends at %.16s..., not at the expected head "
                          "%.16s...: entries were removed from (or added to) the end",
                          head, expect_head);
    if (entries)
        *entries = n;
    if (head_hash)
        memcpy(head_hash, head, sizeof head);
    return BL_OK;
}

bl_status bl_audit_append_json(const char *log_path, const char *actor, const char *command,
                               const json_t *details, int64_t now, char *out_hash, bl_error *err)
{
    if (!log_path || !*log_path || !actor || !*actor || !command || !*command)
        return bl_fail(err, BL_EMISUSE, "audit entries need a log path, an actor and a command");
    if (details && !json_is_object(details))
        return bl_fail(err, BL_EMISUSE, "audit details must be a JSON object");
    size_t pl = strlen(log_path);
    char *lock_path = malloc(pl + 6);
    if (!lock_path)
        return bl_fail(err, BL_ENOMEM, "out of memory");
    memcpy(lock_path, log_path, pl);
    memcpy(lock_path + pl, ".lock", 6);
    int lfd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock_path);
    if (lfd < 0)
        return bl_fail_at(err, BL_EIO, log_path, -1, -1, NULL, "cannot create the log's lock file: %s",
                          strerror(errno));
    while (flock(lfd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            close(lfd);
            return bl_fail_at(err, BL_EIO, log_path, -1, -1, NULL, "cannot lock the log: %s",
                              strerror(errno));
        }
    }

    char *text = NULL;
    size_t len = 0;
    bl_status st = BL_OK;
    char head[BL_FINGERPRINT_HEX + 1] = GENESIS;
    uint64_t n = 0;
    if (access(log_path, F_OK) == 0) {
        st = bl_read_file(log_path, AUDIT_MAX_BYTES, &text, &len, err);
        /* Never extend a broken chain: that would bury the evidence. */
        if (st == BL_OK)
            st = verify_text(log_path, text, len, &n, head, err);
    }
    json_t *entry = NULL;
    char *line = NULL;
    if (st == BL_OK) {
        char when[32];
        time_t t = (time_t)(now ? now : (int64_t)time(NULL));
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        char sw[64];
        snprintf(sw, sizeof sw, "bloomlink %s", bl_version_string());
        json_t *det = details ? json_deep_copy(details) : json_object();
        /* "o" steals det, also when json_pack fails. */
        entry = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o}", "seq", (json_int_t)(n + 1),
                          "time", when, "actor", actor, "command", command, "software", sw,
                          "prev", head, "details", det);
        if (!entry)
            st = bl_fail(err, BL_ENOMEM, "out of memory");
    }
    char hash[BL_FINGERPRINT_HEX + 1];
    if (st == BL_OK)
        st = entry_hash(entry, hash, err);
    if (st == BL_OK && json_object_set_new(entry, "hash", json_string(hash)) != 0)
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    if (st == BL_OK && !(line = bl_json_canonical(entry)))
        st = bl_fail(err, BL_ENOMEM, "out of memory");
    if (st == BL_OK) {
        size_t ll = strlen(line);
        char *all = malloc(len + ll + 2);
        if (!all)
            st = bl_fail(err, BL_ENOMEM, "out of memory");
        else {
            if (len)
                memcpy(all, text, len);
            memcpy(all + len, line, ll);
            all[len + ll] = '\n';
            st = bl_write_file_atomic(log_path, all, len + ll + 1, err);
            free(all);
        }
    }
    if (st == BL_OK && out_hash)
        memcpy(out_hash, hash, sizeof hash);
    free(line);
    json_decref(entry);
    free(text);
    close(lfd); /* releases the lock */
    return st;
}

bl_status bl_audit_append(const char *log_path, const char *actor, const char *command,
                          const char *details_json, int64_t now, char *entry_hash_out,
                          bl_error *err)
{
    json_t *details = NULL;
    if (details_json) {
        json_error_t je;
        details = json_loads(details_json, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(details)) {
            json_decref(details);
            return bl_fail(err, BL_EMISUSE, "audit details must be a JSON object: %s", je.text);
        }
    }
    bl_status st = bl_audit_append_json(log_path, actor, command, details, now, entry_hash_out, err);
    json_decref(details);
    return st;
}
