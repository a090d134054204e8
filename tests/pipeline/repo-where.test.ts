// The `--where` expression language: what it parses, how it compiles to parameterised SQLite, that an
// injection attempt stays a literal, and that errors point at the position of the problem.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { parseWhere, WhereSyntaxError } from '../../node/repository/whereExpression.js';
import { compileWhere } from '../../node/repository/sqliteWhere.js';

const KEYS = new Set(['band', 'visit', 'detector', 'instrument', 'physical_filter']);

/** Runs a compiled expression over data IDs in an in-memory table; returns the ids that match. */
function select(where: string, dataIds: Record<string, string | number>[]): number[] {
  const db = new Database(':memory:');
  db.exec('CREATE TABLE d (id INTEGER PRIMARY KEY, data_id TEXT NOT NULL)');
  const insert = db.prepare('INSERT INTO d (id, data_id) VALUES (?, ?)');
  dataIds.forEach((dataId, i) => insert.run(i, JSON.stringify(dataId)));
  const compiled = compileWhere(parseWhere(where, KEYS), 'd.data_id');
  const ids = db.prepare(`SELECT id FROM d WHERE ${compiled.sql} ORDER BY id`).pluck().all(...compiled.params) as number[];
  db.close();
  return ids;
}

const ROWS: Record<string, string | number>[] = [
  { band: 'g', visit: 1000, detector: 0 },
  { band: 'g', visit: 1001, detector: 1 },
  { band: 'r', visit: 1002, detector: 0 },
  { band: "g' OR 1=1 --", visit: 1003, detector: 0 },
  { visit: 1004, detector: 2 },
];

describe('--where expressions', () => {
  it('compares, tests membership and combines with AND, OR, NOT and parentheses (NOT > AND > OR)', () => {
    expect(select("band='g' AND visit IN (1000,1001)", ROWS)).toEqual([0, 1]);
    expect(select("band = 'g' and visit in (1001, 1002)", ROWS)).toEqual([1]);
    expect(select("band != 'g'", ROWS)).toEqual([2, 3]); // a data ID without band matches neither = nor !=
    expect(select("band <> 'g'", ROWS)).toEqual([2, 3]);
    expect(select('visit >= 1002', ROWS)).toEqual([2, 3, 4]);
    expect(select('visit < 1001 OR detector > 1', ROWS)).toEqual([0, 4]);
    expect(select("band = 'r' OR band = 'g' AND detector = 1", ROWS)).toEqual([1, 2]);
    expect(select("(band = 'r' OR band = 'g') AND detector = 1", ROWS)).toEqual([1]);
    expect(select("NOT band = 'g' AND detector = 0", ROWS)).toEqual([2, 3]);
    expect(select('visit NOT IN (1000, 1001, 1002)', ROWS)).toEqual([3, 4]);
    expect(select('1000 = visit', ROWS)).toEqual([0]);
    expect(select('visit > 1.0025e3', ROWS)).toEqual([3, 4]);
    expect(select('detector > -1 AND detector < +1', ROWS)).toEqual([0, 2, 3]);
  });

  it('keeps an injection attempt a literal: it matches only the value spelled that way', () => {
    expect(select("band = 'g'' OR 1=1 --'", ROWS)).toEqual([3]);
    const compiled = compileWhere(parseWhere("band = 'x''); DROP TABLE d; --'", KEYS), 'd.data_id');
    expect(compiled.sql).not.toContain('DROP');
    expect(compiled.params).toContain("x'); DROP TABLE d; --");
    // Keys reach SQL only as bound JSON paths.
    expect(compileWhere(parseWhere('visit = 1', KEYS), 'd.data_id')).toEqual({ sql: '(json_extract(d.data_id, ?) = ?)', params: ['$.visit', 1] });
  });

  it('reports errors with the position of the problem', () => {
    const cases: [string, RegExp, number][] = [
      ["band = 'g' AND", /expected a data ID key .* found the end of the expression/, 14],
      ["band = 'g", /unterminated string/, 7],
      ['visit IN 1000', /expected '\(' after IN, found the number 1000/, 9],
      ["band == 'g'", /expected a data ID key .*found '='/, 6],
      ['(visit = 1', /expected '\)', found the end/, 10],
      ['visit = 1 visit', /expected AND, OR or the end of the expression, found 'visit'/, 10],
      ["bnd = 'g'", /unknown data ID key 'bnd'/, 0],
      ['visit = 1; DROP', /unexpected character ';'/, 9],
      ['band = "g"', /single quotes/, 7],
      ['visit = 12abc', /malformed number/, 8],
      ['', /expected an expression/, 0],
      ["band NOT = 'g'", /expected IN after NOT/, 9],
    ];
    for (const [text, message, position] of cases) {
      let error: unknown;
      try {
        parseWhere(text, KEYS);
      } catch (err) {
        error = err;
      }
      expect(error, text).toBeInstanceOf(WhereSyntaxError);
      const e = error as WhereSyntaxError;
      expect(e.problem, text).toMatch(message);
      expect(e.position, text).toBe(position);
      expect(e.message, text).toContain(`at position ${position + 1}:\n  ${text}\n  ${' '.repeat(position)}^`);
    }
  });
});
