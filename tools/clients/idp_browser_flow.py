#!/usr/bin/env python3
"""A browser without a browser (stdlib only): sign in to the idfed IdP, open an app tile, post
the auto-submitted SAMLResponse to the ACS it names, pick a role on AWS's role picker when one
is shown, and report where the browser ended. Prints one JSON object.

  idp_browser_flow.py --idp URL --username U --password P --app NAME [--role ARN] [--capture FILE]
  idp_browser_flow.py --fetch URL --out FILE          (download, e.g. app metadata)
"""
import argparse
import html
import http.cookiejar
import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request


def hidden_inputs(page):
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="radio"' not in tag:
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1)) if value else ""
    return fields


def form_action(page):
    m = re.search(r'<form[^>]*action="([^"]*)"', page)
    return html.unescape(m.group(1)) if m else None


def open_url(opener, url, data=None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(url, body) as r:
            return r.status, r.geturl(), r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.geturl(), e.read().decode("utf-8", "replace")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--idp")
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--app")
    p.add_argument("--role")
    p.add_argument("--capture", help="save the form posted to the ACS (SAMLResponse, RelayState) here")
    p.add_argument("--fetch")
    p.add_argument("--out")
    a = p.parse_args()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    if a.fetch:
        status, _, body = open_url(opener, a.fetch)
        with open(a.out, "w") as f:
            f.write(body)
        print(json.dumps({"status": status}))
        return 0 if status == 200 else 1
    out = {"steps": []}
    status, url, page = open_url(opener, f"{a.idp}/app/{a.app}/sso")
    out["steps"].append({"url": url, "status": status})
    fields = hidden_inputs(page)
    fields.update({"username": a.username, "password": a.password})
    status, url, page = open_url(opener, urllib.parse.urljoin(url, form_action(page)), fields)
    out["steps"].append({"url": url, "status": status})
    if "SAMLResponse" not in page:
        out.update(final_url=url, status=status, page=page[:4000])
        print(json.dumps(out))
        return 0
    acs = form_action(page)
    fields = hidden_inputs(page)
    out["acs"] = acs
    out["relay_state"] = fields.get("RelayState")
    if a.capture:
        with open(a.capture, "w") as f:
            f.write(urllib.parse.urlencode(fields))
    try:
        status, url, page = open_url(opener, acs, fields)
    except urllib.error.URLError as e:
        out.update(final_url=acs, status=0, page="", post_error=str(e.reason))
        print(json.dumps(out))
        return 0
    out["steps"].append({"url": url, "status": status})
    if 'name="roleIndex"' in page:
        out["role_picker"] = re.findall(r'name="roleIndex" value="([^"]*)"', page)
        fields = hidden_inputs(page)
        fields["roleIndex"] = a.role or out["role_picker"][0]
        status, url, page = open_url(opener, urllib.parse.urljoin(url, form_action(page)), fields)
        out["steps"].append({"url": url, "status": status})
    out.update(final_url=url, status=status, page=page[:4000])
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
