# t_gov_dsa.sh - dsa keygen / sign / verify: unsigned, partly signed, tampered,
# expired and outsider-signed agreements are refused; the signature is plain
# Ed25519 over the canonical text, so OpenSSL verifies it too.
set -eu
BL=$BLOOMLINK
fail() { echo "FAIL: $*" >&2; exit 1; }

$BL dsa keygen --out a.key > a.hex
$BL dsa keygen --out b.key > /dev/null
$BL dsa keygen --out outsider.key > /dev/null
[ "$(cat a.hex)" = "$(cat a.key.pub)" ] || fail "keygen prints the public key"
[ "$($BL dsa pubkey --key a.key)" = "$(cat a.hex)" ] || fail "pubkey"
case $(ls -l a.key) in -rw-------*) ;; *) fail "signing key not owner-only" ;; esac
if $BL dsa keygen --out a.key > /dev/null 2>&1; then fail "keygen overwrote a key"; fi

cat > dsa.json <<JSON
{"format": "bloomlink-dsa/1", "project_id": "cli-test",
 "purpose": "command line test of signing",
 "parties": [{"name": "alpha", "public_key": "$(cat a.key.pub)"},
             {"name": "beta", "public_key": "$(cat b.key.pub)"}],
 "valid_from": "2024-01-01", "expires": "2098-12-31", "retain_until": "2099-12-31",
 "pseudonym_scope": "project", "outputs": ["sqlite"],
 "opt_out": {"rule": "none"},
 "sources": {"gp": {"columns": {"EventDate": {"use": "event_date", "generalise": "year"}}}}}
JSON

if $BL dsa verify dsa.json > out.txt 2> err.txt; then fail "unsigned verified"; fi
grep -q "has not signed" err.txt || fail "unsigned: message"
$BL dsa sign --key a.key dsa.json > /dev/null
if $BL dsa verify dsa.json > /dev/null 2>&1; then fail "partly signed verified"; fi
if $BL dsa sign --key outsider.key dsa.json > /dev/null 2> err.txt; then fail "outsider signed"; fi
grep -q "no party" err.txt || fail "outsider: message"
$BL dsa sign --key b.key --audit-log audit.log --actor beta dsa.json > /dev/null
$BL dsa verify dsa.json > out.txt || fail "fully signed did not verify"
grep -q "OK: every party signed" out.txt || fail "verify output"
$BL audit verify audit.log > /dev/null || fail "sign audit entry"

# Expiry: a day after the last day, and before the first.
if $BL dsa verify --at 2099-01-01 dsa.json > /dev/null 2> err.txt; then fail "expired verified"; fi
grep -q "expired on 2098-12-31" err.txt || fail "expired: message"
if $BL dsa verify --at 2023-12-31 dsa.json > /dev/null 2>&1; then fail "early verified"; fi
$BL dsa verify --at 2098-12-31 dsa.json > /dev/null || fail "last day refused"

# Interoperability: openssl verifies a party's signature over the canonical text.
if command -v openssl > /dev/null && command -v xxd > /dev/null; then
    $BL dsa canonical dsa.json > canon.bin
    openssl pkey -in a.key -pubout -out a.pub.pem
    sig=$(tr -d ' \n' < dsa.json | sed 's/.*"public_key":"'"$(cat a.key.pub)"'","signature":"\([0-9a-f]*\)".*/\1/')
    printf '%s' "$sig" | xxd -r -p > a.sig
    [ "$(wc -c < a.sig)" -eq 64 ] || fail "could not extract the signature"
    openssl pkeyutl -verify -pubin -inkey a.pub.pem -rawin -in canon.bin -sigfile a.sig > /dev/null \
        || fail "openssl rejects the signature"
fi

# Tampered: any change of the signed text breaks every signature.
sed 's/"year"/"month"/' dsa.json > tampered.json
if $BL dsa verify tampered.json > out.txt 2> err.txt; then fail "tampered verified"; fi
grep -q "BAD SIGNATURE" out.txt || fail "tampered: status"
grep -q "changed after signing" err.txt || fail "tampered: message"
# Reformatting is not tampering.
tr -d '\n' < dsa.json > oneline.json
$BL dsa verify oneline.json > /dev/null || fail "reformatted agreement refused"

# A group-readable signing key is refused.
chmod 640 b.key
if $BL dsa sign --key b.key dsa.json > /dev/null 2> err.txt; then fail "group-readable key used"; fi
grep -q "chmod 600" err.txt || fail "key mode: message"
# The built-in example is examples/dsa.json, and set-key fills a draft.
$BL dsa example | cmp - "$BL_SRCDIR/examples/dsa.json" || fail "built-in example differs from examples/dsa.json"
$BL dsa example --out ex.json
$BL dsa set-key --party gp-federation --public-key a.key.pub ex.json > /dev/null
grep -q "$(cat a.key.pub)" ex.json || fail "set-key"
if $BL dsa set-key --party nobody --public-key a.key.pub ex.json > /dev/null 2>&1; then fail "set-key on no party"; fi
echo ok
