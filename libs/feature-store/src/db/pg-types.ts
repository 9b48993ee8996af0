import { types } from 'pg';

/** `timestamp` columns hold UTC (as Prisma writes them); pg would read them as local time. */
export const utcTimestamps = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === types.builtins.TIMESTAMP && format !== 'binary'
      ? (v: string) => new Date(`${v.replace(' ', 'T')}Z`)
      : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};
