import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { type ControlledSubstance, type RulesFile, SCHEDULES, US_FEDERAL_RULE_SET } from '../../domain/index.js';

/**
 * Reads the prescribing-rule data at start (CONTRACT §8): the shipped controlled-substance list and a
 * tenant `RULES_FILE`, validated against the JSON Schema the repository publishes
 * (`schema/rules.schema.json`). Every problem is answered as a sentence naming the file and the
 * element, so the start stops with a message an operator can act on.
 */
export function loadRulesFile(file: string, schemaFile: string): { rules: RulesFile; problems: string[] } {
  const empty: RulesFile = { ruleSets: [] };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { rules: empty, problems: [`RULES_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`] };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    return { rules: empty, problems: [`RULES_FILE: ${file} is not JSON (${(error as Error).message})`] };
  }
  const schema = JSON.parse(readFileSync(schemaFile, 'utf8')) as object;
  const validate = new Ajv({ allErrors: true, strict: false }).compile<RulesFile>(schema);
  if (!validate(data)) {
    return { rules: empty, problems: describe(validate.errors ?? []).map((p) => `RULES_FILE: ${file} does not match ${path.basename(schemaFile)}: ${p}`) };
  }
  // What a schema cannot say: one rule id names one rule, across the file and the built-in set.
  const problems: string[] = [];
  const seen = new Set(US_FEDERAL_RULE_SET.rules.map((r) => r.id));
  const setIds = new Set<string>();
  for (const set of data.ruleSets) {
    if (setIds.has(set.id)) problems.push(`RULES_FILE: ${file}: rule set id '${set.id}' is used twice`);
    setIds.add(set.id);
    for (const rule of set.rules) {
      if (seen.has(rule.id))
        problems.push(`RULES_FILE: ${file}: rule id '${rule.id}' is used twice (rule ids are unique, the built-in us-federal ones included)`);
      seen.add(rule.id);
    }
  }
  return { rules: data, problems };
}

/** Ajv's errors as `/ruleSets/0/rules/1/maxRepeats must be integer`, without the anyOf noise repeated. */
function describe(errors: ErrorObject[]): string[] {
  const lines = errors.map((e) => {
    const at = e.instancePath === '' ? '(top level)' : e.instancePath;
    const extra =
      e.keyword === 'additionalProperties'
        ? ` ('${(e.params as { additionalProperty: string }).additionalProperty}')`
        : e.keyword === 'enum'
          ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})`
          : '';
    return `${at} ${e.message ?? e.keyword}${extra}`;
  });
  return [...new Set(lines)];
}

/** The shipped list (`data/controlled-substances.json`): code, display, schedule, source. */
export function loadControlledSubstances(file: string): ControlledSubstance[] {
  const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of controlled substances`);
  for (const entry of list as ControlledSubstance[]) {
    if (typeof entry?.code !== 'string' || !(SCHEDULES as readonly string[]).includes(entry.schedule))
      throw new Error(`${file}: entry ${JSON.stringify(entry).slice(0, 120)} needs a code and a schedule CII-CV`);
  }
  return list as ControlledSubstance[];
}
