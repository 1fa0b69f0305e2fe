// The one matching rule for what a workspace enables (`enabled_models`, `enabled_mcps`), for code that
// decides outside the admission statement: stream policy (metering), list filtering (web client). It is
// the statement's own rule, not a copy: a name is enabled when the JSON array holds one of the entries
// that admit it (`entriesAdmitting`: the name itself, or one of its prefixes followed by `*`, `*` alone
// enabling all), which the statement tests with `enabled_models ?| <entries>`. Like `?|`, only string
// elements count, and anything but a JSON array enables nothing.
import { entriesAdmitting } from './statement.ts';

/** Admission never lets longer names reach the rule (chat-request.ts); longer ones are never enabled. */
const MAX_NAME_CODE_POINTS = 255;

export function isEnabledBy(enabledJson: unknown, name: string): boolean {
  if (!Array.isArray(enabledJson)) return false;
  if (Array.from(name).length > MAX_NAME_CODE_POINTS) return false;
  const enabled = new Set<string>();
  for (const entry of enabledJson) if (typeof entry === 'string') enabled.add(entry);
  if (enabled.size === 0) return false;
  return entriesAdmitting([name]).some((entry) => enabled.has(entry));
}
