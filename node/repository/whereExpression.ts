/**
 * The `--where` language of `tessera query` (a small subset of LSST's Butler query expressions):
 *   comparisons  band = 'g', visit != 1000, mjd < 60600.5  (=, !=, <>, <, <=, >, >=)
 *   membership   visit IN (1000, 1001), band NOT IN ('g')
 *   logic        AND, OR, NOT and parentheses (NOT binds tightest, then AND, then OR)
 * Operands are data ID keys (dimension or metadata names) and literals: single-quoted strings ('' is a
 * quote inside one) and numbers. Keywords are case-insensitive. Parsing yields a tree that each
 * registry backend compiles to parameterised SQL; no text of the expression ever becomes SQL. Errors
 * say what was expected and point at the position (1-based) in the expression.
 */

export type Literal = string | number;
export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type WhereOperand =
  | { kind: 'key'; name: string; position: number }
  | { kind: 'literal'; value: Literal };

export type WhereNode =
  | { kind: 'and' | 'or'; left: WhereNode; right: WhereNode }
  | { kind: 'not'; operand: WhereNode }
  | { kind: 'compare'; operator: ComparisonOperator; left: WhereOperand; right: WhereOperand }
  | { kind: 'in'; negated: boolean; operand: WhereOperand; values: Literal[] };

export class WhereSyntaxError extends Error {
  override readonly name = 'WhereSyntaxError';
  constructor(readonly expression: string, readonly position: number, readonly problem: string) {
    super(`${problem} at position ${position + 1}:\n  ${expression}\n  ${' '.repeat(position)}^`);
  }
}

type Token =
  | { type: 'key'; text: string; position: number }
  | { type: 'keyword'; text: 'AND' | 'OR' | 'NOT' | 'IN'; position: number }
  | { type: 'string'; value: string; position: number }
  | { type: 'number'; value: number; position: number }
  | { type: 'operator'; text: ComparisonOperator; position: number }
  | { type: '(' | ')' | ',' | 'end'; position: number };

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const start = i;
    if (c === '(' || c === ')' || c === ',') { tokens.push({ type: c, position: start }); i++; continue; }
    if (c === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= text.length) throw new WhereSyntaxError(text, start, 'unterminated string');
        if (text[i] === "'") {
          if (text[i + 1] === "'") { value += "'"; i += 2; continue; }
          i++;
          break;
        }
        value += text[i];
        i++;
      }
      tokens.push({ type: 'string', value, position: start });
      continue;
    }
    const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (number && (/[\d.]/.test(c) || ((c === '-' || c === '+') && !endsOperand(tokens)))) {
      const after = text[i + number[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) throw new WhereSyntaxError(text, start, `malformed number '${number[0]}${after}'`);
      tokens.push({ type: 'number', value: Number(number[0]), position: start });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      const upper = word[0].toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ type: 'keyword', text: upper as 'AND', position: start });
      else tokens.push({ type: 'key', text: word[0], position: start });
      i += word[0].length;
      continue;
    }
    const op = /^(<=|>=|!=|<>|=|<|>)/.exec(text.slice(i));
    if (op) {
      tokens.push({ type: 'operator', text: (op[0] === '<>' ? '!=' : op[0]) as ComparisonOperator, position: start });
      i += op[0].length;
      continue;
    }
    if (c === '"') throw new WhereSyntaxError(text, start, "strings are written in single quotes ('g'), not double quotes");
    throw new WhereSyntaxError(text, start, `unexpected character '${c}'`);
  }
  tokens.push({ type: 'end', position: text.length });
  return tokens;
}

/** After a value, '-' would be subtraction (not supported) rather than a sign. */
function endsOperand(tokens: readonly Token[]): boolean {
  const last = tokens[tokens.length - 1];
  return last !== undefined && (last.type === 'key' || last.type === 'string' || last.type === 'number' || last.type === ')');
}

function describe(token: Token): string {
  switch (token.type) {
    case 'end': return 'the end of the expression';
    case 'key': return `'${token.text}'`;
    case 'keyword': return token.text;
    case 'operator': return `'${token.text}'`;
    case 'string': return `the string '${token.value}'`;
    case 'number': return `the number ${token.value}`;
    default: return `'${token.type}'`;
  }
}

class Parser {
  private index = 0;
  constructor(private readonly text: string, private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.index]!;
  }

  private next(): Token {
    return this.tokens[this.index++]!;
  }

  private fail(token: Token, expected: string): never {
    throw new WhereSyntaxError(this.text, token.position, `expected ${expected}, found ${describe(token)}`);
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t.type === 'keyword' && t.text === word;
  }

  parse(): WhereNode {
    const node = this.or();
    const t = this.peek();
    if (t.type !== 'end') this.fail(t, 'AND, OR or the end of the expression');
    return node;
  }

  private or(): WhereNode {
    let left = this.and();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): WhereNode {
    let left = this.not();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.not() };
    }
    return left;
  }

  private not(): WhereNode {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', operand: this.not() };
    }
    if (this.peek().type === '(') {
      this.next();
      const inner = this.or();
      const close = this.next();
      if (close.type !== ')') this.fail(close, "')'");
      return inner;
    }
    return this.predicate();
  }

  private operand(): WhereOperand {
    const t = this.next();
    if (t.type === 'key') return { kind: 'key', name: t.text, position: t.position };
    if (t.type === 'string' || t.type === 'number') return { kind: 'literal', value: t.value };
    return this.fail(t, 'a data ID key (band, visit...), a quoted string or a number');
  }

  private literal(): Literal {
    const t = this.next();
    if (t.type === 'string' || t.type === 'number') return t.value;
    return this.fail(t, 'a quoted string or a number');
  }

  private predicate(): WhereNode {
    const left = this.operand();
    const t = this.peek();
    let negated = false;
    if (t.type === 'keyword' && t.text === 'NOT') {
      this.next();
      negated = true;
      if (!this.isKeyword('IN')) this.fail(this.peek(), 'IN after NOT');
    }
    if (this.isKeyword('IN')) {
      this.next();
      const open = this.next();
      if (open.type !== '(') this.fail(open, "'(' after IN");
      const values = [this.literal()];
      for (;;) {
        const sep = this.next();
        if (sep.type === ')') break;
        if (sep.type !== ',') this.fail(sep, "',' or ')'");
        values.push(this.literal());
      }
      return { kind: 'in', negated, operand: left, values };
    }
    const op = this.next();
    if (op.type !== 'operator') this.fail(op, 'a comparison (=, !=, <, <=, >, >=) or IN');
    return { kind: 'compare', operator: op.text, left, right: this.operand() };
  }
}

function keysOf(node: WhereNode, out: { name: string; position: number }[] = []): { name: string; position: number }[] {
  switch (node.kind) {
    case 'and': case 'or': keysOf(node.left, out); keysOf(node.right, out); break;
    case 'not': keysOf(node.operand, out); break;
    case 'compare':
      for (const o of [node.left, node.right]) if (o.kind === 'key') out.push({ name: o.name, position: o.position });
      break;
    case 'in': if (node.operand.kind === 'key') out.push({ name: node.operand.name, position: node.operand.position }); break;
  }
  return out;
}

/**
 * Parses a `--where` expression. `knownKeys`, when given, are the data ID keys it may name; any other
 * name is an error at its position.
 */
export function parseWhere(text: string, knownKeys?: ReadonlySet<string>): WhereNode {
  if (text.trim() === '') throw new WhereSyntaxError(text, 0, 'expected an expression, found nothing');
  const node = new Parser(text, tokenize(text)).parse();
  if (knownKeys) {
    for (const key of keysOf(node)) {
      if (!knownKeys.has(key.name)) throw new WhereSyntaxError(text, key.position, `unknown data ID key '${key.name}' (known: ${[...knownKeys].join(', ')})`);
    }
  }
  return node;
}
