#!/bin/bash
# test_cli_json: `tpm-key list --json` and `tpm-key status --json` are valid JSON with
# the schema of tpm-key(1) (JSON OUTPUT): keys with type, bits, fingerprint (as
# ssh-add -l shows it), keygrip, comment (quotes and backslashes escaped), PIN, origin
# (generated, imported) and
# certificates with their validity; the sealed objects; the status rows. The human
# table keeps its columns aligned.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || fail "python3 missing"

step "keys of both types, an awkward comment, a certificate, a sealed secret"
gen_key k1 ecdsa 256 'q"uote\back\slash'
FP1=$FP
gen_key k2 rsa 2048 plain
ssh-keygen -q -t ecdsa -b 256 -N '' -C imp -f "$T/imp" </dev/null || fail "ssh-keygen"
run_ok tk import --no-pin -n imp "$T/imp"
ssh-keygen -q -t ed25519 -N '' -C soft-ed -f "$T/ed" </dev/null || fail "ssh-keygen ed25519"
run_ok ssh-add "$T/ed"
ssh-keygen -q -t ecdsa -N '' -f "$T/ca" >/dev/null || fail "ssh-keygen CA"
run_ok tk pub k1
printf '%s\n' "$OUT" >"$T/k1.pub"
ssh-keygen -q -s "$T/ca" -I 'id "1"' -n alice,bob -V +1h -z 42 "$T/k1.pub" || fail "sign cert"
run_ok tk cert add k1 "$T/k1-cert.pub"
printf 's3cret' | timeout 60 "$TPM_KEY" seal sec --no-pin || fail "seal"

step "list --json parses and carries the schema's fields"
run_ok tk list --json
printf '%s\n' "$OUT" >"$T/list.json"
python3 - "$T/list.json" "$FP1" <<'PY' || fail "list --json: $OUT"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1
k = {x["name"]: x for x in d["keys"]}
a, b = k["k1"], k["k2"]
assert a["type"] == "ECDSA" and a["bits"] == 256, a
assert b["type"] == "RSA" and b["bits"] == 2048, b
assert a["fingerprint"] == sys.argv[2], a
assert len(a["keygrip"]) == 40, a
assert a["comment"] == 'q"uote\\back\\slash', a["comment"]
assert a["pin"] is False and a["protection"] == "none" and a["in_agent"] is True, a
c = a["certificates"]
assert len(c) == 1 and c[0]["serial"] == 42 and c[0]["key_id"] == 'id "1"', c
assert c[0]["principals"] == ["alice", "bob"] and c[0]["state"] == "valid", c
assert c[0]["stored"] in ("file", "nv"), c
assert b["certificates"] == [], b
assert a["origin"] == "generated" and b["origin"] == "generated", (a, b)
assert k["imp"]["origin"] == "imported", k["imp"]
assert a["usable"] is True, a
ed = [x for x in d["keys"] if x["comment"] == "soft-ed"]
assert len(ed) == 1 and ed[0]["type"] == "ED25519" and ed[0]["bits"] == 256, ed
assert ed[0]["keygrip"] is None and ed[0]["origin"] == "software", ed
assert d["sealed"] == [{"name": "sec", "policy": d["sealed"][0]["policy"]}], d["sealed"]
PY

step "status --json parses: label/value rows"
run_ok tk status --json
printf '%s\n' "$OUT" >"$T/status.json"
python3 - "$T/status.json" <<'PY' || fail "status --json: $OUT"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["version"] == 1 and len(d["status"]) >= 5, d
assert all(set(r) == {"label", "value"} for r in d["status"]), d
PY
run_fail tk status --bogus
assert_match "$ERR" "^tpm-key: status: bad arguments; usage: tpm-key status" "status with a bad option"

step "errors the agent words: one line, one prefix"
for c in "gen -n pinless" "unseal nosuch" "passwd nosuch"; do
	run_fail tk $c
	assert_eq 1 "$(wc -l <<<"$ERR")" "tpm-key $c: one line: $ERR"
	if grep -qE '^tpm-key: ([a-z-]+): \1( |:)' <<<"$ERR"; then
		fail "tpm-key $c: doubled prefix: $ERR"
	fi
done

step "the human table stays aligned"
run_ok tk list
printf '%s\n' "$OUT" | awk 'NR == 1 { c = index($0, "FINGERPRINT") } /^(k[12]|imp) |soft-ed/ {
	if (index($0, "SHA256:") != c) { print "misaligned: " $0; exit 1 } }' || fail "list table: $OUT"

echo "PASS: $IT_NAME"
