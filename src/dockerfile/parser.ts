// parseDockerfile: Dockerfile text → directives, typed instructions (words unexpanded) grouped
// into stages. BuildKit's parser (moby/buildkit frontend/dockerfile/parser) is the reference.
import { UserError } from '../log';
import { dockerfileError, InstructionError, locate } from './errors';
import { parseFlags } from './flags';
import { chompHeredocContent, findHeredocMarkers } from './heredoc';
import { instructionKeywords, parseInstruction, splitInstruction, usageOf, type RawInstruction } from './instructions';
import { LineError, LineReader, type LogicalLine } from './lines';
import type { ArgInstruction, EscapeChar, Heredoc, Instruction, ParsedDockerfile, Stage } from './types';

const heredocKinds = new Set(['run', 'copy', 'add']);

function looksLikeJsonArray(args: string): boolean {
  const t = args.trim();
  if (!t.startsWith('[')) return false;
  try {
    return Array.isArray(JSON.parse(t));
  } catch {
    return false;
  }
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function unknownInstruction(keyword: string): InstructionError {
  const lower = keyword.toLowerCase();
  const close = instructionKeywords.find((k) => editDistance(lower, k) <= 2);
  const expected = close
    ? `${close.toUpperCase()} or another instruction (${instructionKeywords.map((k) => k.toUpperCase()).join(', ')})`
    : `one of ${instructionKeywords.map((k) => k.toUpperCase()).join(', ')}`;
  return new InstructionError(`unknown instruction ${JSON.stringify(keyword)}`, expected);
}

class Parser {
  private readonly reader: LineReader;
  readonly warnings: string[] = [];

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.reader = new LineReader(text);
  }

  get escape(): EscapeChar {
    return this.reader.directives.escape;
  }

  get syntax(): string | undefined {
    return this.reader.directives.syntax;
  }

  /** All instructions in file order. */
  parseAll(): Instruction[] {
    const out: Instruction[] = [];
    for (;;) {
      let logical: LogicalLine | undefined;
      try {
        logical = this.reader.next();
      } catch (err) {
        if (err instanceof LineError) throw dockerfileError(this.file, err.line, err.problem.what, err.problem.expected);
        throw err;
      }
      if (!logical) return out;
      if (logical.hadEmptyContinuation) {
        this.warnings.push(`${this.file}:${logical.line}: empty continuation line in instruction (Docker will make this an error)`);
      }
      try {
        out.push(this.parseLogical(logical));
      } catch (err) {
        throw locate(err, this.file, logical.line);
      }
    }
  }

  private parseLogical(logical: LogicalLine): Instruction {
    const { keyword, flagWords, args } = splitInstruction(logical.text);
    const kind = keyword.toLowerCase();
    if (!(instructionKeywords as readonly string[]).includes(kind)) throw unknownInstruction(keyword);

    if (kind === 'onbuild') {
      parseFlags(keyword, flagWords); // ONBUILD takes none: this rejects any with a clear error
      if (args === '') throw new InstructionError('ONBUILD has no arguments', usageOf('onbuild'));
      const inner = splitInstruction(args);
      const innerKind = inner.keyword.toLowerCase();
      if (innerKind === 'onbuild') throw new InstructionError('ONBUILD ONBUILD is not allowed', 'ONBUILD <instruction other than ONBUILD, FROM or MAINTAINER>');
      if (innerKind === 'from' || innerKind === 'maintainer') {
        throw new InstructionError(`${inner.keyword.toUpperCase()} is not allowed as an ONBUILD trigger`, 'ONBUILD <instruction other than ONBUILD, FROM or MAINTAINER>');
      }
      if (!(instructionKeywords as readonly string[]).includes(innerKind)) throw unknownInstruction(inner.keyword);
      const heredocs = this.readHeredocs(innerKind, inner.args, logical);
      const trigger = parseInstruction(this.raw(inner.keyword, inner.flagWords, inner.args, args, logical, heredocs));
      return {
        kind: 'onbuild',
        line: logical.line,
        endLine: this.reader.linesRead,
        text: logical.text.trim(),
        keyword,
        expression: args,
        trigger,
      };
    }

    const heredocs = this.readHeredocs(kind, args, logical);
    return parseInstruction(this.raw(keyword, flagWords, args, logical.text.trim(), logical, heredocs));
  }

  private raw(keyword: string, flagWords: string[], args: string, text: string, logical: LogicalLine, heredocs: Heredoc[]): RawInstruction {
    return {
      keyword,
      args,
      flags: parseFlags(keyword, flagWords),
      text,
      line: logical.line,
      endLine: this.reader.linesRead,
      escape: this.escape,
      heredocs,
    };
  }

  private readHeredocs(kind: string, args: string, logical: LogicalLine): Heredoc[] {
    if (!heredocKinds.has(kind) || looksLikeJsonArray(args)) return [];
    const heredocs: Heredoc[] = [];
    for (const marker of findHeredocMarkers(logical.text)) {
      const body = this.reader.readHeredoc(marker.name, marker.chomp);
      if (body === undefined) {
        throw new InstructionError(
          `unterminated heredoc <<${marker.chomp ? '-' : ''}${marker.name} (the file ends before its terminator)`,
          `a line containing only ${JSON.stringify(marker.name)}`,
        );
      }
      const heredoc: Heredoc = {
        name: marker.name,
        content: marker.chomp ? chompHeredocContent(body) : body,
        expand: marker.expand,
        chomp: marker.chomp,
      };
      if (marker.fd !== undefined) heredoc.fd = marker.fd;
      heredocs.push(heredoc);
    }
    return heredocs;
  }
}

function groupStages(file: string, instructions: Instruction[]): { globalArgs: ArgInstruction[]; stages: Stage[] } {
  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  for (const ins of instructions) {
    if (ins.kind === 'from') {
      const stage: Stage = { index: stages.length, baseImage: ins.image, from: ins, instructions: [] };
      if (ins.stageName !== undefined) {
        const earlier = names.get(ins.stageName);
        if (earlier !== undefined) {
          throw dockerfileError(file, ins.line, `duplicate stage name ${JSON.stringify(ins.stageName)} (first used on line ${earlier})`, 'unique names after AS');
        }
        names.set(ins.stageName, ins.line);
        stage.name = ins.stageName;
      }
      if (ins.platform !== undefined) stage.platform = ins.platform;
      stages.push(stage);
    } else if (stages.length === 0) {
      if (ins.kind !== 'arg') {
        throw new UserError(
          `${file}:${ins.line}: no FROM instruction: a Dockerfile must start with FROM (after ARGs), but found ${ins.keyword.toUpperCase()}, expected FROM <image> before it`,
        );
      }
      globalArgs.push(ins);
    } else {
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  if (stages.length === 0) {
    const line = instructions.length > 0 ? instructions[instructions.length - 1].endLine : 1;
    throw new UserError(`${file}:${line}: no FROM instruction: a Dockerfile must start with FROM (after ARGs), expected FROM <image>`);
  }
  return { globalArgs, stages };
}

/**
 * Parses a Dockerfile. `file` is the name used in error messages ("Dockerfile:3: …").
 * Throws UserError for any syntax problem.
 */
export function parseDockerfile(text: string, file: string): ParsedDockerfile {
  const parser = new Parser(text, file);
  const instructions = parser.parseAll();
  if (instructions.length === 0) {
    throw new UserError(`${file}:1: the Dockerfile has no instructions, expected at least FROM <image>`);
  }
  const { globalArgs, stages } = groupStages(file, instructions);
  const parsed: ParsedDockerfile = { file, escape: parser.escape, globalArgs, stages, warnings: parser.warnings };
  if (parser.syntax !== undefined) parsed.syntax = parser.syntax;
  return parsed;
}
