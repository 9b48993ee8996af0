import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write';
import { renderReportHtml } from './report-html';
import type { Report } from '@warmstart/evaluation';

/** Writes report.json, report.html and each chart as its own SVG under `dir`, each atomically. */
export async function writeReport(dir: string, report: Report): Promise<string[]> {
  const { html, charts } = await renderReportHtml(report);
  const written: string[] = [];
  const put = (name: string, data: string) => {
    writeFileAtomic(join(dir, name), data);
    written.push(join(dir, name));
  };
  for (const [name, svg] of Object.entries(charts)) put(`${name}.svg`, svg);
  put('report.html', html);
  put('report.json', JSON.stringify(report, null, 2) + '\n');
  return written;
}
