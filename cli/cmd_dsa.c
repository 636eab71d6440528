/* cmd_dsa.c - `bloomlink dsa`: signing keys, project keys, sign and verify. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "gov.h"

static const char usage_text[] =
    "usage: bloomlink dsa keygen --out PARTY.key [--force]\n"
    "       bloomlink dsa pubkey --key PARTY.key\n"
    "       bloomlink dsa project-key --out PROJECT.key [--force]\n"
    "       bloomlink dsa sign --key PARTY.key [--out SIGNED.json] [--audit-log LOG] [--actor WHO] DSA.json\n"
    "       bloomlink dsa verify [--at YYYY-MM-DD] DSA.json\n"
    "       bloomlink dsa canonical DSA.json\n"
    "       bloomlink dsa example [--out DSA.json]\n"
    "       bloomlink dsa set-key --party NAME --public-key HEX|PARTY.key.pub DSA.json\n"
    "keygen writes an Ed25519 signing key (owner-only PEM) and PARTY.key.pub (hex);\n"
    "the public key goes into the agreement's \"parties\".  sign adds this party's\n"
    "signature over the canonical text (in place unless --out).  verify exits 0 only\n"
    "if every party signed this exact text and the agreement is in force.\n"
    "canonical prints the signed bytes, e.g. for `openssl pkeyutl -verify -rawin`.\n"
    "project-key writes the 32-byte key that makes the project's pseudonyms.\n"
    "example writes the example agreement for the synthetic sources (placeholder\n"
    "keys); set-key puts a party's public key into a draft (and drops signatures).\n";

/* The example agreement for the four synthetic sources, byte for byte
   examples/dsa.json (t_gov_dsa.sh checks they agree), so that `bloomlink
   demo` works from any directory. */
static const char example_dsa[] =
    "{\n"
    "  \"_comment\": \"Example data-sharing agreement for the four synthetic sources. Keys starting with '_' are comments: they are signed like everything else and ignored by the software. docs/governance.md explains every key. The three public keys below are placeholders: examples/governance_demo.sh replaces them with real ones before anyone signs.\",\n"
    "  \"format\": \"bloomlink-dsa/1\",\n"
    "  \"project_id\": \"oxon-frailty-2024\",\n"
    "  \"purpose\": \"Synthetic demonstration: describe how people known to adult social care and to housing services use GP care, by ethnic group and tenure, to plan integrated neighbourhood teams. Pseudonymised, minimised data only; no attempt to re-identify anyone.\",\n"
    "  \"controller\": \"Oxfordshire integrated care board (fictitious, for the demo)\",\n"
    "  \"parties\": [\n"
    "    {\"name\": \"icb-analytics\", \"role\": \"data controller and emitter\", \"public_key\": \"1111111111111111111111111111111111111111111111111111111111111111\"},\n"
    "    {\"name\": \"gp-federation\", \"role\": \"data holder: gp\", \"public_key\": \"2222222222222222222222222222222222222222222222222222222222222222\"},\n"
    "    {\"name\": \"county-council\", \"role\": \"data holder: social_care, housing, education\", \"public_key\": \"3333333333333333333333333333333333333333333333333333333333333333\"}\n"
    "  ],\n"
    "  \"valid_from\": \"2024-04-01\",\n"
    "  \"expires\": \"2030-03-31\",\n"
    "  \"retain_until\": \"2031-03-31\",\n"
    "  \"_retain_until\": \"outputs are destroyed by this date; the emitter records it in every dataset's provenance\",\n"
    "  \"pseudonym_scope\": \"project\",\n"
    "  \"outputs\": [\"sqlite\", \"csv\", \"aggregate\"],\n"
    "  \"opt_out\": {\n"
    "    \"_comment\": \"gp and social_care hold NHS numbers and must each supply an opt-out token file (bloomlink optout); housing and education records of those people go through linkage\",\n"
    "    \"rule\": \"national_data_opt_out\",\n"
    "    \"sources\": [\"gp\", \"social_care\"],\n"
    "    \"remove\": \"entity\"\n"
    "  },\n"
    "  \"suppression\": {\n"
    "    \"_comment\": \"NHS England rule for sub-national counts: 0 stays 0, 1-7 become *, the rest are rounded to the nearest 5; plus secondary suppression\",\n"
    "    \"rule\": \"nhse_subnational\"\n"
    "  },\n"
    "  \"person\": {\n"
    "    \"_comment\": \"age bands of the BirthYear column each holder's encoder derives (profile \\\"derived_content\\\")\",\n"
    "    \"age_reference_date\": \"2024-03-31\",\n"
    "    \"age_band_width\": 10,\n"
    "    \"age_band_top\": 90\n"
    "  },\n"
    "  \"sources\": {\n"
    "    \"gp\": {\n"
    "      \"date_formats\": [\"%d/%m/%Y\"],\n"
    "      \"columns\": {\n"
    "        \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "        \"EventType\": {\"use\": \"event_type\"},\n"
    "        \"PracticeCode\": {\"use\": \"event\", \"as\": \"practice_code\"},\n"
    "        \"LTCCount\": {\"use\": \"event\", \"as\": \"ltc_count\", \"generalise\": \"top_code\", \"top\": 5},\n"
    "        \"BirthYear\": {\"use\": \"person\", \"as\": \"age_band\", \"generalise\": \"age_band\"},\n"
    "        \"Sex\": {\"use\": \"person\", \"as\": \"sex\"},\n"
    "        \"Notes\": {\"use\": \"drop\", \"_why\": \"free text: it names people\"}\n"
    "      }\n"
    "    },\n"
    "    \"social_care\": {\n"
    "      \"date_formats\": [\"%d-%b-%Y\", \"%Y-%m-%d\"],\n"
    "      \"columns\": {\n"
    "        \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "        \"EventType\": {\"use\": \"event_type\"},\n"
    "        \"ServiceType\": {\"use\": \"event\", \"as\": \"service_type\"},\n"
    "        \"Ethnicity\": {\"use\": \"person\", \"as\": \"ethnic_group\", \"generalise\": \"broad_group\"},\n"
    "        \"BirthYear\": {\"use\": \"person\", \"as\": \"age_band\", \"generalise\": \"age_band\"},\n"
    "        \"Sex\": {\"use\": \"person\", \"as\": \"sex\"},\n"
    "        \"Notes\": {\"use\": \"drop\"}\n"
    "      }\n"
    "    },\n"
    "    \"housing\": {\n"
    "      \"date_formats\": [\"%Y-%m-%d\"],\n"
    "      \"columns\": {\n"
    "        \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "        \"EventType\": {\"use\": \"event_type\"},\n"
    "        \"Tenure\": {\"use\": \"event\", \"as\": \"tenure\"},\n"
    "        \"HouseholdSize\": {\"use\": \"event\", \"as\": \"household_size\", \"generalise\": \"top_code\", \"top\": 6},\n"
    "        \"BirthYear\": {\"use\": \"person\", \"as\": \"age_band\", \"generalise\": \"age_band\"},\n"
    "        \"Sex\": {\"use\": \"person\", \"as\": \"sex\"},\n"
    "        \"Notes\": {\"use\": \"drop\"}\n"
    "      }\n"
    "    },\n"
    "    \"education\": {\n"
    "      \"date_formats\": [\"%d/%m/%Y\"],\n"
    "      \"columns\": {\n"
    "        \"EventDate\": {\"use\": \"event_date\", \"generalise\": \"month\"},\n"
    "        \"EventType\": {\"use\": \"event_type\"},\n"
    "        \"SchoolPhase\": {\"use\": \"event\", \"as\": \"school_phase\"},\n"
    "        \"SENStatus\": {\"use\": \"event\", \"as\": \"sen_status\"},\n"
    "        \"FreeSchoolMeals\": {\"use\": \"event\", \"as\": \"free_school_meals\"},\n"
    "        \"BirthYear\": {\"use\": \"person\", \"as\": \"age_band\", \"generalise\": \"age_band\"},\n"
    "        \"Sex\": {\"use\": \"person\", \"as\": \"sex\"},\n"
    "        \"Notes\": {\"use\": \"drop\"}\n"
    "      }\n"
    "    }\n"
    "  }\n"
    "}\n";

typedef struct {
    const char *out, *key, *at, *audit_log, *actor, *file, *party, *public_key;
    int force;
} dsa_args;

static int parse(int argc, char **argv, dsa_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        const char **dst = !strcmp(s, "--out")         ? &a->out
                           : !strcmp(s, "--key")       ? &a->key
                           : !strcmp(s, "--at")        ? &a->at
                           : !strcmp(s, "--audit-log") ? &a->audit_log
                           : !strcmp(s, "--actor")     ? &a->actor
                           : !strcmp(s, "--party")     ? &a->party
                           : !strcmp(s, "--public-key") ? &a->public_key
                                                       : NULL;
        if (dst) {
            if (++i >= argc)
                return cli_usage(usage_text, "dsa %s: %s needs a value", argv[1], s);
            *dst = argv[i];
        } else if (!strcmp(s, "--force")) {
            a->force = 1;
        } else if (s[0] == '-' && s[1]) {
            return cli_usage(usage_text, "dsa %s: unexpected option '%s'", argv[1], s);
        } else if (!a->file) {
            a->file = s;
        } else {
            return cli_usage(usage_text, "dsa %s: unexpected argument '%s'", argv[1], s);
        }
    }
    return -1;
}

static int write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) == EOF) {
        if (f)
            fclose(f);
        cli_errorf("%s: cannot write", path);
        return -1;
    }
    if (fclose(f) != 0) {
        cli_errorf("%s: cannot write", path);
        return -1;
    }
    return 0;
}

static int keygen(const dsa_args *a)
{
    if (!a->out)
        return cli_usage(usage_text, "dsa keygen: --out is required");
    bl_error err;
    bl_error_clear(&err);
    char pub[BL_ED25519_PUBLIC_HEX + 1];
    if (bl_signing_key_generate(a->out, a->force, pub, &err) != BL_OK)
        return cli_fail(&err);
    size_t n = strlen(a->out) + 5;
    char *pp = malloc(n);
    if (!pp)
        return EXIT_FAIL;
    snprintf(pp, n, "%s.pub", a->out);
    char line[BL_ED25519_PUBLIC_HEX + 2];
    snprintf(line, sizeof line, "%s\n", pub);
    int r = write_text(pp, line);
    fprintf(stderr, "bloomlink: signing key written to %s (owner-only); public key in %s\n", a->out, pp);
    free(pp);
    if (r)
        return EXIT_FAIL;
    printf("%s\n", pub);
    return EXIT_OK;
}

static int pubkey(const dsa_args *a)
{
    if (!a->key)
        return cli_usage(usage_text, "dsa pubkey: --key is required");
    bl_error err;
    bl_error_clear(&err);
    char pub[BL_ED25519_PUBLIC_HEX + 1];
    if (bl_signing_key_public(a->key, pub, &err) != BL_OK)
        return cli_fail(&err);
    printf("%s\n", pub);
    return EXIT_OK;
}

static int project_key(const dsa_args *a)
{
    if (!a->out)
        return cli_usage(usage_text, "dsa project-key: --out is required");
    bl_error err;
    bl_error_clear(&err);
    bl_key *k = NULL;
    char fp[BL_FINGERPRINT_HEX + 1];
    if (bl_key_generate_file(a->out, a->force, &err) != BL_OK || bl_key_load(a->out, &k, &err) != BL_OK ||
        bl_key_fingerprint(k, fp, &err) != BL_OK) {
        bl_key_free(k);
        return cli_fail(&err);
    }
    bl_key_free(k);
    fprintf(stderr, "bloomlink: project key written to %s (owner-only); its fingerprint, which "
                    "an agreement may pin as \"project_key_fingerprint\":\n", a->out);
    printf("%s\n", fp);
    return EXIT_OK;
}

static const char *state_text(bl_dsa_signature_state s)
{
    return s == BL_DSA_SIGNED ? "signed" : s == BL_DSA_BAD_SIGNATURE ? "BAD SIGNATURE" : "not signed";
}

static int sign(const dsa_args *a)
{
    if (!a->key || !a->file)
        return cli_usage(usage_text, "dsa sign: --key and the agreement file are required");
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    if (bl_dsa_load(a->file, &d, &err) != BL_OK || bl_dsa_sign(d, a->key, 0, &err) != BL_OK ||
        bl_dsa_save(d, a->out ? a->out : a->file, &err) != BL_OK) {
        bl_dsa_free(d);
        return cli_fail(&err);
    }
    size_t signed_n = 0;
    for (size_t i = 0; i < bl_dsa_party_count(d); i++)
        signed_n += bl_dsa_party_signature(d, i) == BL_DSA_SIGNED;
    printf("signed %s (sha256 %s): %zu of %zu parties have signed\n", a->out ? a->out : a->file,
           bl_dsa_hash(d), signed_n, bl_dsa_party_count(d));
    if (a->audit_log) {
        char details[256];
        snprintf(details, sizeof details, "{\"dsa_sha256\":\"%s\",\"project_id\":\"%s\",\"signatures\":%zu}",
                 bl_dsa_hash(d), bl_dsa_project_id(d), signed_n);
        if (bl_audit_append(a->audit_log, a->actor ? a->actor : gov_default_actor(), "dsa sign",
                            details, 0, NULL, &err) != BL_OK) {
            bl_dsa_free(d);
            return cli_fail(&err);
        }
    }
    bl_dsa_free(d);
    return EXIT_OK;
}

static int verify(const dsa_args *a)
{
    if (!a->file)
        return cli_usage(usage_text, "dsa verify: the agreement file is required");
    int64_t now = 0;
    if (a->at && !(now = gov_parse_day(a->at)))
        return cli_usage(usage_text, "dsa verify: --at takes a date YYYY-MM-DD");
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    if (bl_dsa_load(a->file, &d, &err) != BL_OK)
        return cli_fail(&err);
    printf("agreement %s\nproject   %s\nsha256    %s\n", a->file, bl_dsa_project_id(d), bl_dsa_hash(d));
    for (size_t i = 0; i < bl_dsa_party_count(d); i++)
        printf("  %-24s %.16s...  %s\n", bl_dsa_party_name(d, i), bl_dsa_party_public_key(d, i),
               state_text(bl_dsa_party_signature(d, i)));
    bl_status st = bl_dsa_verify(d, now, &err);
    bl_dsa_free(d);
    if (st != BL_OK)
        return cli_fail(&err);
    printf("OK: every party signed this text and the agreement is in force\n");
    return EXIT_OK;
}

static int canonical(const dsa_args *a)
{
    if (!a->file)
        return cli_usage(usage_text, "dsa canonical: the agreement file is required");
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    if (bl_dsa_load(a->file, &d, &err) != BL_OK)
        return cli_fail(&err);
    /* No newline: these are exactly the bytes that are signed. */
    fputs(bl_dsa_canonical_text(d), stdout);
    bl_dsa_free(d);
    return EXIT_OK;
}

static int example(const dsa_args *a)
{
    if (!a->out) {
        fputs(example_dsa, stdout);
        return EXIT_OK;
    }
    if (!a->force && access(a->out, F_OK) == 0) {
        cli_errorf("%s exists (use --force to replace it)", a->out);
        return EXIT_FAIL;
    }
    return write_text(a->out, example_dsa) ? EXIT_FAIL : EXIT_OK;
}

static int set_key(const dsa_args *a)
{
    if (!a->party || !a->public_key || !a->file)
        return cli_usage(usage_text, "dsa set-key: --party, --public-key and the agreement are required");
    char hex[BL_ED25519_PUBLIC_HEX + 2] = "";
    const char *k = a->public_key;
    if (strlen(k) != BL_ED25519_PUBLIC_HEX) {
        /* Not a key: the .pub file keygen wrote. */
        FILE *f = fopen(k, "r");
        if (!f || !fgets(hex, sizeof hex, f)) {
            if (f)
                fclose(f);
            cli_errorf("%s: not a public key and not a readable .pub file", k);
            return EXIT_FAIL;
        }
        fclose(f);
        hex[strcspn(hex, "\r\n")] = '\0';
        k = hex;
    }
    bl_error err;
    bl_error_clear(&err);
    bl_dsa *d = NULL;
    if (bl_dsa_load(a->file, &d, &err) != BL_OK || bl_dsa_set_party_key(d, a->party, k, &err) != BL_OK ||
        bl_dsa_save(d, a->out ? a->out : a->file, &err) != BL_OK) {
        bl_dsa_free(d);
        return cli_fail(&err);
    }
    printf("%s: party '%s' has key %.16s...; sha256 now %s (signatures cleared)\n",
           a->out ? a->out : a->file, a->party, k, bl_dsa_hash(d));
    bl_dsa_free(d);
    return EXIT_OK;
}

int cmd_dsa(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help")) {
        fputs(usage_text, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_USAGE : EXIT_OK;
    }
    dsa_args a;
    int r = parse(argc, argv, &a);
    if (r >= 0)
        return r;
    const char *sub = argv[1];
    if (!strcmp(sub, "keygen"))
        return keygen(&a);
    if (!strcmp(sub, "pubkey"))
        return pubkey(&a);
    if (!strcmp(sub, "project-key"))
        return project_key(&a);
    if (!strcmp(sub, "sign"))
        return sign(&a);
    if (!strcmp(sub, "verify"))
        return verify(&a);
    if (!strcmp(sub, "canonical"))
        return canonical(&a);
    if (!strcmp(sub, "example"))
        return example(&a);
    if (!strcmp(sub, "set-key"))
        return set_key(&a);
    return cli_usage(usage_text, "dsa: unknown subcommand '%s'", sub);
}
