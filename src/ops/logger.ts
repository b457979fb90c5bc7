import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { SECRET_VARS } from '../config/schema.js';

export type { Logger };

const REDACT_PATHS = [
  '*.apiKey',
  '*.api_key',
  '*.apiSecret',
  '*.secret',
  '*.token',
  '*.password',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'apiKey',
  'apiSecret',
  'token',
  'secret',
  'participantToken',
  ...SECRET_VARS,
  ...SECRET_VARS.map((v) => `*.${v}`),
];

/**
 * The one logger. Structured fields are redacted by path; any configured secret value that
 * slips into a message string is masked too, so a key never reaches the output.
 */
export function createLogger(config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'> & Partial<Config>, destination?: DestinationStream): Logger {
  const secrets = SECRET_VARS.map((name) => config[name])
    .filter((v): v is string => typeof v === 'string' && v.length >= 4)
    // the LiveKit dev secret "secret" is public; masking the word everywhere would only add noise
    .filter((v) => v !== 'secret');
  const maskSecrets = (s: string) => secrets.reduce((acc, secret) => acc.split(secret).join('[REDACTED]'), s);
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    base: { service: 'voice-orchestrator' },
    redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
    hooks: {
      logMethod(args, method) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>);
      },
    },
    formatters: {
      log(object) {
        const err = object.err;
        if (err instanceof Error && secrets.length > 0) {
          return { ...object, err: { type: err.name, message: maskSecrets(err.message), stack: err.stack && maskSecrets(err.stack) } };
        }
        return object;
      },
    },
  };
  if (destination) return pino(options, destination);
  if (config.LOG_FORMAT === 'pretty') {
    return pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service' } } });
  }
  return pino(options);
}
