"""The functions' policies as IAM sees them, from template.yaml.

Transforms the SAM template with samtranslator (aws-sam-translator, installed in .tools/venv with
aws-sam-cli: cfn-lint 1.x no longer depends on it), as CloudFormation's AWS::Serverless transform
does on deploy, with the parameters' defaults (and fixed values for the few without one), then
resolves the intrinsic functions the roles use into plain policy documents: per function logical
id, its role's inline policies (the template's Statements and what SAM generates for its events)
and its managed policy ARNs. Also the template's event source mappings (their function, source
ARN and on-failure destination: the calls Lambda makes with the function's role) and the ARNs of
the table, its stream and the event bus, onto which the judge maps the tests' many tables.

Usage: .tools/venv/bin/python tools/iam/policies.py [template.yaml] > policies.json
Env:   AWS_REGION (default eu-west-1); the account is always 123456789012.
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ACCOUNT = "123456789012"
PARTITION = "aws"
STACK = "service-contacts"
# The parameters without a default, as the tests run the functions (tests/tests/lambda_rie.rs:
# MAIL_FROM). Every other parameter takes its default.
REQUIRED = {
    "MailFrom": "no-reply@contacts.example.com",
    "PublicBaseUrl": "https://contacts.example.com",
    "JwtIssuer": "https://issuer.example.com",
    "JwtAudience": "panel",
}
# A DynamoDB stream's label is the time it was enabled; any fixed one stands for it.
STREAM_LABEL = "2026-01-01T00:00:00.000"


class Unresolved(Exception):
    pass


class Resolver:
    def __init__(self, template: dict[str, Any], parameters: dict[str, Any], region: str) -> None:
        self.resources = template.get("Resources", {})
        self.region = region
        self.refs: dict[str, Any] = {
            **parameters,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": STACK,
            "AWS::URLSuffix": "amazonaws.com",
        }
        self.conditions_src = template.get("Conditions", {})
        self.conditions: dict[str, bool] = {}

    # -- what a resource's Ref and GetAtt give -------------------------------------------------
    def arn(self, service: str, rest: str) -> str:
        return f"arn:{PARTITION}:{service}:{self.region}:{ACCOUNT}:{rest}"

    def physical_name(self, logical: str) -> str:
        resource = self.resources[logical]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        explicit = {
            "AWS::DynamoDB::Table": "TableName",
            "AWS::Events::EventBus": "Name",
            "AWS::SQS::Queue": "QueueName",
            "AWS::Lambda::Function": "FunctionName",
            "AWS::IAM::Role": "RoleName",
        }.get(kind)
        if explicit and explicit in props:
            return str(self.value(props[explicit]))
        # CloudFormation generates a name; the logical id stands for it (the judge maps the
        # tests' names onto it).
        return logical

    def ref(self, name: str) -> Any:
        if name in self.refs:
            return self.refs[name]
        if name == "AWS::NoValue":
            return NO_VALUE
        if name not in self.resources:
            raise Unresolved(f"Ref {name}")
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT}/{self.physical_name(name)}"
        if kind == "AWS::IAM::ManagedPolicy":
            return f"arn:{PARTITION}:iam::{ACCOUNT}:policy/{name}"
        return self.physical_name(name)

    def get_att(self, logical: str, attribute: str) -> str:
        if logical not in self.resources:
            raise Unresolved(f"GetAtt {logical}.{attribute}")
        kind = self.resources[logical]["Type"]
        name = self.physical_name(logical)
        table = {
            ("AWS::DynamoDB::Table", "Arn"): lambda: self.arn("dynamodb", f"table/{name}"),
            ("AWS::DynamoDB::Table", "StreamArn"): lambda: self.arn("dynamodb", f"table/{name}/stream/{STREAM_LABEL}"),
            ("AWS::SQS::Queue", "Arn"): lambda: self.arn("sqs", name),
            ("AWS::SQS::Queue", "QueueName"): lambda: name,
            ("AWS::Events::EventBus", "Arn"): lambda: self.arn("events", f"event-bus/{name}"),
            ("AWS::Events::EventBus", "Name"): lambda: name,
            ("AWS::Lambda::Function", "Arn"): lambda: self.arn("lambda", f"function:{name}"),
            ("AWS::IAM::Role", "Arn"): lambda: f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            ("AWS::Events::ApiDestination", "Arn"): lambda: self.arn("events", f"api-destination/{name}"),
            ("AWS::Events::Connection", "Arn"): lambda: self.arn("events", f"connection/{name}"),
        }.get((kind, attribute))
        if table is None:
            raise Unresolved(f"GetAtt {logical}.{attribute} ({kind})")
        return table()

    # -- conditions and intrinsics --------------------------------------------------------------
    def condition(self, name: str) -> bool:
        if name not in self.conditions:
            self.conditions[name] = bool(self.value(self.conditions_src[name]))
        return self.conditions[name]

    def sub(self, text: str, extra: dict[str, Any]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in extra:
                return str(extra[name])
            if "." in name and name.split(".", 1)[0] in self.resources:
                logical, attribute = name.split(".", 1)
                return self.get_att(logical, attribute)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in (self.value(item) for item in node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, arg), = node.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return self.get_att(logical, attribute)
            if key == "Fn::Sub":
                if isinstance(arg, str):
                    return self.sub(arg, {})
                text, variables = arg
                return self.sub(text, {k: self.value(v) for k, v in variables.items()})
            if key == "Fn::If":
                name, yes, no = arg
                return self.value(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                a, b = (self.value(x) for x in arg)
                return str(a) == str(b)
            if key == "Fn::Not":
                return not self.value(arg[0])
            if key == "Fn::And":
                return all(self.value(x) for x in arg)
            if key == "Fn::Or":
                return any(self.value(x) for x in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Select":
                index, items = arg
                return self.value(items)[int(self.value(index))]
            if key == "Fn::Split":
                separator, text = arg
                return str(self.value(text)).split(separator)
            if key == "Fn::Join":
                separator, items = arg
                return separator.join(str(v) for v in self.value(items))
            if key.startswith("Fn::"):
                raise Unresolved(key)
        return {k: v for k, v in ((k, self.value(v)) for k, v in node.items()) if v is not NO_VALUE}


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()


class NoManagedPolicies:
    """SAM resolves AWS managed policy names (a Policies: entry that is a bare name) through IAM;
    offline there is none: such a name is kept as an ARN under arn:aws:iam::aws:policy/."""

    def load(self) -> dict[str, str]:
        return {}


def parameter_values(template: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        if "Default" in spec:
            values[name] = spec["Default"]
        elif name in REQUIRED:
            values[name] = REQUIRED[name]
        else:
            raise SystemExit(f"policies.py: parameter {name} has no default and no fixed value here (REQUIRED)")
    return values


def expand(template_path: str, region: str) -> dict[str, Any]:
    with open(template_path, encoding="utf-8") as f:
        sam = yaml_parse(f.read())
    parameters = parameter_values(sam)
    # What `sam package` does before a deploy: the code is an S3 object (its place changes no policy).
    sam.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for logical, resource in sam.get("Resources", {}).items():
        if resource.get("Type") == "AWS::Serverless::Function":
            resource.setdefault("Properties", {})["CodeUri"] = f"s3://service-contacts-artifacts/{logical}.zip"
    # samtranslator reads the region from a boto3 session: this one, never a profile or the
    # instance metadata (offline, and a test never picks up real credentials).
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    pseudo = {"AWS::Region": region, "AWS::AccountId": ACCOUNT, "AWS::Partition": PARTITION, "AWS::StackName": STACK}
    cfn = transform(copy.deepcopy(sam), {**parameters, **pseudo}, NoManagedPolicies())
    resolver = Resolver(cfn, parameters, region)
    resources = cfn["Resources"]

    def in_stack(resource: dict[str, Any]) -> bool:
        return "Condition" not in resource or resolver.condition(resource["Condition"])

    functions: dict[str, Any] = {}
    for logical, resource in resources.items():
        if resource["Type"] != "AWS::Lambda::Function" or not in_stack(resource):
            continue
        role = resource["Properties"].get("Role", {})
        role_logical = role.get("Fn::GetAtt", [None])[0] if isinstance(role, dict) else None
        if role_logical is None or role_logical not in resources:
            functions[logical] = {"role": None, "policies": [], "managedPolicyArns": [], "note": f"role not in the template: {role}"}
            continue
        props = resources[role_logical]["Properties"]
        policies = [
            {"name": p["PolicyName"], "document": resolver.value(p["PolicyDocument"])}
            for p in (resolver.value(props.get("Policies", [])) or [])
        ]
        functions[logical] = {
            "role": role_logical,
            "policies": policies,
            "managedPolicyArns": resolver.value(props.get("ManagedPolicyArns", [])),
            # What the function is told (TABLE_NAME, MAIL_FROM, EVENT_BUS_NAME, ...): the names the
            # judge puts in place of the tests' own.
            "environment": resolver.value(resource["Properties"].get("Environment", {}).get("Variables", {})),
        }

    def key_schema(props: dict[str, Any]) -> dict[str, Any]:
        hash_key = lambda schema: next(k["AttributeName"] for k in schema if k["KeyType"] == "HASH")  # noqa: E731
        return {
            "partitionKey": hash_key(props["KeySchema"]),
            "indexes": {i["IndexName"]: hash_key(i["KeySchema"]) for i in props.get("GlobalSecondaryIndexes", []) + props.get("LocalSecondaryIndexes", [])},
        }

    tables = {
        logical: {
            "name": resolver.physical_name(logical),
            "arn": resolver.get_att(logical, "Arn"),
            "streamArn": resolver.get_att(logical, "StreamArn"),
            **key_schema(r["Properties"]),
        }
        for logical, r in resources.items()
        if r["Type"] == "AWS::DynamoDB::Table" and in_stack(r)
    }
    buses = {
        logical: {"arn": resolver.get_att(logical, "Arn"), "name": resolver.physical_name(logical)}
        for logical, r in resources.items()
        if r["Type"] == "AWS::Events::EventBus" and in_stack(r)
    }
    mappings = []
    for logical, r in resources.items():
        if r["Type"] != "AWS::Lambda::EventSourceMapping" or not in_stack(r):
            continue
        props = r["Properties"]
        function = props["FunctionName"]
        function = function.get("Ref") if isinstance(function, dict) else function
        on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        mappings.append(
            {
                "logicalId": logical,
                "function": function,
                "eventSourceArn": resolver.value(props["EventSourceArn"]),
                "onFailure": resolver.value(on_failure) if on_failure else None,
            }
        )
    return {
        "template": os.path.basename(template_path),
        "account": ACCOUNT,
        "region": region,
        "parameters": parameters,
        "conditions": {name: resolver.condition(name) for name in cfn.get("Conditions", {})},
        "functions": functions,
        "tables": tables,
        "eventBuses": buses,
        "eventSourceMappings": mappings,
    }


def main() -> None:
    template = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    region = os.environ.get("AWS_REGION") or "eu-west-1"
    json.dump(expand(template, region), sys.stdout, indent=2, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
