import { bucketSize, lineChart, renderSvg, smoothed, type Point } from './charts';
import {
  type KShotSummary,
  type ModelSummary,
  type Report,
  type Scenario,
  SCENARIOS,
  type ScenarioSummary,
} from '@warmstart/evaluation';

type MetricKey = 'mae' | 'rmse' | 'ndcg3' | 'p5' | 'recall20' | 'ndcg20' | 'hr10';
interface Column {
  key: MetricKey;
  label: string;
  lowerIsBetter: boolean;
}
const RANKING: Column[] = [
  { key: 'recall20', label: 'Recall@20', lowerIsBetter: false },
  { key: 'ndcg20', label: 'NDCG@20', lowerIsBetter: false },
  { key: 'hr10', label: 'HR@10', lowerIsBetter: false },
];
const RATING: Column[] = [
  { key: 'mae', label: 'MAE', lowerIsBetter: true },
  { key: 'rmse', label: 'RMSE', lowerIsBetter: true },
  { key: 'ndcg3', label: 'nDCG@3', lowerIsBetter: false },
  { key: 'p5', label: 'P@5', lowerIsBetter: false },
];

/** The columns of a report's scenario tables: P1 the rating metrics; P2 ranking, plus rating for explicit data. */
function columnsOf(report: Report): Column[] {
  if (report.protocol !== 'p2') return RATING;
  return report.kind === 'implicit' ? RANKING : [...RANKING, ...RATING];
}

/**
 * A self-contained page, readable in a 1,280 px window: one table per scenario (best per column in
 * bold), the models' training facts, notes, charts inline as SVG, the configuration.
 */
export async function renderReportHtml(
  report: Report,
): Promise<{ html: string; charts: Record<string, string> }> {
  const charts = await renderCharts(report);
  const protocol = report.protocol.toUpperCase();
  const spread = report.seeds.length > 1;
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>warmstart ${protocol} report: ${esc(report.dataset)}</title>
<style>
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem 1.5rem;max-width:1240px;color:#222;line-height:1.4}
table{border-collapse:collapse;margin:.5rem 0 1rem}th,td{padding:.25rem .55rem;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}.best{font-weight:bold;background:#e6f4ea}
.sd{color:#666;font-size:.85em}.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:0 1.5rem}
.wide{grid-column:1/-1}.flag{color:#a40;font-weight:normal;font-size:.9em}
.wrap{white-space:normal;text-align:left;overflow-wrap:anywhere;font-size:.85em;min-width:14rem}
table.models th{white-space:normal}.small{font-size:.85em}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(540px,1fr));gap:1rem}.charts svg{max-width:100%;height:auto}
pre{background:#f6f6f6;padding:1rem;overflow:auto;white-space:pre-wrap;word-break:break-word;max-height:40rem}
.notes{background:#fff8e6;border-left:4px solid #e0a800;padding:.4rem 1rem}
</style></head><body>
<h1>${esc(report.dataset)}: protocol ${protocol}</h1>
<p>${summaryLine(report)}</p>
${notes(report)}
<h2>Scenarios</h2>
<p>${spread ? `Mean over ${report.seeds.length} seeds <span class="sd">&plusmn; standard deviation across seeds</span>.` : `One seed (${report.seeds[0]}): no spread.`} <span class="best">Bold</span>: best ${report.protocol === 'p1' ? 'P1 row' : 'model'} in its column.${report.protocol === 'p2' ? ' Ranking: every candidate item of the scenario (warm items, or new items in the new-item scenarios) except the user&rsquo;s support items, against the relevant query items.' : ''}</p>
<div class="grid">${SCENARIOS.map((s) => scenarioTable(report, s)).join('\n')}</div>
${warmupNote(report)}
<h2>Models</h2>
${modelsTable(report)}
${kShotSection(report, charts)}
<h2>Meta-training loss</h2>
${charts['loss'] ? `<p>Per-batch loss of the meta-learners, smoothed (mean of consecutive batches), mean over seeds.</p><div class="charts">${charts['loss']}</div>` : '<p>No meta-learner in this run reports a training loss.</p>'}
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(report.config, null, 2))}</pre>
</body></html>
`;
  return { html, charts };
}

function summaryLine(report: Report): string {
  const parts = [
    `Seeds ${report.seeds.join(', ')}`,
    ...(report.kind
      ? [
          report.kind === 'implicit'
            ? 'implicit feedback'
            : `explicit ratings on [${(report.scale ?? [1, 5]).join(', ')}]`,
        ]
      : []),
    `scored tasks: ${SCENARIOS.map((s) => `${s} ${report.tasks[s]}`).join(', ')}`,
    `warm users ${report.splits.warm_train} train / ${report.splits.warm_validation} validation / ${report.splits.warm_test} test`,
    ...(report.candidates
      ? [`candidates ${report.candidates.warm_items} warm items, ${report.candidates.new_items} new items`]
      : []),
    `generated ${esc(report.generated_at)}`,
  ];
  return parts.join(' &middot; ');
}

function notes(report: Report): string {
  if (!report.notes?.length) return '';
  return `<div class="notes"><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>`;
}

function scenarioTable(report: Report, s: Scenario): string {
  const columns = columnsOf(report);
  const spread = report.seeds.length > 1;
  // Best among the protocol's own rows: a +item-warmup row sees more data (other users' support ratings).
  const best = new Map<MetricKey, number>();
  for (const c of columns) {
    const values = report.models
      .filter((m) => !m.item_warmup)
      .map((m) => metric(m.scenarios[s], c.key))
      .filter(Number.isFinite);
    // A column where every row ties has no best.
    if (values.length && Math.min(...values) !== Math.max(...values))
      best.set(c.key, c.lowerIsBetter ? Math.min(...values) : Math.max(...values));
  }
  const cell = (m: ModelSummary, c: Column) => {
    const v = metric(m.scenarios[s], c.key);
    const sd = spread ? stdOf(m.scenarios[s], c.key) : undefined;
    const text = Number.isFinite(v)
      ? v.toFixed(4) +
        (sd !== undefined && Number.isFinite(sd) ? ` <span class="sd">&plusmn;${sd.toFixed(4)}</span>` : '')
      : '&ndash;';
    const isBest = !m.item_warmup && v === best.get(c.key);
    return `<td${isBest ? ' class="best"' : ''}>${text}</td>`;
  };
  const small = report.too_small?.includes(s)
    ? ' <span class="flag">(fewer than 50 tasks: too few to separate models)</span>'
    : '';
  const rows = report.models
    .map((m) => `<tr><td>${esc(m.name)}</td>${columns.map((c) => cell(m, c)).join('')}</tr>`)
    .join('\n');
  // Two tables side by side only when both fit half the page (about 590 px each).
  const wide = 200 + columns.length * (spread ? 150 : 75) > 590 ? ' class="wide"' : '';
  return `<section${wide}><h3>${s} &middot; ${report.tasks[s]} tasks${small}</h3><table><thead><tr><th>model</th>${columns.map((c) => `<th>${c.label}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table></section>`;
}

function metric(x: ScenarioSummary | KShotSummary, key: MetricKey): number {
  const v = x[key];
  return typeof v === 'number' ? v : NaN;
}

/** The spread the report has for a metric (RMSE and P@5 have none). */
function stdOf(x: ScenarioSummary, key: MetricKey): number | undefined {
  const v = (x as unknown as Record<string, unknown>)[`${key}_std`];
  return typeof v === 'number' ? v : undefined;
}

function modelsTable(report: Report): string {
  const rows = report.models.map((m) => {
    const tuned = m.tuned
      .filter((t) => Object.keys(t.values).length > 0)
      .map((t) => esc(`seed ${t.seed}: ${formatTuned(t.values)}`))
      .join('<br>');
    const validation =
      report.protocol !== 'p2'
        ? `${fixed(m.validation.mae)} / ${fixed(m.validation.ndcg3)}`
        : report.kind === 'implicit'
          ? fixed(m.validation.ndcg20)
          : `${fixed(m.validation.ndcg20)} / ${fixed(m.validation.mae)}`;
    return `<tr><td>${esc(m.name)}</td><td>${m.train_seconds.toFixed(1)}</td><td class="small">${esc(m.backend)}</td><td>${validation}</td><td class="wrap">${tuned}</td></tr>`;
  });
  const validationHead =
    report.protocol !== 'p2'
      ? 'validation MAE / nDCG@3'
      : report.kind === 'implicit'
        ? 'validation NDCG@20'
        : 'validation NDCG@20 / MAE';
  return `<table class="models"><thead><tr><th>model</th><th>train s</th><th>backend</th><th>${validationHead}</th><th class="wrap">chosen on validation users</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

function fixed(v: number | undefined | null): string {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(4) : '&ndash;';
}

function formatTuned(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(', ');
}

/** What the "+item-warmup" rows are (an extension of P1), when the report has any. */
function warmupNote(report: Report): string {
  const variants = report.models.filter((m) => m.item_warmup);
  if (variants.length === 0) return '';
  const o = variants[0].item_warmup!.options;
  const rows = variants.map((m) => {
    const w = m.item_warmup!;
    const f = (x: { mae: number; ndcg3: number }) => `${x.mae.toFixed(4)} / ${x.ndcg3.toFixed(4)}`;
    const used = Object.entries(w.scenarios)
      .map(([s, x]) => `${s}: ${x.items} items, ${x.interactions} ratings`)
      .join('; ');
    return `<li>${esc(m.name)}: ${esc(used)}; validation users with hidden item IDs (MAE / nDCG@3) ${f(w.validation_cold_items.without)} without, ${f(w.validation_cold_items.with)} with warm-up</li>`;
  });
  return `<p><b>+item-warmup</b> rows extend P1 (the other rows are P1 unchanged): the same fitted model, but in the new-item scenarios every new item's ID row is first warmed up (core warmUpItems, steps ${o.steps}, lr ${o.lr}, prior ${o.prior}) on the support ratings of all the scenario's tasks, never on query ratings; then each user is adapted and scored with those rows. Other columns do not apply (&ndash;). Not like-for-like with the P1 rows (no P1 method sees other users' support ratings of a new item), so never in bold.</p>
<ul>${rows.join('\n')}</ul>`;
}

/** The k-shot charts of a report, by file name: P1 MAE and nDCG@3; P2 every reported metric. */
function kShotCharts(
  report: Report,
): { name: string; curve: 'users' | 'items'; key: MetricKey; label: string }[] {
  if (report.protocol !== 'p2')
    return [
      { name: 'kshot-mae', curve: 'users', key: 'mae', label: 'MAE' },
      { name: 'kshot-ndcg3', curve: 'users', key: 'ndcg3', label: 'nDCG@3' },
    ];
  const keys = columnsOf(report).filter((c) => c.key !== 'rmse' && c.key !== 'p5');
  return (['users', 'items'] as const).flatMap((curve) =>
    keys.map((c) => ({
      name: `kshot${curve === 'items' ? '-new-items' : ''}-${c.key}`,
      curve,
      key: c.key,
      label: c.label,
    })),
  );
}

function kShotSection(report: Report, charts: Record<string, string>): string {
  const specs = kShotCharts(report);
  const of = (curve: 'users' | 'items') =>
    specs
      .filter((c) => c.curve === curve)
      .map((c) => charts[c.name] ?? '')
      .join('');
  const users = of('users');
  const ks = report.models[0]?.k_shot.map((p) => p.k) ?? [];
  const usersText =
    report.protocol === 'p2'
      ? `New users adapted on only their first k support interactions (each k: the users with at least k; query unchanged). Ranking over the warm items.`
      : `Query metrics when adapting on only the first k support ratings (new-user tasks with at least ${Math.max(0, ...ks)} support ratings).`;
  let html = `<h2>k-shot: new users</h2>\n<p>${usersText}</p>\n${users ? `<div class="charts">${users}</div>` : '<p>No k-shot tasks.</p>'}`;
  if (report.protocol === 'p2') {
    const items = of('items');
    html += `\n<h2>k-shot: new items</h2>\n<p>Only each new item's first k interactions (pooled over users) are available to the models; a user's support is their interactions among those, the query their other new-item interactions. Ranking over the new items.</p>\n${items ? `<div class="charts">${items}</div>` : '<p>No k-shot tasks.</p>'}`;
  }
  return html;
}

/** The meta-learners (config `evaluate.learners`): the loss chart leaves the non-meta network out. */
function learnerNames(report: Report): Set<string> {
  const config = report.config as { evaluate?: { learners?: { name?: unknown }[] } } | null;
  return new Set((config?.evaluate?.learners ?? []).map((l) => String(l.name)));
}

async function renderCharts(report: Report): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  for (const spec of kShotCharts(report)) {
    const points: Point[] = [];
    for (const m of report.models) {
      const curve = spec.curve === 'users' ? m.k_shot : (m.k_shot_new_items ?? []);
      for (const p of curve) points.push({ series: m.name, x: p.k, y: metric(p, spec.key) });
    }
    const finite = points.filter((p) => Number.isFinite(p.y));
    if (finite.length === 0) continue;
    const ks = [...new Set(finite.map((p) => p.x))].sort((a, b) => a - b);
    const who = spec.curve === 'users' ? 'New users' : 'New items';
    charts[spec.name] = await renderSvg(
      lineChart(`${who}: ${spec.label} vs k`, 'k (log scale)', spec.label, finite, { logTicks: ks }),
    );
  }
  const learners = learnerNames(report);
  const loss: Point[] = [];
  for (const m of report.models) {
    if (!learners.has(m.name) || m.item_warmup) continue;
    // Mean over seeds of each smoothed bucket (seeds stop at different epochs: fewer at the end).
    const size = bucketSize(Math.max(0, ...m.loss_history.map((h) => h.values.length)));
    const sums = new Map<number, { x: number; sum: number; n: number }>();
    for (const h of m.loss_history) {
      smoothed(h.values, size).forEach((p, b) => {
        const at = sums.get(b) ?? { x: p.x, sum: 0, n: 0 };
        at.sum += p.y;
        at.n++;
        sums.set(b, at);
      });
    }
    for (const { x, sum, n } of sums.values()) loss.push({ series: m.name, x, y: sum / n });
  }
  if (loss.length)
    charts['loss'] = await renderSvg(lineChart('Meta-training loss (smoothed)', 'meta-batch', 'loss', loss));
  return charts;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
