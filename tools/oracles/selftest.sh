#!/usr/bin/env bash
# Self-test of the oracles (run scripts/setup-oracles.sh first). Makes two throw-away RSA keys,
# signs a small Response with xmlsec1 and one with samlify, and checks that each oracle accepts
# the good documents and rejects tampered / wrongly-keyed ones. Ends with "N passed, N failed".
set -uo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
O=$REPO/tools/oracles
PY=$REPO/.venv/bin/python
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { # check NAME EXPECT(ok|fail) CMD...  -- ok means exit 0 (and "valid": true for p3saml)
  local name=$1 expect=$2 out got; shift 2
  out=$("$@" 2>&1) && got=ok || got=fail
  case $out in *'"valid": false'*) got=fail ;; esac
  if [ "$got" = "$expect" ]; then pass=$((pass + 1)); echo "ok    $name"
  else fail=$((fail + 1)); echo "FAIL  $name (expected $expect): $(tail -c 300 <<<"$out")"; fi
}

for k in A B; do
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/$k.key" -out "$T/$k.crt" -days 2 \
    -subj "/CN=oracle-selftest-$k" 2>/dev/null || { echo "openssl failed"; exit 1; }
done

# A Response with an (unfilled) enveloped signature template on the Response and on the Assertion.
now=$(date -u +%FT%TZ) later=$(date -u -d '+5 min' +%FT%TZ)
acs=https://sp.example.com/saml/acs aud=https://sp.example.com/metadata idp=https://idp.example.com/
sig() {
  echo "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>\
<ds:SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
<ds:Reference URI=\"#$1\"><ds:Transforms>\
<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/></ds:Transforms>\
<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/><ds:DigestValue/></ds:Reference>\
</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>"
}
cat >"$T/tpl.xml" <<EOF
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="$now" Destination="$acs"><saml:Issuer>$idp</saml:Issuer>$(sig _r1)<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_a1" Version="2.0" IssueInstant="$now"><saml:Issuer>$idp</saml:Issuer>$(sig _a1)<saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice@example.com</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData NotOnOrAfter="$later" Recipient="$acs"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="$now" NotOnOrAfter="$later"><saml:AudienceRestriction><saml:Audience>$aud</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="$now" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="mail"><saml:AttributeValue>alice@example.com</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>
EOF
# Sign the Assertion first (inner), then the Response (its digest covers the signed Assertion).
P=urn:oasis:names:tc:SAML:2.0:protocol A=urn:oasis:names:tc:SAML:2.0:assertion
xmlsec1 --sign --privkey-pem "$T/A.key,$T/A.crt" --id-attr:ID "$A:Assertion" \
  --node-xpath "//*[local-name()='Assertion']/*[local-name()='Signature']" --output "$T/s1.xml" "$T/tpl.xml" &&
xmlsec1 --sign --privkey-pem "$T/A.key,$T/A.crt" --id-attr:ID "$P:Response" \
  --node-xpath "/*/*[local-name()='Signature']" --output "$T/good.xml" "$T/s1.xml" || { echo "xmlsec1 --sign failed"; exit 1; }
sed 's#>alice@example.com</saml:NameID>#>mallory@example.com</saml:NameID>#' "$T/good.xml" >"$T/tampered.xml"
# Same key A, but KeyInfo carries A's public key as <KeyValue>: trusting B must still fail.
sed 's#<ds:KeyInfo><ds:X509Data/></ds:KeyInfo>#<ds:KeyInfo><ds:KeyValue/></ds:KeyInfo>#' "$T/tpl.xml" >"$T/tplkv.xml"
xmlsec1 --sign --privkey-pem "$T/A.key" --id-attr:ID "$P:Response" \
  --node-xpath "/*/*[local-name()='Signature']" --output "$T/keyvalue.xml" "$T/tplkv.xml" || exit 1

V=$O/xmlsec_verify.sh
check "xmlsec1: Response signed by A, trust A"        ok   "$V" "$T/A.crt" "$T/good.xml" Response
check "xmlsec1: Assertion signed by A, trust A"       ok   "$V" "$T/A.crt" "$T/good.xml" Assertion
check "xmlsec1: Response, trust B (cert A in KeyInfo)" fail "$V" "$T/B.crt" "$T/good.xml" Response
check "xmlsec1: KeyValue of A in KeyInfo, trust B"    fail "$V" "$T/B.crt" "$T/keyvalue.xml" Response
check "xmlsec1: tampered NameID (Assertion sig)"      fail "$V" "$T/A.crt" "$T/tampered.xml" Assertion
check "xmlsec1: tampered NameID (Response sig)"       fail "$V" "$T/A.crt" "$T/tampered.xml" Response
check "xmlsec1: 'first' on Assertion picks the Response's signature" fail \
  "$V" "$T/A.crt" "$T/good.xml" Assertion - first
check "xmlsec1: id=_a1 selects the Assertion's signature" ok "$V" "$T/A.crt" "$T/good.xml" Assertion - id=_a1

SP=("$PY" "$O/p3saml_sp.py" --idp-entity-id "$idp" --sp-entity-id "$aud" --acs "$acs")
check "python3-saml: good, both signatures wanted"    ok   "${SP[@]}" --response "$T/good.xml" --idp-cert "$T/A.crt" --want-assertions-signed --want-messages-signed
check "python3-saml: good, as base64"                 ok   "${SP[@]}" --response <(base64 -w0 "$T/good.xml") --idp-cert "$T/A.crt"
check "python3-saml: tampered"                        fail "${SP[@]}" --response "$T/tampered.xml" --idp-cert "$T/A.crt"
check "python3-saml: untrusted cert"                  fail "${SP[@]}" --response "$T/good.xml" --idp-cert "$T/B.crt"
check "python3-saml: clock after NotOnOrAfter"        fail "${SP[@]}" --response "$T/good.xml" --idp-cert "$T/A.crt" --now 2099-01-01T00:00:00Z
check "python3-saml: wrong audience"                  fail "$PY" "$O/p3saml_sp.py" --idp-entity-id "$idp" --sp-entity-id urn:amazon:webservices --acs "$acs" --response "$T/good.xml" --idp-cert "$T/A.crt"
check "python3-saml: wrong ACS (Destination)"         fail "$PY" "$O/p3saml_sp.py" --idp-entity-id "$idp" --sp-entity-id "$aud" --acs https://sp.example.com/other --response "$T/good.xml" --idp-cert "$T/A.crt"

C=$REPO/../shared/corpus/python3-saml/tests/data/responses/valid_response.xml.base64
if [ -r "$C" ]; then
  CC=$REPO/../shared/corpus/_certs/c51cfa06c7a49767.pem
  CSP=("$PY" "$O/p3saml_sp.py" --response "$C" --idp-cert "$CC" --idp-entity-id http://idp.example.com/
       --sp-entity-id http://stuff.com/endpoints/metadata.php --acs 'https://pitbulk.no-ip.org/newonelogin/demo1/index.php?acs')
  check "python3-saml: corpus valid_response at its clock (sha1 allowed)" ok   "${CSP[@]}" --now 2014-02-19T01:37:01Z --allow-sha1
  check "python3-saml: corpus valid_response, sha1 rejected"             fail "${CSP[@]}" --now 2014-02-19T01:37:01Z
  check "python3-saml: corpus valid_response before its NotBefore"      fail "${CSP[@]}" --now 2014-02-19T00:30:00Z --allow-sha1
  check "python3-saml: corpus valid_response after it expires (2054)"    fail "${CSP[@]}" --now 2054-08-23T06:57:02Z --allow-sha1
fi

for mode in assertion response both; do
  check "samlify IdP: sign=$mode generates" ok node "$REPO/tools/node/samlify_idp.js" --key "$T/A.key" --cert "$T/A.crt" \
    --out-response "$T/aws-$mode.xml" --out-metadata "$T/idp-md.xml" --sign $mode \
    --roles "arn:aws:iam::111122223333:role/R,arn:aws:iam::111122223333:saml-provider/P;arn:aws:iam::111122223333:role/R2,arn:aws:iam::111122223333:saml-provider/P"
  AWS=("$PY" "$O/p3saml_sp.py" --response "$T/aws-$mode.xml" --idp-entity-id https://idp.samlify.test/metadata
       --sp-entity-id urn:amazon:webservices --acs https://signin.aws.amazon.com/saml)
  check "samlify IdP: sign=$mode, python3-saml accepts" ok   "${AWS[@]}" --idp-cert "$T/A.crt"
  check "samlify IdP: sign=$mode, python3-saml, wrong cert" fail "${AWS[@]}" --idp-cert "$T/B.crt"
done
check "samlify IdP: xmlsec1 Assertion (sign=assertion)" ok   "$V" "$T/A.crt" "$T/aws-assertion.xml" Assertion
check "samlify IdP: xmlsec1 Response (sign=response)"   ok   "$V" "$T/A.crt" "$T/aws-response.xml" Response
check "samlify IdP: xmlsec1 Response (sign=assertion)"  fail "$V" "$T/A.crt" "$T/aws-assertion.xml" Response
check "samlify IdP: xmlsec1 Response (sign=both)"       ok   "$V" "$T/A.crt" "$T/aws-both.xml" Response
check "samlify IdP: xmlsec1 Assertion (sign=both)"      ok   "$V" "$T/A.crt" "$T/aws-both.xml" Assertion
check "samlify IdP: xmlsec1 Assertion, trust B"         fail "$V" "$T/B.crt" "$T/aws-both.xml" Assertion
check "samlify IdP: 2 Role values in AttributeStatement" ok \
  "$PY" -c 'import sys,json; d=json.loads(sys.stdin.read()); r=d["attributes"]["https://aws.amazon.com/SAML/Attributes/Role"]; sys.exit(0 if d["valid"] and len(r)==2 else 1)' \
  < <("${AWS[@]}" --idp-cert "$T/A.crt")

echo "oracles selftest: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
