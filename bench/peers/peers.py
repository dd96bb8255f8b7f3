#!/usr/bin/env python3
"""Python peers of idfed's sign/verify benchmark: how fast other SAML stacks sign and verify the
same typical AWS response (a Response with one Assertion signed with RSA-SHA256, SHA-256 digest,
exclusive c14n, two Role values, about 4 KB).

Measured in this process, after imports, with keys and certificates loaded once outside the loop:

  sign      from the response with its ds:Signature removed (the unsigned document, as bytes):
            parse it, put an enveloped signature on the saml:Assertion (right after its saml:Issuer,
            Reference URI="#<Assertion ID>", with the X.509 certificate in KeyInfo) and serialize
            the whole document to bytes: what an IdP must produce.
  verify    from the signed response bytes (the base64-decoded SAMLResponse): parse, then verify the
            Assertion's signature with the configured certificate (never the one in KeyInfo) and
            return the verified element.
  validate  a library's whole SP-side check of the base64 SAMLResponse (signature, issuer, times,
            audience, recipient...), with its clock frozen inside the response's validity window.

Before timing, each row is checked once: a signer's output must pass `xmlsec1 --verify` with only
the certificate trusted, and must carry its signature where SAML wants it; a verifier must accept
the response and reject a copy with one Role value changed. A row that fails is reported with an
"error" and not timed. Each op runs for a short warm-up, then for SECONDS of wall time; the
figures are the mean time per op and ops per second on one core.

Usage: peers.py --key KEY.pem --cert CERT.pem --response RESPONSE.b64 [--seconds 3]
Prints one JSON object: {"python": VERSION, "peers": [{"peer", "op", "mean_us", "per_second",
"iterations", "note"} or {"peer", "op", "error", "note"}, ...]}. Exit status 1 if a row failed.
"""
import argparse
import base64
import json
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

from lxml import etree

SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
DS = "http://www.w3.org/2000/09/xmldsig#"
NS = {"saml": SAML, "samlp": SAMLP, "ds": DS}
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
# One Role value of the fixture, and what the tampered copy says instead.
ROLE = b"arn:aws:iam::111122223333:role/Okta_Role,"
TAMPERED_ROLE = b"arn:aws:iam::111122223333:role/Okta_Evil,"
AWS_ACS = "https://signin.aws.amazon.com/saml"
AWS_AUDIENCE = "urn:amazon:webservices"

# No DTDs, entities or network: the parser an SP should use for hostile input.
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)


class PeerError(Exception):
    """A peer produced a wrong result: the row is reported, not timed."""


# ---------------------------------------------------------------- fixture


class Fixture:
    """The key, the certificate and the documents every peer works on."""

    def __init__(self, key_path, cert_path, response_path):
        with open(key_path, "rb") as f:
            self.key_pem = f.read()
        with open(cert_path, "rb") as f:
            self.cert_pem = f.read()
        self.cert_path = cert_path
        with open(response_path, "rb") as f:
            self.signed_b64 = b"".join(f.read().split())
        self.signed = base64.b64decode(self.signed_b64, validate=True)
        if ROLE not in self.signed:
            raise SystemExit("peers.py: the response carries no %s value" % ROLE.decode())
        self.tampered = self.signed.replace(ROLE, TAMPERED_ROLE, 1)
        self.tampered_b64 = base64.b64encode(self.tampered)
        root = etree.fromstring(self.signed, PARSER)
        assertion = root.find("saml:Assertion", NS)
        self.assertion_id = assertion.get("ID")
        self.issuer = root.findtext("saml:Issuer", namespaces=NS)
        self.issue_instant = assertion.get("IssueInstant")
        self.unsigned = unsigned_document(root)

    def input_for(self, op, tampered=False):
        """A verifier reads the XML bytes; a validator reads the POSTed base64."""
        if op == "validate":
            return self.tampered_b64 if tampered else self.signed_b64
        return self.tampered if tampered else self.signed


def unsigned_document(root):
    """The response bytes with the Assertion's ds:Signature removed."""
    assertion = root.find("saml:Assertion", NS)
    signature = assertion.find("ds:Signature", NS)
    if signature is None:
        raise SystemExit("peers.py: the response's Assertion is not signed")
    assertion.remove(signature)
    return etree.tostring(root)


def assertion_and_issuer(root):
    """The Response's Assertion and that Assertion's Issuer (None where missing)."""
    assertion = root.find("saml:Assertion", NS)
    return assertion, None if assertion is None else assertion.find("saml:Issuer", NS)


# ---------------------------------------------------------------- checks


def check_signed(fx, out):
    """out (a signed document) must carry one enveloped signature as SAML wants it, and xmlsec1,
    trusting only the certificate, must say it verifies."""
    root = etree.fromstring(out, PARSER)
    assertion, issuer = assertion_and_issuer(root)
    if assertion is None or issuer is None:
        raise PeerError("signed output lost the Assertion or its Issuer")
    sig = issuer.getnext()
    if sig is None or sig.tag != "{%s}Signature" % DS:
        raise PeerError("ds:Signature is not the element right after the Assertion's Issuer")
    uris = [r.get("URI") for r in sig.iterfind("ds:SignedInfo/ds:Reference", NS)]
    if uris != ["#" + fx.assertion_id]:
        raise PeerError("Reference URIs are %r, not the Assertion's ID" % uris)
    if len(root.findall(".//ds:Signature", NS)) != 1:
        raise PeerError("signed output carries more than one ds:Signature")
    xmlsec1_verify(fx.cert_path, out)


def xmlsec1_verify(cert_path, document):
    with tempfile.NamedTemporaryFile(suffix=".xml") as f:
        f.write(document)
        f.flush()
        r = subprocess.run(
            ["xmlsec1", "--verify", "--enabled-key-data", "rsa", "--pubkey-cert-pem", cert_path,
             "--id-attr:ID", SAML + ":Assertion", f.name],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = r.stdout.strip().splitlines()
    if r.returncode != 0 or "OK" not in lines:
        raise PeerError("xmlsec1 rejects the signed output: %s" % (lines[-1] if lines else r.returncode))


def check_verifier(fx, op, verify):
    """verify must accept the response (returning the Assertion, or True where the library only
    says yes or no) and reject the tampered copy (raise, or return a false value)."""
    try:
        result = verify(fx.input_for(op))
    except Exception as e:
        raise PeerError("rejects the valid response: %s" % (str(e) or type(e).__name__))
    if result is None or result is False:
        raise PeerError("rejects the valid response")
    if isinstance(result, etree._Element) and (
            result.tag != "{%s}Assertion" % SAML or result.get("ID") != fx.assertion_id):
        raise PeerError("returned %s, not the signed Assertion" % result.tag)
    try:
        tampered = verify(fx.input_for(op, tampered=True))
    except Exception:
        return
    if tampered is not None and tampered is not False:
        raise PeerError("accepts a response whose Role value was changed after signing")


# ---------------------------------------------------------------- timing


def run_for(fn, seconds):
    """Call fn() until `seconds` of wall time have passed; return (iterations, elapsed)."""
    clock = time.perf_counter
    start = clock()
    end = start + seconds
    n = 0
    while True:
        fn()
        n += 1
        now = clock()
        if now >= end:
            return n, now - start


def measure(fn, seconds):
    run_for(fn, min(0.5, max(0.1, seconds / 10)))  # warm-up: caches, allocator, lazy imports
    n, elapsed = run_for(fn, seconds)
    return {"mean_us": round(elapsed / n * 1e6, 1), "per_second": round(n / elapsed, 1),
            "iterations": n}


# ---------------------------------------------------------------- python-xmlsec


def xmlsec_name():
    import xmlsec
    lib = ".".join(map(str, xmlsec.get_libxmlsec_version()))
    return "python-xmlsec %s (libxmlsec1 %s)" % (version("xmlsec"), lib)


def xmlsec_sign(fx):
    """Build the signature template with xmlsec.template and let libxmlsec1 fill it in. The key is
    loaded without its certificate and the certificate is written into X509Data here, with
    libxmlsec1 told to leave KeyInfo alone: a Key that carries a certificate costs about 0.25 ms
    more per signature, because the SignatureContext duplicates it (certificate included)."""
    import xmlsec
    key = xmlsec.Key.from_memory(fx.key_pem, xmlsec.KeyFormat.PEM)
    cert_b64 = pem_body(fx.cert_pem)

    def sign():
        root = etree.fromstring(fx.unsigned, PARSER)
        assertion, issuer = assertion_and_issuer(root)
        sig = xmlsec.template.create(root, xmlsec.Transform.EXCL_C14N, xmlsec.Transform.RSA_SHA256,
                                     ns="ds")
        issuer.addnext(sig)
        ref = xmlsec.template.add_reference(sig, xmlsec.Transform.SHA256,
                                            uri="#" + assertion.get("ID"))
        xmlsec.template.add_transform(ref, xmlsec.Transform.ENVELOPED)
        c14n = xmlsec.template.add_transform(ref, xmlsec.Transform.EXCL_C14N)
        xmlsec.template.transform_add_c14n_inclusive_namespaces(c14n, ["xs"])
        x509_data = etree.SubElement(xmlsec.template.ensure_key_info(sig), "{%s}X509Data" % DS)
        etree.SubElement(x509_data, "{%s}X509Certificate" % DS).text = cert_b64
        ctx = xmlsec.SignatureContext()
        ctx.set_enabled_key_data([xmlsec.KeyData.RSA])  # X509Data is not written by libxmlsec1
        ctx.register_id(assertion, "ID")
        ctx.key = key
        ctx.sign(sig)
        return etree.tostring(root)

    return sign


def pem_body(pem):
    """The base64 text between a PEM message's boundaries, on one line."""
    lines = pem.decode("ascii").strip().splitlines()
    return "".join(line for line in lines if not line.startswith("-----"))


def public_key_pem(cert_pem):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    cert = x509.load_pem_x509_certificate(cert_pem)
    return cert.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)


def xmlsec_verify(fx):
    """The Assertion's own enveloped signature, its Reference pointing at that Assertion, checked
    with the certificate's public key set on the context (libxmlsec1 then reads no key from
    KeyInfo). The key is taken from the certificate once: a Key loaded as CERT_PEM costs about
    0.25 ms more per verification, because the SignatureContext duplicates it."""
    import xmlsec
    cert_key = xmlsec.Key.from_memory(public_key_pem(fx.cert_pem), xmlsec.KeyFormat.PEM)

    def verify(xml):
        root = etree.fromstring(xml, PARSER)
        assertions = root.findall("saml:Assertion", NS)
        if len(assertions) != 1:
            raise PeerError("expected one Assertion")
        assertion = assertions[0]
        sig = assertion.find("ds:Signature", NS)
        refs = sig.findall("ds:SignedInfo/ds:Reference", NS)
        if len(refs) != 1 or refs[0].get("URI") != "#" + assertion.get("ID"):
            raise PeerError("the signature does not cover its Assertion")
        ctx = xmlsec.SignatureContext()
        ctx.register_id(assertion, "ID")
        ctx.key = cert_key
        ctx.verify(sig)  # raises xmlsec.VerificationError
        return assertion

    return verify


# ---------------------------------------------------------------- signxml


def signxml_name():
    return "signxml %s" % version("signxml")


def signxml_sign(fx):
    """XMLSigner places an enveloped signature where a ds:Signature Id="placeholder" element
    stands; without one it would append the signature to the Response."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from signxml import DigestAlgorithm, SignatureMethod, XMLSigner, methods
    key = load_pem_private_key(fx.key_pem, password=None)
    certs = [x509.load_pem_x509_certificate(fx.cert_pem)]
    signer = XMLSigner(method=methods.enveloped, signature_algorithm=SignatureMethod.RSA_SHA256,
                       digest_algorithm=DigestAlgorithm.SHA256, c14n_algorithm=EXC_C14N)

    def sign():
        root = etree.fromstring(fx.unsigned, PARSER)
        assertion, issuer = assertion_and_issuer(root)
        issuer.addnext(etree.Element("{%s}Signature" % DS, Id="placeholder", nsmap={"ds": DS}))
        signed = signer.sign(root, key=key, cert=certs, reference_uri=assertion.get("ID"),
                             id_attribute="ID")
        return etree.tostring(signed)

    return sign


def signxml_verify(fx):
    """XMLVerifier with the certificate as x509_cert, the signature expected as a child of the
    Response's Assertion, one Reference, RSA-SHA256 and SHA-256 only; returns the signed Assertion
    as signxml re-parses it from the canonical bytes it digested."""
    from cryptography import x509
    from signxml import DigestAlgorithm, SignatureConfiguration, SignatureMethod, XMLVerifier
    cert = x509.load_pem_x509_certificate(fx.cert_pem)
    config = SignatureConfiguration(
        location="./{%s}Assertion/" % SAML, expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}))

    def verify(xml):
        result = XMLVerifier().verify(xml, x509_cert=cert, expect_config=config, id_attribute="ID")
        return result.signed_xml

    return verify


# ---------------------------------------------------------------- python3-saml


def p3saml_name():
    return "python3-saml %s (python-xmlsec %s)" % (version("python3-saml"), version("xmlsec"))


def assertion_bounds(fx):
    """Byte offsets of the Assertion element in the unsigned document."""
    root = etree.fromstring(fx.unsigned, PARSER)
    assertion, _ = assertion_and_issuer(root)
    tag = assertion.prefix.encode() + b":Assertion" if assertion.prefix else b"Assertion"
    start = fx.unsigned.index(b"<" + tag + b" ")
    end = fx.unsigned.index(b"</" + tag + b">") + len(tag) + 3
    return start, end


def p3saml_sign(fx):
    """OneLogin_Saml2_Utils.add_sign signs the element holding the first saml:Issuer of the
    document it is given, which in a Response is the Response's own Issuer. So it is given the
    Assertion alone (it parses it, signs it, serializes it), and its output is spliced back into
    the Response bytes. It takes the key and certificate as PEM text and loads them on every call."""
    from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    start, end = assertion_bounds(fx)
    head, assertion, tail = fx.unsigned[:start], fx.unsigned[start:end], fx.unsigned[end:]
    key, cert = fx.key_pem.decode(), fx.cert_pem.decode()

    def sign():
        signed = OneLogin_Saml2_Utils.add_sign(assertion, key, cert, sign_algorithm=C.RSA_SHA256,
                                               digest_algorithm=C.SHA256)
        return head + signed + tail

    return sign


def p3saml_verify(fx):
    """OneLogin_Saml2_Utils.validate_sign on the Response bytes with the certificate: it finds the
    signature at /samlp:Response/saml:Assertion/ds:Signature and says True or raises."""
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    cert = fx.cert_pem.decode()

    def verify(xml):
        return OneLogin_Saml2_Utils.validate_sign(xml, cert=cert, raise_exceptions=True)

    return verify


def freeze_clock_at(saml_instant):
    """python3-saml reads the time through OneLogin_Saml2_Utils.now(): pin it one second after
    the response was issued, so the fixture stays in its validity window however old it is."""
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    frozen = OneLogin_Saml2_Utils.parse_SAML_to_time(saml_instant) + 1
    OneLogin_Saml2_Utils.now = staticmethod(lambda: frozen)


def p3saml_validate(fx):
    """OneLogin_Saml2_Response(settings, SAMLResponse).is_valid as AWS's sign-in endpoint would
    run it: strict, assertions must be signed, audience urn:amazon:webservices, Destination and
    Recipient https://signin.aws.amazon.com/saml, IdP issuer and certificate from the settings."""
    from onelogin.saml2.response import OneLogin_Saml2_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    freeze_clock_at(fx.issue_instant)
    settings = OneLogin_Saml2_Settings({
        "strict": True,
        "sp": {"entityId": AWS_AUDIENCE,
               "assertionConsumerService": {
                   "url": AWS_ACS, "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}},
        "idp": {"entityId": fx.issuer,
                "singleSignOnService": {
                    "url": "https://idp.invalid/sso",
                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
                "x509cert": fx.cert_pem.decode()},
        "security": {"wantAssertionsSigned": True, "wantNameId": True,
                     "rejectDeprecatedAlgorithm": True},
    })
    request_data = {"https": "on", "http_host": "signin.aws.amazon.com", "script_name": "/saml",
                    "get_data": {}, "post_data": {}}

    def validate(b64):
        response = OneLogin_Saml2_Response(settings, b64.decode("ascii"))
        return response.is_valid(request_data, raise_exceptions=True)

    return validate


# ---------------------------------------------------------------- the rows

# (name function, op, setup function, note)
ROWS = [
    (xmlsec_name, "sign", xmlsec_sign,
     "parse unsigned bytes, xmlsec.template (exc-c14n PrefixList=\"xs\"), SignatureContext.sign "
     "with the key loaded once without its certificate (X509Data written by the harness), "
     "tostring"),
    (xmlsec_name, "verify", xmlsec_verify,
     "parse, find the Assertion's Signature, check its Reference, SignatureContext.verify "
     "with the certificate's public key (taken from it once)"),
    (signxml_name, "sign", signxml_sign,
     "parse unsigned bytes, placeholder after Issuer, XMLSigner.sign (it copies the tree by "
     "serializing and re-parsing it), tostring; no PrefixList (signxml writes none for "
     "enveloped references)"),
    (signxml_name, "verify", signxml_verify,
     "XMLVerifier.verify(bytes, x509_cert=cert) with location, one reference, RSA-SHA256/SHA-256; "
     "includes signxml's default XSD check of the ds:Signature"),
    (p3saml_name, "sign", p3saml_sign,
     "OneLogin_Saml2_Utils.add_sign on the Assertion alone (it loads the PEM key and cert on "
     "every call), spliced back into the Response bytes"),
    (p3saml_name, "verify", p3saml_verify,
     "OneLogin_Saml2_Utils.validate_sign(bytes, cert=...): parse, XPath, xmlsec verify; "
     "returns True, not the element"),
    (p3saml_name, "validate", p3saml_validate,
     "OneLogin_Saml2_Response(settings, b64).is_valid, strict, clock frozen at IssueInstant+1s; "
     "includes its XSD validation of the Response (it loads the schema on every call)"),
]


def run_row(fx, name_fn, op, setup, note, seconds):
    try:
        name = name_fn()
    except Exception as e:  # the package is missing or broken
        name = setup.__name__.split("_")[0]
        return {"peer": name, "op": op, "error": "cannot load: %s" % e, "note": note}
    row = {"peer": name, "op": op}
    try:
        fn = setup(fx)
        if op == "sign":
            check_signed(fx, fn())
            timed = fn
        else:
            check_verifier(fx, op, fn)
            good = fx.input_for(op)
            timed = lambda: fn(good)  # noqa: E731
        row.update(measure(timed, seconds))
    except Exception as e:  # PeerError, or the library failed outright
        row["error"] = str(e) or type(e).__name__
    row["note"] = note
    return row


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--key", required=True, help="PEM private key (RSA-2048)")
    p.add_argument("--cert", required=True, help="PEM certificate of that key")
    p.add_argument("--response", required=True, help="file holding one base64 SAMLResponse")
    p.add_argument("--seconds", type=float, default=3.0, help="timed seconds per row (default 3)")
    return p.parse_args(argv)


def main(argv):
    a = parse_args(argv)
    fx = Fixture(a.key, a.cert, a.response)
    rows = [run_row(fx, *row, seconds=a.seconds) for row in ROWS]
    print(json.dumps({"python": platform.python_version(), "peers": rows}, indent=1))
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
