// Streams a file with streamLines and reports how many lines it read and the peak RSS.
import { streamLines } from '../../../src/importers/lines';

async function main(): Promise<void> {
  let lines = 0;
  let peakRss = 0;
  for await (const batch of streamLines(process.argv[2])) {
    lines += batch.length;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  process.stdout.write(`result ${JSON.stringify({ lines, peakRss })}\n`);
}

void main();
