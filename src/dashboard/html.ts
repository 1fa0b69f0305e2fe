// Server-side HTML for the dashboard: a tagged template that escapes every interpolated value unless it
// is already SafeHtml, so no database text (names, emails, user agents, error messages) reaches the page raw.

export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch] ?? ch);
}

function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** `html\`<p>${name}</p>\`` — values are escaped; SafeHtml and arrays of it are inserted as they are. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i += 1) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

const NUMBER = new Intl.NumberFormat('en-US');

/** 1234567 → "1,234,567" (the page's only number format, so tests and people read the same text). */
export function formatNumber(value: number): string {
  return NUMBER.format(value);
}

/** A UTC timestamp as "2026-06-03 14:05 UTC". */
export function formatUtc(value: Date | null): string {
  if (value === null) return 'never';
  return `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
