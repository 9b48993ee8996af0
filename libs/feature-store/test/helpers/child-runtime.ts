// Used inside child processes started by children.ts.

/** Tells the parent this child is set up, then waits until every sibling is too. */
export function ready(): Promise<void> {
  process.stdout.write('ready\n');
  return new Promise((resolve) => {
    let input = '';
    process.stdin.on('data', (d: Buffer) => {
      input += d.toString();
      if (input.includes('go')) resolve();
    });
  });
}

/** Reports a JSON result to the parent and exits; errors exit 1 with the message on stderr. */
export function finish(work: Promise<unknown>): void {
  work.then(
    (result) => {
      process.stdout.write(`result ${JSON.stringify(result)}\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
