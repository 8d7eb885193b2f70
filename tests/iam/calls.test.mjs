// IAM proven, not assumed (issue #26): every AWS call each function made while the behaviour
// suite ran its flows through the functions' bootstraps (each signing with its template logical id
// as its access key id, through the recorder: scripts/emulators start_recorder), judged against
// that function's policies as template.yaml deploys them (tools/iam/policies.py), by
// @cloud-copilot/iam-simulate, with the calls Lambda itself makes for the template's event source
// mappings. tools/iam/judge.mjs says how each call maps to IAM's requests, and where AWS's
// documentation overrides the evaluator's data.
//
// Per function: no denied call (the failure names the call, the action, the resource, the context
// and what is missing), and at least one recorded call for each function that has permissions
// (a log without them is a harness that did not run, never a pass). The granted actions no call
// used are printed per function, and fail nothing: which of them a run uses depends on the flows
// the suite drives (a sweep with nothing due reads no index), so least privilege that way is read
// by a person, with this list in hand.
//
// Needs what scripts/test provides: AWS_CALL_LOG (the recorder's log, after `cargo test`), and
// .tools/venv (samtranslator). IAM_POLICIES may name an expansion made beforehand.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { denialText, groupDenials, judgeCalls, readCalls, report, statementsOf, summaryLines } from '../../tools/iam/judge.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function policies() {
  if (process.env.IAM_POLICIES) return JSON.parse(readFileSync(process.env.IAM_POLICIES, 'utf8'));
  const python = join(ROOT, '.tools', 'venv', 'bin', 'python');
  assert.ok(existsSync(python), `${python} is missing: run scripts/install-tools (samtranslator comes with aws-sam-cli there)`);
  return JSON.parse(execFileSync(python, [join(ROOT, 'tools', 'iam', 'policies.py'), join(ROOT, 'template.yaml')], { encoding: 'utf8', maxBuffer: 1 << 26 }));
}

const log = process.env.AWS_CALL_LOG;
const expanded = policies();
const calls = log && existsSync(log) ? readCalls(log) : null;
const result = calls ? await judgeCalls(calls, expanded) : null;

if (result) {
  console.log(`\nIAM: ${calls.length} recorded calls (${log}) judged against template.yaml's policies\n${report(result)}\n`);
}

test('the recorder logged the functions\' calls (scripts/test: start_recorder, and bootstraps signing as their logical ids)', () => {
  assert.ok(log, 'AWS_CALL_LOG is not set: run the project\'s test command, scripts/test, which starts the recorder (scripts/emulators start_recorder) before the behaviour suite');
  assert.ok(calls, `${log} does not exist: the recorder was not started`);
  const fromFunctions = calls.filter((c) => c.who in expanded.functions).length;
  assert.ok(fromFunctions > 0, `none of the ${calls.length} recorded calls came from a function of template.yaml (by access key id): the bootstraps must sign with their logical id as AWS_ACCESS_KEY_ID and use $AWS_CALL_RECORDER as their endpoints`);
});

test('the recorder forwarded every call: none for a service it has no emulator for', () => {
  const refused = (calls ?? []).filter((c) => c.error === 'RecorderNoUpstream' || c.error === 'RecorderUpstreamUnreachable');
  assert.deepEqual(refused.map((c) => `${c.who} ${c.service} ${c.operation}: ${c.why}`), []);
});

for (const [id, fn] of Object.entries(expanded.functions).sort(([a], [b]) => a.localeCompare(b))) {
  const hasPermissions = statementsOf(fn).length > 0;

  test(`${id}: every AWS call it made is allowed by its policies`, () => {
    assert.ok(result, 'no recorded calls to judge (see the first test)');
    const entry = result.functions[id];
    const problems = [...groupDenials(entry).map((d) => denialText(entry, d)), ...entry.unknown.map((u) => `${id}: UNMAPPED ${u.call.operation}: ${u.why}`)];
    assert.ok(!problems.length, `\n${problems.join('\n\n')}\n\nevery judged request of ${id}:\n${summaryLines(entry).join('\n')}`);
  });

  if (hasPermissions) {
    test(`${id}: the suite recorded its calls (a function with permissions that made none was not run through the recorder)`, () => {
      assert.ok(result, 'no recorded calls to judge (see the first test)');
      const recorded = result.functions[id].judged.filter((j) => !j.call.implied).length;
      assert.ok(recorded > 0, `${id} has AWS permissions but no call of it was recorded: its bootstrap did not run in the suite, or did not sign as ${id} through $AWS_CALL_RECORDER`);
    });
  }
}
