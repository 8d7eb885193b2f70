// Prints the IAM judge's report on a recorder log, without the test runner:
//   node tools/iam/report.mjs [LOG] [--policies policies.json]
// LOG defaults to $AWS_CALL_LOG; the policies are expanded from template.yaml with
// .tools/venv/bin/python tools/iam/policies.py unless given. Exits 1 when a call is denied.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { judgeCalls, readCalls, report } from './judge.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { policies: { type: 'string' } } });
const log = positionals[0] ?? process.env.AWS_CALL_LOG;
if (!log) {
  console.error('usage: node tools/iam/report.mjs LOG [--policies policies.json] (or set AWS_CALL_LOG)');
  process.exit(2);
}
const policies = JSON.parse(
  values.policies
    ? readFileSync(values.policies, 'utf8')
    : execFileSync(join(ROOT, '.tools', 'venv', 'bin', 'python'), [join(ROOT, 'tools', 'iam', 'policies.py'), join(ROOT, 'template.yaml')], { encoding: 'utf8' }),
);
const result = await judgeCalls(readCalls(log), policies);
console.log(report(result));
process.exit(Object.values(result.functions).some((f) => f.denied.length || f.unknown.length) ? 1 : 0);
