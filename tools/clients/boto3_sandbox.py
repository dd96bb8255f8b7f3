#!/usr/bin/env python3
"""boto3 against the idfed AWS sandbox: AssumeRoleWithSAML with given responses, then
GetCallerIdentity with the returned credentials. Prints one JSON object.

  boto3_sandbox.py --endpoint URL --role-arn ARN --principal-arn ARN --assertion FILE [--assertion FILE ...]
                   [--duration SECONDS]

For each assertion file (base64 of a SAML Response): {"ok": true, "arn", "subject", "audience",
"caller_arn", "expiration"} or {"ok": false, "code", "message", "status"}.
"""
import argparse
import json

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore import UNSIGNED


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--role-arn", required=True)
    p.add_argument("--principal-arn", required=True)
    p.add_argument("--assertion", action="append", required=True)
    p.add_argument("--duration", type=int, default=3600)
    p.add_argument("--save-credentials", help="write the first success's Credentials here as JSON")
    a = p.parse_args()
    sts = boto3.client("sts", endpoint_url=a.endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    results = []
    for path in a.assertion:
        with open(path) as f:
            assertion = f.read().strip()
        try:
            r = sts.assume_role_with_saml(
                RoleArn=a.role_arn, PrincipalArn=a.principal_arn, SAMLAssertion=assertion, DurationSeconds=a.duration
            )
        except ClientError as e:
            err = e.response["Error"]
            results.append({"ok": False, "code": err.get("Code"), "message": err.get("Message"),
                            "status": e.response["ResponseMetadata"]["HTTPStatusCode"]})
            continue
        c = r["Credentials"]
        if a.save_credentials and not any(x.get("ok") for x in results):
            with open(a.save_credentials, "w") as f:
                json.dump({k: c[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")}, f)
        caller = boto3.client(
            "sts", endpoint_url=a.endpoint, region_name="us-east-1",
            aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"],
        ).get_caller_identity()
        results.append({
            "ok": True,
            "arn": r["AssumedRoleUser"]["Arn"],
            "subject": r["Subject"],
            "subject_type": r["SubjectType"],
            "audience": r["Audience"],
            "issuer": r["Issuer"],
            "name_qualifier": r["NameQualifier"],
            "expiration": c["Expiration"].isoformat(),
            "caller_arn": caller["Arn"],
        })
    print(json.dumps(results))


if __name__ == "__main__":
    main()
