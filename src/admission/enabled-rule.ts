// The one matching rule for workspace entitlements (DESIGN.md: an entry is a name, `prefix*`, or `*`), in JS,
// built on the same entries the admission statement tests with `?|`, so a list shows what a chat admits.
import { entriesAdmitting } from './statement.ts';

/** True when `enabledJson` (a JSONB column as postgres.js returns it) is an array holding an entry that admits `name`. */
export function isEnabledBy(enabledJson: unknown, name: string): boolean {
  return Array.isArray(enabledJson) && entriesAdmitting([name]).some((entry) => enabledJson.includes(entry));
}
