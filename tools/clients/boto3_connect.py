#!/usr/bin/env python3
"""boto3's Amazon Connect client against the idfed sandbox: with administrator keys create an
instance (SAML) and an agent, then with a federated session's credentials call
GetFederationToken. Prints one JSON object with what each call returned or raised.

  boto3_connect.py --endpoint URL --admin-key ID --admin-secret S --session-file CREDS.json
                   --username NAME [--other-username NAME]
"""
import argparse
import json

import boto3
from botocore.exceptions import ClientError


def error(e):
    return {"code": e.response["Error"].get("Code"), "message": e.response["Error"].get("Message"),
            "status": e.response["ResponseMetadata"]["HTTPStatusCode"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--endpoint", required=True)
    p.add_argument("--admin-key", required=True)
    p.add_argument("--admin-secret", required=True)
    p.add_argument("--session-file", required=True)
    p.add_argument("--username", required=True)
    a = p.parse_args()
    admin = boto3.client("connect", endpoint_url=a.endpoint, region_name="us-east-1",
                         aws_access_key_id=a.admin_key, aws_secret_access_key=a.admin_secret)
    out = {}
    instance = admin.create_instance(IdentityManagementType="SAML", InstanceAlias="corp-cc",
                                     InboundCallsEnabled=True, OutboundCallsEnabled=True)
    out["instance_id"] = instance["Id"]
    out["describe"] = admin.describe_instance(InstanceId=instance["Id"])["Instance"]["IdentityManagementType"]
    profiles = admin.list_security_profiles(InstanceId=instance["Id"])["SecurityProfileSummaryList"]
    agent = next(p["Id"] for p in profiles if p["Name"] == "Agent")
    try:
        admin.create_user(Username="testuser@example", IdentityInfo={"FirstName": "A", "LastName": "B"},
                          PhoneConfig={"PhoneType": "SOFT_PHONE"}, SecurityProfileIds=[agent], RoutingProfileId="default",
                          InstanceId=instance["Id"])
        out["bad_username"] = {"ok": True}
    except ClientError as e:
        out["bad_username"] = error(e)
    with open(a.session_file) as f:
        creds = json.load(f)
    session = boto3.client("connect", endpoint_url=a.endpoint, region_name="us-east-1",
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"])
    try:
        session.get_federation_token(InstanceId=instance["Id"])
        out["before_user"] = {"ok": True}
    except ClientError as e:
        out["before_user"] = error(e)
    user = admin.create_user(Username=a.username, IdentityInfo={"FirstName": "Ada", "LastName": "Agent"},
                             PhoneConfig={"PhoneType": "SOFT_PHONE"}, SecurityProfileIds=[agent],
                             RoutingProfileId="default", InstanceId=instance["Id"])
    out["user_id"] = user["UserId"]
    token = session.get_federation_token(InstanceId=instance["Id"])
    out["federation"] = {"user_id": token["UserId"], "user_arn": token["UserArn"],
                         "has_token": bool(token["Credentials"]["AccessToken"])}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
