/**
 * Compiles a `--where` tree (whereExpression.ts) to an SQLite condition over a dataset's data ID JSON
 * column. Keys become `json_extract(column, ?)` with the JSON path as a bound parameter, literals are
 * bound parameters, and operators come from a fixed table: the expression's text never reaches SQL.
 * A data ID that lacks a key compares as NULL, so neither `band = 'g'` nor `band != 'g'` selects it.
 */
import type { Literal, WhereNode, WhereOperand } from './whereExpression.js';

export interface CompiledCondition {
  sql: string;
  params: Literal[];
}

const OPERATORS = { '=': '=', '!=': '!=', '<': '<', '<=': '<=', '>': '>', '>=': '>=' } as const;

function operand(o: WhereOperand, column: string, params: Literal[]): string {
  if (o.kind === 'key') {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(o.name)) throw new Error(`where: '${o.name}' is not a data ID key`);
    params.push(`$.${o.name}`);
    return `json_extract(${column}, ?)`;
  }
  params.push(o.value);
  return '?';
}

function compile(node: WhereNode, column: string, params: Literal[]): string {
  switch (node.kind) {
    case 'and': return `(${compile(node.left, column, params)} AND ${compile(node.right, column, params)})`;
    case 'or': return `(${compile(node.left, column, params)} OR ${compile(node.right, column, params)})`;
    case 'not': return `(NOT ${compile(node.operand, column, params)})`;
    case 'compare': {
      const left = operand(node.left, column, params);
      const op = OPERATORS[node.operator];
      return `(${left} ${op} ${operand(node.right, column, params)})`;
    }
    case 'in': {
      const left = operand(node.operand, column, params);
      params.push(...node.values);
      return `(${left} ${node.negated ? 'NOT IN' : 'IN'} (${node.values.map(() => '?').join(', ')}))`;
    }
  }
}

/** The condition and its parameters, in order. */
export function compileWhere(node: WhereNode, column: string): CompiledCondition {
  const params: Literal[] = [];
  return { sql: compile(node, column, params), params };
}
