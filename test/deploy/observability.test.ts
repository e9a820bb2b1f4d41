// The ready-made operations files in deploy/observability: the alert rules
// pass `promtool check rules` and their unit tests (`promtool test rules`),
// every alert is tested and carries a severity, a summary and a description,
// the Grafana dashboard is valid JSON whose queries parse as PromQL, and
// every metric either file uses is one docs/observability.md lists, so a
// renamed metric breaks this test. promtool comes from Debian's `prometheus`
// package (test/helpers/debian-tool.ts); without it those checks skip.

import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parse } from 'yaml';
import { debianTool, PROMTOOL, promtool } from '../helpers/debian-tool.ts';
import { documentedMetrics, infergateNamesIn, isDocumentedSeries, isProcessFamily } from '../helpers/metrics-contract.ts';

const DIR = fileURLToPath(new URL('../../deploy/observability/', import.meta.url));
const ALERTS = join(DIR, 'alerts.yml');
const ALERT_TESTS = join(DIR, 'alerts.test.yml');
const DASHBOARD = join(DIR, 'grafana-dashboard.json');

type Rule = { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
type AlertTests = { rule_files: string[]; tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }> };
type Target = { expr?: string; datasource?: { type?: string; uid?: string } };
type Panel = { id: number; type: string; title: string; datasource?: { uid?: string }; targets?: Target[]; panels?: Panel[] };
type Dashboard = { schemaVersion: number; uid: string; templating: { list: Array<{ name: string; type: string; query: unknown; definition?: string }> }; panels: Panel[] };

const rules: Rule[] = (parse(readFileSync(ALERTS, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules);
const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
const queryPanels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]).filter((p) => p.type !== 'row');
const metrics = documentedMetrics();
const tool = await promtool();
const skip = typeof tool === 'string' ? false : `promtool cannot be had: ${tool.unavailable}`;

function runPromtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(tool as string, args, { cwd: DIR, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

t.test('the docs list metrics to compare with', async (t) => {
  t.ok(metrics.length >= 30, `${metrics.length} metrics parsed from docs/observability.md`);
  t.ok(metrics.some((m) => m.name === 'infergate_requests_total' && m.type === 'counter' && m.labels.includes('status_class')));
  t.ok(metrics.some((m) => m.name === 'infergate_request_duration_seconds' && m.type === 'histogram'));
});

t.test('promtool check rules passes', { skip }, async (t) => {
  const { code, output } = await runPromtool(['check', 'rules', ALERTS]);
  t.equal(code, 0, 'promtool check rules exits 0', { output });
  t.match(output, `SUCCESS: ${rules.length} rules found`);
});

t.test('the alert unit tests pass (promtool test rules)', { skip }, async (t) => {
  const { code, output } = await runPromtool(['test', 'rules', ALERT_TESTS]);
  t.equal(code, 0, 'promtool test rules exits 0', { output });
  t.match(output, /SUCCESS/);
});

t.test('every alert has a severity, a summary, a description, and a unit test where it fires', async (t) => {
  const alerts = rules.filter((r) => r.alert);
  t.equal(alerts.length, rules.length, 'alert rules only (no recording rules to keep in step)');
  const unitTests = parse(readFileSync(ALERT_TESTS, 'utf8')) as AlertTests;
  t.same(unitTests.rule_files, ['alerts.yml']);
  const cases = unitTests.tests.flatMap((test) => test.alert_rule_test ?? []);
  for (const rule of alerts) {
    t.match(rule.labels?.severity, /^(critical|warning|info)$/, `${rule.alert} has a severity`);
    t.ok(rule.annotations?.summary, `${rule.alert} has a summary`);
    t.ok(rule.annotations?.description, `${rule.alert} has a description`);
    const mine = cases.filter((c) => c.alertname === rule.alert);
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length > 0), `${rule.alert} is shown firing`);
    t.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${rule.alert} is shown quiet`);
  }
});

t.test('every metric the alert rules use is in docs/observability.md', async (t) => {
  for (const rule of rules) {
    const names = infergateNamesIn(rule.expr);
    if (rule.alert !== 'InfergateGatewayDown') t.ok(names.length > 0, `${rule.alert} uses an infergate metric`);
    for (const name of names) t.ok(isDocumentedSeries(name, metrics), `${rule.alert}: ${name} is documented`);
  }
});

t.test('the dashboard is a Grafana dashboard over a chosen Prometheus', async (t) => {
  t.ok(dashboard.schemaVersion >= 36, `schemaVersion ${dashboard.schemaVersion}`);
  t.ok(dashboard.uid);
  const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  t.equal(variables.get('DS_PROMETHEUS')?.type, 'datasource');
  t.equal(variables.get('DS_PROMETHEUS')?.query, 'prometheus');
  t.match(variables.get('model')?.definition, /^label_values\(infergate_requests_total(\{[^}]*\})?, model\)$/);
  const ids = queryPanels.map((p) => p.id);
  t.equal(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const panel of queryPanels) {
    t.ok((panel.targets ?? []).length > 0, `${panel.title} has a query`);
    t.equal(panel.datasource?.uid, '${DS_PROMETHEUS}', `${panel.title} uses the chosen data source`);
    for (const target of panel.targets ?? []) t.equal(target.datasource?.uid, '${DS_PROMETHEUS}', `${panel.title}'s query uses the chosen data source`);
  }
});

t.test('every metric the dashboard uses is in docs/observability.md, and every documented one is on it', async (t) => {
  const used = new Set<string>();
  for (const panel of queryPanels) {
    for (const { expr } of panel.targets ?? []) {
      for (const name of infergateNamesIn(expr ?? '')) {
        used.add(name);
        t.ok(isDocumentedSeries(name, metrics), `${panel.title}: ${name} is documented`);
      }
    }
  }
  for (const metric of metrics) {
    const shown = [...used].some((name) => name === metric.name || name.startsWith(`${metric.name}_`));
    t.ok(shown, `${metric.name} is on the dashboard`);
  }
  t.ok([...used].some(isProcessFamily), 'process metrics are on the dashboard');
});

t.test("the dashboard's queries parse as PromQL", { skip }, async (t) => {
  // promtool has no expression checker of its own: each query becomes a recording rule, with Grafana's variables
  // replaced by values of the right kind ($instance and the like only occur inside regex matchers).
  const exprs = queryPanels.flatMap((p) => (p.targets ?? []).map((target) => target.expr ?? ''));
  const asRules = exprs.map((expr, i) => ({ record: `dashboard_query_${i}`, expr: expr.replaceAll('$__rate_interval', '5m').replaceAll('$__range', '1h') }));
  const file = join(t.testdir(), 'dashboard-queries.yml');
  writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
  const { code, output } = await runPromtool(['check', 'rules', file]);
  t.equal(code, 0, 'promtool check rules exits 0', { output });
  t.match(output, `SUCCESS: ${exprs.length} rules found`);
});

t.test('debianTool takes an override, then PATH, and says why a tool cannot be had', async (t) => {
  const dir = t.testdir({ bin: { promtool: '#!/bin/sh\n' }, empty: {} });
  chmodSync(join(dir, 'bin', 'promtool'), 0o755);
  const offline = { download: false, cacheRoot: join(dir, 'empty') };
  t.equal(await debianTool(PROMTOOL, { ...offline, env: { PATH: join(dir, 'bin') } }), join(dir, 'bin', 'promtool'));
  t.same(await debianTool(PROMTOOL, { ...offline, env: { PROMTOOL_BIN: join(dir, 'nowhere'), PATH: join(dir, 'bin') } }), {
    unavailable: `PROMTOOL_BIN=${join(dir, 'nowhere')} is not an executable file`,
  });
  const missing = await debianTool(PROMTOOL, { ...offline, env: { PATH: join(dir, 'empty') } });
  t.match(missing, { unavailable: /promtool is not on PATH/ });
});
