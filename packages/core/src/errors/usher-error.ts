/** Base of every typed error in Usher: a stable code plus the context a log line needs. */
export class UsherError extends Error {
  readonly code: string;
  readonly context: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, context: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.context = context;
  }
}

/** director_username_hash could not be expanded (unknown variable, bad syntax). Temporary failure. */
export class HashFormatError extends UsherError {
  constructor(message: string, context: { format: string; position?: number; variable?: string }) {
    super('HASH_FORMAT', message, context);
  }
}

/** A director_mail_servers entry or an address that is not valid. */
export class HostSpecError extends UsherError {
  constructor(message: string, context: { input: string }) {
    super('HOST_SPEC', message, context);
  }
}

/** No backend can take this user now (no usable host for the tag, hash failure, ...). Temporary. */
export class RoutingError extends UsherError {
  constructor(
    code: 'NO_HOSTS' | 'HASH_FAILED' | 'TIMEOUT' | 'MOVING',
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(code, message, context);
  }
}
