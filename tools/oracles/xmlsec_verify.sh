#!/usr/bin/env bash
# xmlsec1 as a signature oracle: does FILE carry a valid XML-DSig made by CERT's key?
#
#   xmlsec_verify.sh CERT FILE ELEMENT_LOCALNAME [NAMESPACE|-] [WHICH]
#
#   CERT     PEM certificate: the ONLY key trusted (keys/certs inside KeyInfo are ignored)
#   FILE     the XML document, raw or base64 of it
#   ELEMENT  local name of the signed element whose ID attribute the Reference points at:
#            Response, Assertion, AuthnRequest, LogoutRequest, LogoutResponse, EntityDescriptor...
#   NAMESPACE its namespace URI; "-" or absent = the SAML one for ELEMENT (protocol, assertion, metadata)
#   WHICH    which ds:Signature to verify (xmlsec1 verifies exactly one per run):
#              child   (default) the enveloped signature of the FIRST ELEMENT in document order:
#                      a direct ds:Signature child whose Reference URI is "#" + that element's ID
#                      (so a signature moved next to a wrapped copy is not picked up)
#              first   xmlsec1's own default: the first Signature in document order
#              id=VAL  first Signature inside the element whose ID is VAL (xmlsec1 --node-id)
#              /...    any XPath selecting the Signature node (xmlsec1 --node-xpath)
#
# Exit 0 iff xmlsec1 says OK; 1 if the signature does not verify; 2 on usage errors.
# Prints one line (OK / FAIL: reason); XMLSEC_VERBOSE=1 also shows xmlsec1's own output.
# xmlsec1 checks the cryptography only (no times, audience, ...). The default WHICH=child also
# insists that the signature sits in, and covers, the first ELEMENT; that catches a signature
# moved beside a wrapped copy, but it is not a full signature-wrapping defence.
set -u

usage() { echo "usage: $0 CERT FILE ELEMENT_LOCALNAME [NAMESPACE|-] [child|first|id=ID|XPATH]" >&2; exit 2; }
[ $# -ge 3 ] && [ $# -le 5 ] || usage
cert=$1 file=$2 elem=$3 ns=${4:--} which=${5:-child}
[ -r "$cert" ] || { echo "cannot read cert $cert" >&2; exit 2; }
[ -r "$file" ] || { echo "cannot read file $file" >&2; exit 2; }
command -v xmlsec1 >/dev/null || { echo "xmlsec1 not installed (scripts/setup-oracles.sh)" >&2; exit 2; }

if [ "$ns" = - ]; then
  case $elem in
    Assertion|EncryptedAssertion) ns=urn:oasis:names:tc:SAML:2.0:assertion ;;
    EntityDescriptor|EntitiesDescriptor) ns=urn:oasis:names:tc:SAML:2.0:metadata ;;
    *) ns=urn:oasis:names:tc:SAML:2.0:protocol ;;
  esac
fi

dsig=http://www.w3.org/2000/09/xmldsig#
case $which in
  child) select=(--node-xpath "(//*[local-name()='$elem' and namespace-uri()='$ns'])[1]/*[local-name()='Signature' and namespace-uri()='$dsig'][*[local-name()='SignedInfo']/*[local-name()='Reference']/@URI = concat('#', ../@ID)]") ;;
  first) select=() ;;
  id=*)  select=(--node-id "${which#id=}") ;;
  /*|\(*) select=(--node-xpath "$which") ;;
  *) usage ;;
esac

tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
# Accept base64 (as POSTed in SAMLResponse) as well as raw XML.
if LC_ALL=C grep -q '<' "$file"; then doc=$file
else base64 -d <(tr -d ' \r\n\t' <"$file") >"$tmp/doc.xml" 2>/dev/null || { echo "FAIL: not XML nor base64" ; exit 1; }
  doc=$tmp/doc.xml
fi

# --enabled-key-data rsa,ecdsa: without it xmlsec1 also takes a key from the document's KeyInfo
#   (<KeyValue>, or an X509Certificate with --insecure) and says OK for an untrusted signer.
# --enabled-reference-uris same-doc: only URI="#id"; never fetch remote or local-file URIs.
# --id-attr:ID ns:elem: SAML IDs are not DTD IDs; tell xmlsec1 which attribute to resolve #id with.
xmlsec1 --verify \
  --enabled-key-data rsa,ecdsa \
  --enabled-reference-uris same-doc \
  --pubkey-cert-pem "$cert" \
  --id-attr:ID "$ns:$elem" \
  ${select[@]+"${select[@]}"} \
  "$doc" >"$tmp/out" 2>&1
rc=$?
[ "${XMLSEC_VERBOSE:-0}" = 1 ] && cat "$tmp/out" >&2
if [ $rc -eq 0 ] && grep -qx OK "$tmp/out"; then
  echo OK
  exit 0
fi
if grep -q 'does not return a single node' "$tmp/out"; then
  [ "$which" = child ] && echo "FAIL: the first $elem has no enveloped ds:Signature over its own ID" \
                       || echo "FAIL: $which does not select exactly one ds:Signature"
  exit 1
fi
reason=$(grep -E '^func=|^Error' "$tmp/out" | head -n 1 |
  sed -E 's/^func=([^:]*):.*:subj=(.*):error=[0-9]+:(.*)$/\1: \3 [\2]/' | cut -c1-200)
echo "FAIL: ${reason:-$(head -n 1 "$tmp/out")}"
exit 1
