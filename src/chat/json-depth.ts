/** What a part of a JSON value nested deeper than allowed is replaced with. */
export const TOO_DEEP = '[nested too deep]';

/**
 * The value with every part nested deeper than `maxDepth` (the value itself is depth 0) replaced by
 * TOO_DEEP. Recursion stops at `maxDepth`, so any nesting JSON.parse accepted is safe to walk here;
 * the value is returned unchanged (the same object) when nothing is that deep.
 */
export function boundDepth(value: unknown, maxDepth: number): unknown {
  return pathTooDeep(value, maxDepth) === null ? value : cut(value, 0, maxDepth);
}

function cut(value: unknown, depth: number, maxDepth: number): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return TOO_DEEP;
  if (Array.isArray(value)) return value.map((item) => cut(item, depth + 1, maxDepth));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    // defineProperty: a `__proto__` key stays an own member, as JSON.parse made it.
    Object.defineProperty(out, key, { value: cut(item, depth + 1, maxDepth), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/**
 * The path (`a[0].b`, `[2].c`; '' for the value itself) of the first object or array nested deeper
 * than `maxDepth`, or null when there is none. Never recurses deeper than `maxDepth`.
 */
export function pathTooDeep(value: unknown, maxDepth: number, path = '', depth = 0): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (depth >= maxDepth) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = pathTooDeep(value[i], maxDepth, `${path}[${i}]`, depth + 1);
      if (found !== null) return found;
    }
    return null;
  }
  for (const [key, item] of Object.entries(value)) {
    const member = /^[A-Za-z_$][\w$]*$/.test(key) ? `${path === '' ? '' : '.'}${key}` : `[${JSON.stringify(key)}]`;
    const found = pathTooDeep(item, maxDepth, `${path}${member}`, depth + 1);
    if (found !== null) return found;
  }
  return null;
}
