/** NATS subject matching: `*` matches one token, `>` (last) matches one or more. */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}

/** The same filter as a PostgreSQL regular expression (`subject ~ …`), so the database filters. */
export function subjectFilterRegex(filter: string): string {
  const tokens = filter.split('.').map((token) => {
    if (token === '>') return '.+';
    if (token === '*') return '[^.]+';
    return token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  });
  return `^${tokens.join('\\.')}$`;
}
