import { MIN_SECRET_LENGTH, scrubber } from './scrub';

/**
 * The secret values this process holds right now (the access, refresh and ID tokens of every session in
 * use), so that every log line and every quoted message can be cleared of them, even one a careless caller
 * built: the exact values complete the shapes `redact()` knows.
 *
 * Process-wide: the extension loads its core as a second bundle (dist/core.js), and the store that loads the
 * tokens lives there while the log channel lives in dist/extension.js, so the registry sits on `globalThis`
 * under a `Symbol.for` key (not enumerable), where both copies of this module find the same one. Values are
 * counted, so one held by two owners stays until both let go. It cannot leak what it holds: it offers no way
 * to list the values, only to scrub a text with them; and strings cannot be held weakly, so every holder
 * releases what it took (the token store decorator does so when a set is replaced or deleted).
 */
interface LiveSecrets {
  hold(values: readonly string[]): void;
  release(values: readonly string[]): void;
  scrub(text: string): string;
}

const KEY = Symbol.for('mcp-oauth.liveSecrets');

function createLiveSecrets(): LiveSecrets {
  const counts = new Map<string, number>();
  let scrubAll = (text: string): string => text;
  let stale = false;
  return {
    hold(values) {
      for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
      stale = true;
    },
    release(values) {
      for (const value of values) {
        const count = counts.get(value) ?? 0;
        if (count <= 1) counts.delete(value);
        else counts.set(value, count - 1);
      }
      stale = true;
    },
    scrub(text) {
      if (stale) {
        scrubAll = scrubber(counts.keys()); // worked out once per change, not per line
        stale = false;
      }
      return scrubAll(text);
    },
  };
}

function liveSecrets(): LiveSecrets {
  const host = globalThis as { [KEY]?: LiveSecrets };
  if (!host[KEY]) Object.defineProperty(host, KEY, { value: createLiveSecrets(), enumerable: false });
  return host[KEY]!;
}

/**
 * Holds `values` as live secrets until the returned function is called (calling it again does nothing).
 * Values too short to be secrets, and `undefined` ones, are skipped.
 */
export function holdSecrets(values: Iterable<string | undefined>): () => void {
  const held = [...values].filter((value): value is string => !!value && value.length >= MIN_SECRET_LENGTH);
  if (held.length === 0) return () => undefined;
  liveSecrets().hold(held);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    liveSecrets().release(held);
  };
}

/** `text` without any live secret, in any of the forms `scrub()` knows. Cheap when nothing is held. */
export function scrubLive(text: string): string {
  return liveSecrets().scrub(text);
}
