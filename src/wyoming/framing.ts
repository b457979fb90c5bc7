/**
 * Wyoming's framing: each event is one JSON header line `{"type":..., "data_length":N,
 * "payload_length":M}\n`, then N bytes of JSON data (merged over any `data` inline in the header)
 * and M bytes of binary payload.
 */

/** The protocol version written in our headers (that of the wyoming package the tests pin). */
export const WYOMING_VERSION = '1.10.2';

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload?: Buffer;
}

export interface FramingLimits {
  maxHeaderBytes: number;
  maxDataBytes: number;
  maxPayloadBytes: number;
}

/** A stream that breaks the framing: the connection cannot be read further. */
export class FramingError extends Error {
  constructor(
    message: string,
    readonly code: 'header_too_large' | 'data_too_large' | 'payload_too_large' | 'malformed_event',
  ) {
    super(message);
  }
}

/** Encodes one event the way the wyoming package writes it: header line, data JSON, payload. */
export function encodeEvent(type: string, data?: Record<string, unknown>, payload?: Uint8Array): Buffer {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes = data && Object.keys(data).length > 0 ? Buffer.from(JSON.stringify(data)) : undefined;
  if (dataBytes) header['data_length'] = dataBytes.length;
  if (payload && payload.length > 0) header['payload_length'] = payload.length;
  const parts: Uint8Array[] = [Buffer.from(`${JSON.stringify(header)}\n`)];
  if (dataBytes) parts.push(dataBytes);
  if (payload && payload.length > 0) parts.push(payload);
  return Buffer.concat(parts);
}

type Pending = { type: string; data: Record<string, unknown>; dataLength: number; payloadLength: number };

/** Incremental reader: push bytes as they arrive, get whole events; throws FramingError on a broken stream. */
export class EventReader {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;

  constructor(private readonly limits: FramingLimits) {}

  push(bytes: Buffer): WyomingEvent[] {
    this.buffer = this.buffer.length === 0 ? bytes : Buffer.concat([this.buffer, bytes]);
    const events: WyomingEvent[] = [];
    for (;;) {
      if (!this.pending) {
        const newline = this.buffer.indexOf(0x0a);
        if (newline < 0) {
          if (this.buffer.length > this.limits.maxHeaderBytes)
            throw new FramingError(`event header longer than ${this.limits.maxHeaderBytes} bytes`, 'header_too_large');
          return events;
        }
        if (newline > this.limits.maxHeaderBytes) throw new FramingError(`event header longer than ${this.limits.maxHeaderBytes} bytes`, 'header_too_large');
        const line = this.buffer.subarray(0, newline).toString('utf8');
        this.buffer = this.buffer.subarray(newline + 1);
        if (line.trim().length === 0) continue;
        this.pending = this.parseHeader(line);
      }
      const { dataLength, payloadLength } = this.pending;
      if (this.buffer.length < dataLength + payloadLength) return events;
      const event = this.pending;
      this.pending = undefined;
      const data = dataLength > 0 ? { ...event.data, ...parseObject(this.buffer.subarray(0, dataLength).toString('utf8'), 'event data') } : event.data;
      const payload = payloadLength > 0 ? Buffer.from(this.buffer.subarray(dataLength, dataLength + payloadLength)) : undefined;
      this.buffer = this.buffer.subarray(dataLength + payloadLength);
      events.push({ type: event.type, data, ...(payload ? { payload } : {}) });
    }
  }

  private parseHeader(line: string): Pending {
    const header = parseObject(line, 'event header');
    const type = header['type'];
    if (typeof type !== 'string' || type.length === 0 || type.length > 128) throw new FramingError('the event header has no valid "type"', 'malformed_event');
    const inline = header['data'] ?? {};
    if (typeof inline !== 'object' || inline === null || Array.isArray(inline)) throw new FramingError('"data" must be a JSON object', 'malformed_event');
    const dataLength = length(header['data_length'], 'data_length');
    const payloadLength = length(header['payload_length'], 'payload_length');
    if (dataLength > this.limits.maxDataBytes)
      throw new FramingError(`data_length ${dataLength} exceeds the limit of ${this.limits.maxDataBytes} bytes`, 'data_too_large');
    if (payloadLength > this.limits.maxPayloadBytes) {
      throw new FramingError(`payload_length ${payloadLength} exceeds the limit of ${this.limits.maxPayloadBytes} bytes`, 'payload_too_large');
    }
    return { type, data: inline as Record<string, unknown>, dataLength, payloadLength };
  }
}

function length(value: unknown, name: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new FramingError(`"${name}" must be a non-negative integer`, 'malformed_event');
  return value;
}

function parseObject(text: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new FramingError(`${what} is not valid JSON`, 'malformed_event');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FramingError(`${what} must be a JSON object`, 'malformed_event');
  return value as Record<string, unknown>;
}
