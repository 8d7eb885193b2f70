"""GET /v1/me written the obvious way in Python: the peer that scripts/bench compares the Rust
read function with.

As the AWS documentation advises, the client is created once, at import (the init phase), and
the handler makes one strongly consistent GetItem of the caller's account item
(pk ACCOUNT#{id}, sk PROFILE; docs/dynamodb.md) and answers the same JSON as the Rust function.
boto3 reads AWS_ENDPOINT_URL_DYNAMODB itself, as the Rust SDK does.
"""

import json
import os

import boto3

TABLE = os.environ["TABLE_NAME"]
dynamodb = boto3.client("dynamodb")


def handler(event, context):
    claims = ((event.get("requestContext") or {}).get("authorizer") or {}).get("jwt", {}).get("claims", {})
    account = (claims.get(os.environ.get("ACCOUNT_CLAIM", "sub")) or "").strip().lower()
    if not account:
        return problem(401, "unauthenticated")
    item = dynamodb.get_item(
        TableName=TABLE,
        Key={"pk": {"S": f"ACCOUNT#{account}"}, "sk": {"S": "PROFILE"}},
        ConsistentRead=True,
    ).get("Item")
    if item is None:
        return problem(404, "account_not_found")
    body = {
        "account": item["id"]["S"],
        "name": item["name"]["S"],
        "email": item["email"]["S"],
        "language": item["language"]["S"],
        "payment_status": item["payment_status"]["S"],
    }
    return {"statusCode": 200, "headers": {"content-type": "application/json"}, "body": json.dumps(body)}


def problem(status, code):
    body = json.dumps({"status": status, "code": code})
    return {"statusCode": status, "headers": {"content-type": "application/problem+json"}, "body": body}
