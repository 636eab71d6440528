/* init.c - routine registration (generated list; keep in step with the C_
   functions in the other files).  Symbols are looked up only through this
   table: R_useDynamicSymbols(FALSE), R_forceSymbols(TRUE). */
#include "bloomlink_r.h"

#include <R_ext/Rdynload.h>
#include <R_ext/Visibility.h>

SEXP C_version(void);
SEXP C_live_handles(void);
SEXP C_release(SEXP);
SEXP C_handle_alive(SEXP);
SEXP C_key_generate(SEXP, SEXP);
SEXP C_key_load(SEXP);
SEXP C_key_from_raw(SEXP);
SEXP C_key_fingerprint(SEXP);
SEXP C_schema_load(SEXP);
SEXP C_schema_parse(SEXP, SEXP);
SEXP C_schema_default(void);
SEXP C_schema_default_json(void);
SEXP C_schema_info(SEXP);
SEXP C_profile_load(SEXP, SEXP);
SEXP C_profile_parse(SEXP, SEXP, SEXP);
SEXP C_profile_info(SEXP);
SEXP C_csv_read(SEXP, SEXP, SEXP);
SEXP C_encoder_new(SEXP, SEXP, SEXP);
SEXP C_encoder_info(SEXP);
SEXP C_encode_rows(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_encode_csv(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_record_token(SEXP, SEXP);
SEXP C_read_ble(SEXP, SEXP, SEXP);
SEXP C_dice(SEXP, SEXP);
SEXP C_kernel(void);
SEXP C_kernel_available(SEXP);
SEXP C_kernel_set(SEXP);
SEXP C_synth(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_signing_keygen(SEXP, SEXP);
SEXP C_signing_key_public(SEXP);
SEXP C_dsa_load(SEXP);
SEXP C_dsa_parse(SEXP, SEXP);
SEXP C_dsa_info(SEXP);
SEXP C_dsa_verify(SEXP, SEXP);
SEXP C_dsa_sign(SEXP, SEXP, SEXP);
SEXP C_dsa_set_party_key(SEXP, SEXP, SEXP);
SEXP C_dsa_save(SEXP, SEXP);
SEXP C_pseudonym(SEXP, SEXP, SEXP);
SEXP C_optout(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_emit(SEXP, SEXP);
SEXP C_audit_verify(SEXP, SEXP);
SEXP C_audit_append(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_dataset_new(SEXP, SEXP);
SEXP C_dataset_info(SEXP);
SEXP C_dataset_find(SEXP, SEXP, SEXP);
SEXP C_model_default(SEXP);
SEXP C_model_load(SEXP);
SEXP C_model_parse(SEXP, SEXP);
SEXP C_model_save(SEXP, SEXP);
SEXP C_model_json(SEXP);
SEXP C_model_trained(SEXP);
SEXP C_model_train(SEXP, SEXP, SEXP, SEXP);
SEXP C_match(SEXP, SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_linkmap_read(SEXP, SEXP);
SEXP C_explain(SEXP, SEXP, SEXP, SEXP, SEXP);
SEXP C_evaluate(SEXP, SEXP, SEXP, SEXP);

static const R_CallMethodDef call_methods[] = {
    {"C_version", (DL_FUNC)&C_version, 0},
    {"C_live_handles", (DL_FUNC)&C_live_handles, 0},
    {"C_release", (DL_FUNC)&C_release, 1},
    {"C_handle_alive", (DL_FUNC)&C_handle_alive, 1},
    {"C_key_generate", (DL_FUNC)&C_key_generate, 2},
    {"C_key_load", (DL_FUNC)&C_key_load, 1},
    {"C_key_from_raw", (DL_FUNC)&C_key_from_raw, 1},
    {"C_key_fingerprint", (DL_FUNC)&C_key_fingerprint, 1},
    {"C_schema_load", (DL_FUNC)&C_schema_load, 1},
    {"C_schema_parse", (DL_FUNC)&C_schema_parse, 2},
    {"C_schema_default", (DL_FUNC)&C_schema_default, 0},
    {"C_schema_default_json", (DL_FUNC)&C_schema_default_json, 0},
    {"C_schema_info", (DL_FUNC)&C_schema_info, 1},
    {"C_profile_load", (DL_FUNC)&C_profile_load, 2},
    {"C_profile_parse", (DL_FUNC)&C_profile_parse, 3},
    {"C_profile_info", (DL_FUNC)&C_profile_info, 1},
    {"C_csv_read", (DL_FUNC)&C_csv_read, 3},
    {"C_encoder_new", (DL_FUNC)&C_encoder_new, 3},
    {"C_encoder_info", (DL_FUNC)&C_encoder_info, 1},
    {"C_encode_rows", (DL_FUNC)&C_encode_rows, 5},
    {"C_encode_csv", (DL_FUNC)&C_encode_csv, 6},
    {"C_record_token", (DL_FUNC)&C_record_token, 2},
    {"C_read_ble", (DL_FUNC)&C_read_ble, 3},
    {"C_dice", (DL_FUNC)&C_dice, 2},
    {"C_kernel", (DL_FUNC)&C_kernel, 0},
    {"C_kernel_available", (DL_FUNC)&C_kernel_available, 1},
    {"C_kernel_set", (DL_FUNC)&C_kernel_set, 1},
    {"C_synth", (DL_FUNC)&C_synth, 5},
    {"C_signing_keygen", (DL_FUNC)&C_signing_keygen, 2},
    {"C_signing_key_public", (DL_FUNC)&C_signing_key_public, 1},
    {"C_dsa_load", (DL_FUNC)&C_dsa_load, 1},
    {"C_dsa_parse", (DL_FUNC)&C_dsa_parse, 2},
    {"C_dsa_info", (DL_FUNC)&C_dsa_info, 1},
    {"C_dsa_verify", (DL_FUNC)&C_dsa_verify, 2},
    {"C_dsa_sign", (DL_FUNC)&C_dsa_sign, 3},
    {"C_dsa_set_party_key", (DL_FUNC)&C_dsa_set_party_key, 3},
    {"C_dsa_save", (DL_FUNC)&C_dsa_save, 2},
    {"C_pseudonym", (DL_FUNC)&C_pseudonym, 3},
    {"C_optout", (DL_FUNC)&C_optout, 6},
    {"C_emit", (DL_FUNC)&C_emit, 2},
    {"C_audit_verify", (DL_FUNC)&C_audit_verify, 2},
    {"C_audit_append", (DL_FUNC)&C_audit_append, 5},
    {"C_dataset_new", (DL_FUNC)&C_dataset_new, 2},
    {"C_dataset_info", (DL_FUNC)&C_dataset_info, 1},
    {"C_dataset_find", (DL_FUNC)&C_dataset_find, 3},
    {"C_model_default", (DL_FUNC)&C_model_default, 1},
    {"C_model_load", (DL_FUNC)&C_model_load, 1},
    {"C_model_parse", (DL_FUNC)&C_model_parse, 2},
    {"C_model_save", (DL_FUNC)&C_model_save, 2},
    {"C_model_json", (DL_FUNC)&C_model_json, 1},
    {"C_model_trained", (DL_FUNC)&C_model_trained, 1},
    {"C_model_train", (DL_FUNC)&C_model_train, 4},
    {"C_match", (DL_FUNC)&C_match, 6},
    {"C_linkmap_read", (DL_FUNC)&C_linkmap_read, 2},
    {"C_explain", (DL_FUNC)&C_explain, 5},
    {"C_evaluate", (DL_FUNC)&C_evaluate, 4},
    {NULL, NULL, 0}};

void attribute_visible R_init_bloomlink(DllInfo *dll)
{
    R_registerRoutines(dll, NULL, call_methods, NULL, NULL);
    R_useDynamicSymbols(dll, FALSE);
    R_forceSymbols(dll, TRUE);
}
