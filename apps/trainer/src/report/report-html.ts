import { SCENARIOS } from '../protocol/scenarios';
import { lineChart, renderSvg, type Point } from './charts';
import type { ModelSummary, Report } from './report-json';

type Column = { key: 'mae' | 'rmse' | 'ndcg3' | 'p5'; label: string; lowerIsBetter: boolean };
const COLUMNS: Column[] = [
  { key: 'mae', label: 'MAE', lowerIsBetter: true },
  { key: 'rmse', label: 'RMSE', lowerIsBetter: true },
  { key: 'ndcg3', label: 'nDCG@3', lowerIsBetter: false },
  { key: 'p5', label: 'P@5', lowerIsBetter: false },
];

/** A self-contained page: the scenario table (best per column in bold), charts inline as SVG, config. */
export async function renderReportHtml(
  report: Report,
): Promise<{ html: string; charts: Record<string, string> }> {
  const charts = await renderCharts(report);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>warmstart P1 report: ${esc(report.dataset)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1rem 0}th,td{padding:.3rem .6rem;border-bottom:1px solid #ddd;text-align:right}
th:first-child,td:first-child{text-align:left}.best{font-weight:bold;background:#e6f4ea}
.charts{display:flex;flex-wrap:wrap;gap:1rem}pre{background:#f6f6f6;padding:1rem;overflow:auto}
</style></head><body>
<h1>Protocol P1 on ${esc(report.dataset)}</h1>
<p>Seeds ${report.seeds.join(', ')} &middot; tasks: ${SCENARIOS.map((s) => `${s} ${report.tasks[s]}`).join(', ')}
&middot; warm users split ${report.splits.warm_train} train / ${report.splits.warm_validation} validation / ${report.splits.warm_test} test
&middot; generated ${esc(report.generated_at)}</p>
<p>Mean over seeds (&plusmn; standard deviation across seeds). <span class="best">Bold</span>: best P1 row in its column.</p>
${scenarioTable(report)}
${warmupNote(report)}
<h2>k-shot: new users</h2>
<p>Query metrics when adapting on only the first k support ratings (new-user tasks with at least ${Math.max(...(report.models[0]?.k_shot.map((p) => p.k) ?? [0]))} support ratings).</p>
<div class="charts">${charts['kshot-mae'] ?? ''}${charts['kshot-ndcg3'] ?? ''}</div>
<h2>Meta-training loss</h2>
${charts['loss'] ?? '<p>No model in this run reports a training loss.</p>'}
<h2>Configuration</h2>
<pre>${esc(JSON.stringify(report.config, null, 2))}</pre>
</body></html>
`;
  return { html, charts };
}

function scenarioTable(report: Report): string {
  const head1 = SCENARIOS.map((s) => `<th colspan="${COLUMNS.length}">${s}</th>`).join('');
  const head2 = SCENARIOS.map(() => COLUMNS.map((c) => `<th>${c.label}</th>`).join('')).join('');
  const best = new Map<string, number>();
  for (const s of SCENARIOS) {
    for (const c of COLUMNS) {
      // Best among the P1 rows: a +item-warmup row sees more data (other users' support ratings).
      const values = report.models
        .filter((m) => !m.item_warmup)
        .map((m) => m.scenarios[s][c.key])
        .filter(Number.isFinite);
      if (values.length)
        best.set(`${s}.${c.key}`, c.lowerIsBetter ? Math.min(...values) : Math.max(...values));
    }
  }
  const cell = (m: ModelSummary, s: (typeof SCENARIOS)[number], c: Column) => {
    const v = m.scenarios[s][c.key];
    const spread =
      c.key === 'mae' ? m.scenarios[s].mae_std : c.key === 'ndcg3' ? m.scenarios[s].ndcg3_std : undefined;
    const text = Number.isFinite(v)
      ? v.toFixed(4) + (spread !== undefined ? ` &plusmn;${spread.toFixed(4)}` : '')
      : '&ndash;';
    const isBest = !m.item_warmup && v === best.get(`${s}.${c.key}`);
    return `<td${isBest ? ' class="best"' : ''}>${text}</td>`;
  };
  const rows = report.models
    .map(
      (m) =>
        `<tr><td>${esc(m.name)}</td>${SCENARIOS.map((s) => COLUMNS.map((c) => cell(m, s, c)).join('')).join('')}<td>${m.train_seconds.toFixed(1)}</td><td>${esc(m.backend)}</td></tr>`,
    )
    .join('\n');
  return `<table><thead><tr><th rowspan="2">model</th>${head1}<th rowspan="2">train s</th><th rowspan="2">backend</th></tr><tr>${head2}</tr></thead><tbody>${rows}</tbody></table>`;
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

async function renderCharts(report: Report): Promise<Record<string, string>> {
  const charts: Record<string, string> = {};
  const kMae: Point[] = [];
  const kNdcg: Point[] = [];
  for (const m of report.models) {
    for (const p of m.k_shot) {
      kMae.push({ series: m.name, x: p.k, y: p.mae });
      kNdcg.push({ series: m.name, x: p.k, y: p.ndcg3 });
    }
  }
  if (kMae.some((p) => Number.isFinite(p.y))) {
    charts['kshot-mae'] = await renderSvg(
      lineChart('New users: query MAE vs support size', 'support size k', 'MAE', kMae, true),
    );
    charts['kshot-ndcg3'] = await renderSvg(
      lineChart('New users: query nDCG@3 vs support size', 'support size k', 'nDCG@3', kNdcg, true),
    );
  }
  const loss: Point[] = [];
  for (const m of report.models) {
    for (const h of m.loss_history) {
      h.values.forEach((y, x) => loss.push({ series: `${m.name} seed ${h.seed}`, x: x + 1, y }));
    }
  }
  if (loss.length) charts['loss'] = await renderSvg(lineChart('Meta-training loss', 'step', 'loss', loss));
  return charts;
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
