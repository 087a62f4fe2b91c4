import { UsherError } from '../errors/usher-error.js';

/** A replicated record that cannot be applied (bad address, vhost count out of range, tag change refused). */
export class ClusterStateError extends UsherError {
  constructor(
    code: 'BAD_HOST_RECORD' | 'HOST_NOT_FOUND' | 'HOST_TAG_CHANGE' | 'BAD_USER_BATCH',
    message: string,
    context: Record<string, unknown> = {},
  ) {
    super(code, message, context);
  }
}
