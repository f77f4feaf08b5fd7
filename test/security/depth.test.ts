import { describe, expect, it } from 'vitest';
import { isDomainError } from '../../src/chat/errors.js';
import { boundDepth, pathTooDeep, TOO_DEEP } from '../../src/chat/json-depth.js';
import { canonicalJson, CANONICAL_JSON_MAX_DEPTH, contentHashMessageId } from '../../src/chat/message-id.js';

/** A value nested `depth` objects deep, built without recursion. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('nesting bounds (issue 17)', () => {
  it('[ID2] canonicalJson refuses nesting over its bound with validation_failed, never a RangeError', () => {
    expect(() => canonicalJson(nested(CANONICAL_JSON_MAX_DEPTH - 1))).not.toThrow();
    for (const depth of [CANONICAL_JSON_MAX_DEPTH + 1, 100_000]) {
      let error: unknown;
      try {
        contentHashMessageId('montymobile', nested(depth));
      } catch (err) {
        error = err;
      }
      expect(isDomainError(error) && error.code === 'validation_failed', String(error)).toBe(true);
    }
  });

  it('[§4 input] boundDepth cuts 100,000 levels to the bound and leaves shallow values untouched', () => {
    const cut = boundDepth(nested(100_000), 64);
    expect(pathTooDeep(cut, 65)).toBeNull();
    let node: any = cut;
    let levels = 0;
    while (typeof node === 'object') {
      node = node.a;
      levels++;
    }
    expect(levels).toBe(64);
    expect(node).toBe(TOO_DEEP);
    const shallow = { a: [1, { b: 2 }], __proto__: null };
    expect(boundDepth(shallow, 64)).toBe(shallow);
  });

  it('[§4 input] a `__proto__` key survives the cut as an own member', () => {
    const parsed = JSON.parse(`{"__proto__": {"x": ${'['.repeat(10)}${']'.repeat(10)}}}`);
    const cut = boundDepth(parsed, 3) as Record<string, unknown>;
    expect(Object.hasOwn(cut, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(cut)).toBe(Object.prototype);
  });

  it('[§4 input] pathTooDeep names the first field too deep', () => {
    expect(pathTooDeep({ ok: 1, list: [{ deep: nested(10) }] }, 5)).toBe('list[0].deep.a.a');
    expect(pathTooDeep({ 'odd key': nested(5) }, 3)).toBe('["odd key"].a.a');
    expect(pathTooDeep(nested(3), 10)).toBeNull();
  });
});
