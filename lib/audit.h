/* audit.h - the hash-chained audit log (private helpers). */
#ifndef BL_AUDIT_H
#define BL_AUDIT_H
#include <jansson.h>

#include "bloomlink.h"

/* As bl_audit_append, with the details as a JSON object (borrowed). */
bl_status bl_audit_append_json(const char *log_path, const char *actor, const char *command,
                               const json_t *details, int64_t now, char *entry_hash,
                               bl_error *err);
/* The file name part of a path (borrowed from path): the log records names,
   not directories, which may themselves say too much. */
const char *bl_audit_basename(const char *path);
#endif
