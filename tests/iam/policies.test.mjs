// tools/iam/policies.py on a small SAM template of its own: SAM's transform gives the role, and
// the intrinsics the roles use resolve with the parameters' defaults (Ref, GetAtt of a table's
// Arn and StreamArn, Sub with and without variables, If on a condition, Select, Split, Join,
// NoValue, the pseudo parameters).

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const TEMPLATE = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  MailFrom: {Type: String, Default: no-reply@mail.example.org}
  Identity: {Type: String, Default: ""}
  ConfigurationSet: {Type: String, Default: cs1}
Conditions:
  HasIdentity: !Not [!Equals [!Ref Identity, ""]]
  HasConfigurationSet: !Not [!Equals [!Ref ConfigurationSet, ""]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: pk, KeyType: HASH}]
      AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: g, AttributeType: S}]
      GlobalSecondaryIndexes: [{IndexName: byg, KeySchema: [{AttributeName: g, KeyType: HASH}], Projection: {ProjectionType: KEYS_ONLY}}]
      StreamSpecification: {StreamViewType: KEYS_ONLY}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: provided.al2023
      Handler: bootstrap
      CodeUri: .
      Environment: {Variables: {TABLE_NAME: !Ref Table}}
      Policies:
        - Statement:
            - Effect: Allow
              Action: dynamodb:Query
              Resource: [!GetAtt Table.Arn, !Sub "\${Table.Arn}/index/byg", !Join ["", [!GetAtt Table.StreamArn, "-x"]]]
            - Effect: Allow
              Action: ses:SendEmail
              Resource:
                - !If
                  - HasIdentity
                  - !Sub "arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/\${Identity}"
                  - !Sub
                    - "arn:\${AWS::Partition}:ses:\${AWS::Region}:\${AWS::AccountId}:identity/\${Domain}"
                    - Domain: !Select [1, !Split ["@", !Ref MailFrom]]
                - !If [HasIdentity, "never", !Ref AWS::NoValue]
                - !If [HasConfigurationSet, !Sub "arn:aws:ses:\${AWS::Region}:\${AWS::AccountId}:configuration-set/\${ConfigurationSet}", !Ref AWS::NoValue]
`;

test('the expansion resolves the roles the transform makes, with the defaults', () => {
  const dir = mkdtempSync(join(tmpdir(), 'iam-policies-'));
  writeFileSync(join(dir, 'template.yaml'), TEMPLATE);
  const out = JSON.parse(
    execFileSync(join(ROOT, '.tools', 'venv', 'bin', 'python'), [join(ROOT, 'tools', 'iam', 'policies.py'), join(dir, 'template.yaml')], {
      encoding: 'utf8',
      env: { ...process.env, AWS_REGION: 'eu-central-1' },
    }),
  );
  const fn = out.functions.Fn;
  assert.equal(fn.role, 'FnRole');
  assert.deepEqual(fn.managedPolicyArns, ['arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole']);
  assert.deepEqual(fn.environment, { TABLE_NAME: 'Table' });
  const [query, send] = fn.policies[0].document.Statement;
  const table = 'arn:aws:dynamodb:eu-central-1:123456789012:table/Table';
  assert.deepEqual(query.Resource, [table, `${table}/index/byg`, `${table}/stream/2026-01-01T00:00:00.000-x`]);
  assert.deepEqual(send.Resource, [
    'arn:aws:ses:eu-central-1:123456789012:identity/mail.example.org',
    'arn:aws:ses:eu-central-1:123456789012:configuration-set/cs1',
  ]);
  assert.deepEqual(out.tables.Table, { name: 'Table', arn: table, streamArn: `${table}/stream/2026-01-01T00:00:00.000`, partitionKey: 'pk', indexes: { byg: 'g' } });
  assert.deepEqual(out.conditions, { HasIdentity: false, HasConfigurationSet: true });
});
