#!/usr/bin/env python3
"""Runs the same boto3 calls against an endpoint and prints each answer's shape (the set of key
paths, ResponseMetadata left out) as JSON, so the idfed sandbox and moto server can be compared.

  shape_compare.py --endpoint URL --key ID --secret S --metadata FILE --assertion FILE
"""
import argparse
import json

import boto3
from botocore.config import Config
from botocore import UNSIGNED

TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"Federated": "arn:aws:iam::111122223333:saml-provider/Okta_Connect_Admin"},
         "Action": "sts:AssumeRoleWithSAML",
         "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}}]}
POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["iam:ListRoles", "iam:ListAccountAliases"], "Resource": "*"}]}


def shape(value, prefix=""):
    keys = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if k == "ResponseMetadata":
                continue
            path = f"{prefix}.{k}" if prefix else k
            keys.add(path)
            keys |= shape(v, path)
    elif isinstance(value, list):
        for item in value:
            keys |= shape(item, prefix + "[]")
    return keys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--secret", required=True)
    p.add_argument("--metadata", required=True)
    p.add_argument("--assertion", required=True)
    a = p.parse_args()
    kw = dict(endpoint_url=a.endpoint, region_name="us-east-1", aws_access_key_id=a.key, aws_secret_access_key=a.secret)
    iam = boto3.client("iam", **kw)
    out = {}
    with open(a.metadata) as f:
        metadata = f.read()
    with open(a.assertion) as f:
        assertion = f.read().strip()
    r = iam.create_saml_provider(Name="Okta_Connect_Admin", SAMLMetadataDocument=metadata)
    out["CreateSAMLProvider"] = r
    arn = r["SAMLProviderArn"]
    out["GetSAMLProvider"] = iam.get_saml_provider(SAMLProviderArn=arn)
    out["ListSAMLProviders"] = iam.list_saml_providers()
    out["CreateRole"] = iam.create_role(RoleName="Okta_Role", AssumeRolePolicyDocument=json.dumps(TRUST))
    out["GetRole"] = iam.get_role(RoleName="Okta_Role")
    out["ListRoles"] = iam.list_roles()
    policy = iam.create_policy(PolicyName="okta_cli_policy", PolicyDocument=json.dumps(POLICY))
    out["CreatePolicy"] = policy
    out["GetPolicy"] = iam.get_policy(PolicyArn=policy["Policy"]["Arn"])
    out["GetPolicyVersion"] = iam.get_policy_version(PolicyArn=policy["Policy"]["Arn"], VersionId="v1")
    out["AttachRolePolicy"] = iam.attach_role_policy(RoleName="Okta_Role", PolicyArn=policy["Policy"]["Arn"])
    out["ListAttachedRolePolicies"] = iam.list_attached_role_policies(RoleName="Okta_Role")
    out["CreateUser"] = iam.create_user(UserName="okta_cli_user")
    out["CreateAccessKey"] = iam.create_access_key(UserName="okta_cli_user")
    out["CreateAccountAlias"] = iam.create_account_alias(AccountAlias="corp-contact-centre")
    out["ListAccountAliases"] = iam.list_account_aliases()
    sts = boto3.client("sts", endpoint_url=a.endpoint, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    assumed = sts.assume_role_with_saml(RoleArn="arn:aws:iam::111122223333:role/Okta_Role", PrincipalArn=arn, SAMLAssertion=assertion)
    out["AssumeRoleWithSAML"] = assumed
    c = assumed["Credentials"]
    caller = boto3.client("sts", endpoint_url=a.endpoint, region_name="us-east-1", aws_access_key_id=c["AccessKeyId"],
                          aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])
    out["GetCallerIdentity"] = caller.get_caller_identity()
    print(json.dumps({op: sorted(shape(v)) for op, v in out.items()}))


if __name__ == "__main__":
    main()
