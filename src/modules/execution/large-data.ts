import { OPAQUE_JSON, type OpaqueJson } from "../../shared/opaque-json.js";
import { utf8Text } from "./shared-bytes.js";

/**
 * Request data that the event loop never parses (issue #11, fair sharing; src/rest/README.md, "Large bodies").
 *
 * A REST body over LARGE_BODY_BYTES is parsed by a worker of the evaluation pool, in its tenant's turn: JSON.parse of
 * a megabyte takes 3–40 ms (50,000 keys: the most), and serialising it again for the pool and for the answer's echo
 * as much again, so ten such requests in flight held the loop for hundreds of milliseconds at a time. What the event
 * loop keeps instead is this handle: the data's JSON text as UTF-8 bytes (the echo, numbers spelled as sent) in
 * shared memory, so handing it to a worker for every evaluation (every node of a flow) copies nothing, and the answer
 * is written from the bytes without encoding anything. Its evaluations always run in the pool (evaluator.ts), where a
 * worker parses the bytes once and keeps the value for the next node of the same request.
 *
 * `value()` parses on the event loop after all; only what cannot work on text uses it (input recording with
 * redaction, shadow disagreements kept with their input), and `mainThreadParses` counts it, which the tests read.
 */
export class LargeData implements OpaqueJson {
  private static nextId = 0;
  /** Parses of large data on the event loop since the process started (value()); see the test of large bodies. */
  static mainThreadParses = 0;
  /** Identifies the data for the workers' cache of parsed values (evaluation-worker.ts). */
  readonly id: string;
  private parsed: unknown;
  private decoded: string | undefined;
  /** GraphQL's JSON scalars pass it on unread; GraphQL results echo its text (src/shared/opaque-json.ts). */
  readonly [OPAQUE_JSON]: OpaqueJson[typeof OPAQUE_JSON];

  constructor(
    /** The JSON text of `data` as UTF-8, every number as the client wrote it: the echo, and what workers parse. */
    readonly json: Uint8Array,
    /** The engine's upper-bound estimate of the data's size (limits.ts checkData), for the flow answer's bound. */
    readonly estimatedBytes: number,
  ) {
    this.id = `${process.pid}:${LargeData.nextId++}`;
    this[OPAQUE_JSON] = { tooDeep: false, text: () => this.text() };
  }

  /**
   * The JSON text, decoded on the event loop (not parsed; about a millisecond a megabyte): for recording an input that
   * needs no redaction, and for a GraphQL result's echo (kept: every node of a flow echoes it).
   */
  text(): string {
    this.decoded ??= utf8Text(this.json);
    return this.decoded;
  }

  /** The parsed value, on the event loop (counted): for consumers that need objects, never on the answer path. */
  value(): unknown {
    if (this.parsed === undefined) {
      LargeData.mainThreadParses++;
      this.parsed = JSON.parse(utf8Text(this.json));
    }
    return this.parsed;
  }
}

/** Parsed values when the data may be large: a LargeData is parsed on the event loop (counted), anything else is itself. */
export const plainData = (data: unknown): unknown => (data instanceof LargeData ? data.value() : data);
