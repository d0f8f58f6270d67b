/**
 * Incremental framer for the OVSDB wire: a bare stream of concatenated JSON values, no delimiter.
 *
 * Contract:
 * - `push(chunk)` scans each byte exactly once (state kept across chunks: nesting depth, inside a
 *   string, after a backslash), so framing is linear in the input size whatever the chunking.
 * - UTF-8 is decoded per complete frame, never per chunk, so multi-byte characters split between
 *   chunks survive.
 * - A frame larger than `maxFrameBytes` is an error (FramingError), as is a byte that cannot start a
 *   JSON object or array at top level (JSON-RPC messages are objects).
 * - Runs of 16 or more digits outside strings mark the frame as possibly holding an integer beyond
 *   2^53; such a frame goes through `parseJsonLossless` (integers outside the safe range become
 *   bigint). Every other frame takes the `JSON.parse` fast path.
 */
import { FramingError } from './errors.js';

export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/** 2^53 has 16 decimal digits: a shorter run is always a safe integer. */
const BIG_DIGIT_RUN = 16;

const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export interface FramerOptions {
  maxFrameBytes?: number;
}

export class JsonStreamFramer {
  private readonly maxFrameBytes: number;
  private parts: Buffer[] = [];
  /** Bytes of the current frame held in `parts` (excluding the chunk being scanned). */
  private heldBytes = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private digitRun = 0;
  private mayHoldBigInt = false;

  constructor(options: FramerOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    if (!Number.isInteger(this.maxFrameBytes) || this.maxFrameBytes < 2) {
      throw new FramingError(`maxFrameBytes must be an integer >= 2, got ${String(options.maxFrameBytes)}`);
    }
  }

  /** True when a partial frame is buffered. */
  get hasPartialFrame(): boolean {
    return this.depth > 0;
  }

  /**
   * Feeds bytes; returns the JSON values completed by this chunk, in order. Throws FramingError on
   * malformed framing or a too-large frame; the framer must then be discarded with the connection.
   */
  push(chunk: Buffer): unknown[] {
    const out: unknown[] = [];
    let frameStart = this.depth > 0 ? 0 : -1;
    let depth = this.depth;
    let inString = this.inString;
    let escaped = this.escaped;
    let digitRun = this.digitRun;
    let mayHoldBigInt = this.mayHoldBigInt;
    const n = chunk.length;
    // Inside strings, jump with native searches; the next backslash position is cached so the
    // search for it never rescans bytes (linear overall).
    let nextBackslash = -2;
    for (let i = 0; i < n; i++) {
      if (inString) {
        if (escaped) {
          escaped = false;
          continue;
        }
        let quote = chunk.indexOf(QUOTE, i);
        if (quote < 0) quote = n;
        if (nextBackslash !== -1 && nextBackslash < i) nextBackslash = chunk.indexOf(BACKSLASH, i);
        if (nextBackslash !== -1 && nextBackslash < quote) {
          i = nextBackslash;
          escaped = true;
          continue;
        }
        if (quote === n) {
          i = n;
          break;
        }
        i = quote;
        inString = false;
        continue;
      }
      const b = chunk[i] as number;
      if (depth === 0) {
        if (b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09) continue;
        if (b !== OPEN_BRACE && b !== OPEN_BRACKET) {
          throw new FramingError(`unexpected byte 0x${b.toString(16)} between JSON-RPC messages`);
        }
        frameStart = i;
        depth = 1;
        digitRun = 0;
        mayHoldBigInt = false;
        continue;
      }
      if (b >= 0x30 && b <= 0x39) {
        if (++digitRun >= BIG_DIGIT_RUN) mayHoldBigInt = true;
        continue;
      }
      digitRun = 0;
      if (b === QUOTE) inString = true;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--depth === 0) {
          const bytes = this.heldBytes + (i + 1 - frameStart);
          if (bytes > this.maxFrameBytes) throw this.tooLarge(bytes);
          let frame: Buffer;
          if (this.parts.length === 0) frame = chunk.subarray(frameStart, i + 1);
          else {
            this.parts.push(chunk.subarray(0, i + 1));
            frame = Buffer.concat(this.parts, bytes);
            this.parts = [];
            this.heldBytes = 0;
          }
          out.push(decodeFrame(frame, mayHoldBigInt));
          frameStart = -1;
        }
      }
    }
    if (depth > 0 && frameStart >= 0) {
      const tail = chunk.subarray(frameStart);
      this.heldBytes += tail.length;
      if (this.heldBytes > this.maxFrameBytes) throw this.tooLarge(this.heldBytes);
      this.parts.push(tail);
    }
    this.depth = depth;
    this.inString = inString;
    this.escaped = escaped;
    this.digitRun = digitRun;
    this.mayHoldBigInt = mayHoldBigInt;
    return out;
  }

  private tooLarge(bytes: number): FramingError {
    return new FramingError(
      `JSON-RPC message of at least ${bytes} bytes exceeds maxFrameBytes=${this.maxFrameBytes}`,
    );
  }
}

function decodeFrame(frame: Buffer, mayHoldBigInt: boolean): unknown {
  const text = frame.toString('utf8');
  try {
    return mayHoldBigInt ? parseJsonLossless(text) : JSON.parse(text);
  } catch (e) {
    const preview = text.length > 200 ? `${text.slice(0, 200)}...` : text;
    throw new FramingError(`invalid JSON in message ${JSON.stringify(preview)}: ${(e as Error).message}`);
  }
}

/** Nesting limit of the lossless parser; ovsdb-server itself refuses JSON deeper than 1000. */
const MAX_LOSSLESS_DEPTH = 1000;

/**
 * Parses JSON text like `JSON.parse`, except that integers outside ±(2^53-1) become `bigint`
 * instead of losing precision. Numbers with a fraction or exponent stay `number`.
 */
export function parseJsonLossless(text: string): unknown {
  let pos = 0;
  const len = text.length;

  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${pos}`);
  };
  const skipWs = (): void => {
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
  };
  const parseString = (): string => {
    // pos is at the opening quote; reuse JSON.parse for escapes (fast and exact).
    const start = pos;
    pos++;
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c === 0x5c) pos += 2;
      else if (c === 0x22) {
        pos++;
        return JSON.parse(text.slice(start, pos)) as string;
      } else pos++;
    }
    return fail('unterminated string');
  };
  const parseNumber = (): number | bigint => {
    const start = pos;
    if (text.charCodeAt(pos) === 0x2d) pos++;
    let isInteger = true;
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c >= 0x30 && c <= 0x39) pos++;
      else if (c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
        isInteger = false;
        pos++;
      } else break;
    }
    const lexeme = text.slice(start, pos);
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(lexeme)) fail(`bad number ${JSON.stringify(lexeme)}`);
    if (isInteger) {
      const asNumber = Number(lexeme);
      return Number.isSafeInteger(asNumber) ? asNumber : BigInt(lexeme);
    }
    return Number(lexeme);
  };
  const parseLiteral = (word: string, value: unknown): unknown => {
    if (text.startsWith(word, pos)) {
      pos += word.length;
      return value;
    }
    return fail('unexpected token');
  };
  const parseValue = (depth: number): unknown => {
    if (depth > MAX_LOSSLESS_DEPTH) fail(`nesting deeper than ${MAX_LOSSLESS_DEPTH}`);
    skipWs();
    const c = text.charCodeAt(pos);
    if (c === 0x7b) {
      pos++;
      const obj: Record<string, unknown> = {};
      skipWs();
      if (text.charCodeAt(pos) === 0x7d) {
        pos++;
        return obj;
      }
      for (;;) {
        skipWs();
        if (text.charCodeAt(pos) !== 0x22) fail('expected object key');
        const key = parseString();
        skipWs();
        if (text.charCodeAt(pos) !== 0x3a) fail('expected ":"');
        pos++;
        const v = parseValue(depth + 1);
        if (key === '__proto__')
          Object.defineProperty(obj, key, { value: v, enumerable: true, writable: true, configurable: true });
        else obj[key] = v;
        skipWs();
        const d = text.charCodeAt(pos);
        pos++;
        if (d === 0x7d) return obj;
        if (d !== 0x2c) fail('expected "," or "}"');
      }
    }
    if (c === 0x5b) {
      pos++;
      const arr: unknown[] = [];
      skipWs();
      if (text.charCodeAt(pos) === 0x5d) {
        pos++;
        return arr;
      }
      for (;;) {
        arr.push(parseValue(depth + 1));
        skipWs();
        const d = text.charCodeAt(pos);
        pos++;
        if (d === 0x5d) return arr;
        if (d !== 0x2c) fail('expected "," or "]"');
      }
    }
    if (c === 0x22) return parseString();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return parseNumber();
    if (c === 0x74) return parseLiteral('true', true);
    if (c === 0x66) return parseLiteral('false', false);
    if (c === 0x6e) return parseLiteral('null', null);
    return fail('unexpected token');
  };

  const value = parseValue(0);
  skipWs();
  if (pos !== len) fail('unexpected data after JSON value');
  return value;
}

/**
 * Serializes a value to JSON; bigint values are written as exact integer literals. Uses
 * `JSON.stringify` unless the value holds a bigint.
 */
export function stringifyJson(value: unknown): string {
  try {
    const s = JSON.stringify(value);
    if (s === undefined) throw new TypeError(`cannot serialize ${typeof value} as JSON`);
    return s;
  } catch (e) {
    if (!(e instanceof TypeError) || !/BigInt/i.test(e.message)) throw e;
    return stringifyWithBigInt(value);
  }
}

function stringifyWithBigInt(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') {
    const s = JSON.stringify(value);
    return s ?? 'null';
  }
  if (Array.isArray(value))
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : stringifyWithBigInt(v))).join(',')}]`;
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
    parts.push(`${JSON.stringify(k)}:${stringifyWithBigInt(v)}`);
  }
  return `{${parts.join(',')}}`;
}
