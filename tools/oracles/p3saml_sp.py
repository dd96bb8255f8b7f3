#!/usr/bin/env python3
"""python3-saml acting as a strict SAML SP: validate one Response, print one JSON line.

Usage (run with the repo's venv, see scripts/setup-oracles.sh):
  .venv/bin/python tools/oracles/p3saml_sp.py --response FILE --idp-entity-id ID \
      --idp-cert PEM --sp-entity-id AUD --acs URL [options]

FILE holds the Response as raw XML or as base64 of it.
Output: {"valid": bool, "error": str|null, "name_id": str|null, "attributes": {name: [values]}}
Exit status: 0 once a verdict is printed (valid or not), 2 on usage/configuration errors.
"""
import argparse
import base64
import binascii
import calendar
import datetime
import json
import sys
import urllib.parse


def usage_error(msg):
    print(json.dumps({"valid": False, "error": "usage: " + msg, "name_id": None, "attributes": {}}))
    sys.exit(2)


def parse_args(argv):
    p = argparse.ArgumentParser(description="python3-saml strict SP oracle")
    p.add_argument("--response", required=True, help="file with the Response (XML or base64)")
    p.add_argument("--idp-entity-id", required=True)
    p.add_argument("--idp-cert", required=True, help="PEM file of the one trusted IdP certificate")
    p.add_argument("--sp-entity-id", required=True, help="our entity id = expected Audience")
    p.add_argument("--acs", required=True, help="ACS URL; Destination/Recipient are checked against it")
    p.add_argument("--sp-cert", help="SP certificate PEM (needed with encrypted assertions)")
    p.add_argument("--sp-key", help="SP private key PEM (needed with encrypted assertions)")
    p.add_argument("--want-assertions-signed", action="store_true")
    p.add_argument("--want-messages-signed", action="store_true")
    p.add_argument("--want-assertions-encrypted", action="store_true")
    p.add_argument("--want-attribute-statement", action="store_true",
                   help="require an AttributeStatement (python3-saml's default; off here, as in SAML itself)")
    p.add_argument("--request-id", help="expected InResponseTo (SP-initiated flow)")
    p.add_argument("--now", help="freeze the clock at this RFC3339 instant, e.g. 2014-02-19T01:37:01Z")
    p.add_argument("--allow-sha1", action="store_true",
                   help="accept rsa-sha1/sha1 (rejectDeprecatedAlgorithm=False); default rejects them")
    return p.parse_args(argv)


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        usage_error("cannot read %s: %s" % (path, e.strerror))


def response_as_base64(raw):
    """python3-saml wants base64; accept raw XML too."""
    stripped = raw.strip().lstrip(b"\xef\xbb\xbf")
    if stripped.startswith(b"<"):
        return base64.b64encode(stripped).decode("ascii")
    try:
        base64.b64decode(b"".join(stripped.split()), validate=True)
    except (binascii.Error, ValueError):
        usage_error("response file is neither XML nor base64")
    return b"".join(stripped.split()).decode("ascii")


def request_data_for(acs):
    """Pretend the Response was POSTed to the ACS URL, so Destination/Recipient checks apply."""
    u = urllib.parse.urlsplit(acs)
    if u.scheme not in ("http", "https") or not u.hostname:
        usage_error("--acs must be an absolute http(s) URL")
    host = u.hostname if ":" not in u.hostname else "[%s]" % u.hostname
    default_port = 443 if u.scheme == "https" else 80
    if u.port and u.port != default_port:
        # python3-saml deprecated 'server_port'; a port belongs in http_host.
        host += ":%d" % u.port
    return {
        "https": "on" if u.scheme == "https" else "off",
        "http_host": host,
        "script_name": u.path or "/",
        "get_data": dict(urllib.parse.parse_qsl(u.query, keep_blank_values=True)),
        "post_data": {},
    }


def freeze_clock(rfc3339):
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    try:
        t = datetime.datetime.fromisoformat(rfc3339.replace("Z", "+00:00"))
    except ValueError:
        usage_error("--now is not an RFC3339 timestamp: %s" % rfc3339)
    if t.tzinfo is None:
        t = t.replace(tzinfo=datetime.timezone.utc)
    epoch = calendar.timegm(t.utctimetuple())
    OneLogin_Saml2_Utils.now = staticmethod(lambda: epoch)


def build_settings(a):
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    sp = {
        "entityId": a.sp_entity_id,
        "assertionConsumerService": {
            "url": a.acs,
            "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
        },
    }
    if a.sp_cert:
        sp["x509cert"] = read_text(a.sp_cert).decode()
    if a.sp_key:
        sp["privateKey"] = read_text(a.sp_key).decode()
    settings = {
        "strict": True,
        "debug": False,
        "sp": sp,
        "idp": {
            "entityId": a.idp_entity_id,
            # Required by the settings checker, never used to validate a Response.
            "singleSignOnService": {"url": "https://idp.example.com/sso",
                                    "binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"},
            "x509cert": read_text(a.idp_cert).decode(),
        },
        "security": {
            "wantNameId": True,
            "wantAssertionsSigned": a.want_assertions_signed,
            "wantMessagesSigned": a.want_messages_signed,
            "wantAssertionsEncrypted": a.want_assertions_encrypted,
            "wantAttributeStatement": a.want_attribute_statement,
            "rejectDeprecatedAlgorithm": not a.allow_sha1,
            "allowSingleLabelDomains": True,  # lets tests use e.g. https://idfed:8443/acs
        },
    }
    try:
        return OneLogin_Saml2_Settings(settings, sp_validation_only=False)
    except Exception as e:  # OneLogin_Saml2_Error: invalid settings
        usage_error("invalid settings: %s" % e)


def main(argv):
    a = parse_args(argv)
    if bool(a.sp_cert) != bool(a.sp_key):
        usage_error("--sp-cert and --sp-key go together")
    from onelogin.saml2.response import OneLogin_Saml2_Response

    if a.now:
        freeze_clock(a.now)
    settings = build_settings(a)
    b64 = response_as_base64(read_text(a.response))
    request_data = request_data_for(a.acs)
    out = {"valid": False, "error": None, "name_id": None, "attributes": {}}
    try:
        resp = OneLogin_Saml2_Response(settings, b64)
        out["valid"] = bool(resp.is_valid(request_data, a.request_id, raise_exceptions=True))
        if out["valid"]:
            out["name_id"] = resp.get_nameid()
            out["attributes"] = resp.get_attributes()
        else:
            out["error"] = resp.get_error() or "invalid"
    except Exception as e:  # any parse/validation failure is a verdict, not a crash
        out["valid"] = False
        out["error"] = str(e) or type(e).__name__
    print(json.dumps(out, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
