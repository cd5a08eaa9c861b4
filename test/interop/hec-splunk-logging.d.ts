/** The part of splunk-logging 0.11.1 (Splunk's Node library, shipped without types) the HEC tests use. */
declare module 'splunk-logging' {
  export interface LoggerConfig {
    token: string;
    /** Overrides protocol, host, port and (unless "/") path. */
    url?: string;
    path?: string;
    maxBatchCount?: number;
    maxRetries?: number;
  }

  export interface SendContext {
    message: unknown;
    severity?: string;
    metadata?: { time?: number; host?: string; source?: string; sourcetype?: string; index?: string };
  }

  export type SendCallback = (
    error: Error | null,
    response: { statusCode: number } | undefined,
    body: unknown,
  ) => void;

  export class Logger {
    constructor(config: LoggerConfig);
    /** Called for a transport error or a non-zero HEC code; logs to the console unless replaced. */
    error: (error: Error & { code?: number }, context: SendContext) => void;
    send(context: SendContext, callback?: SendCallback): void;
    flush(callback?: SendCallback): void;
  }
}
