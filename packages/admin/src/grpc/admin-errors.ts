import { Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  type DirectorAdminError,
  HostUpdateRefusedError,
  NotFoundError,
  REFUSALS,
  SyncTimeoutError,
  TryAgainError,
  UnavailableError,
} from '../director-admin/errors.js';

/** Trailer naming the director-admin reply a failed call stands for. */
export const ADMIN_ERROR_TRAILER = 'x-usher-admin-error';

/** A request that makes no sense (bad address, bad count). INVALID_ARGUMENT on the wire. */
export class AdminRequestError extends Error {}

/** What a failed call carries over gRPC. */
export interface AdminStatus {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
}

/** The status for an API failure: typed errors keep their meaning, anything else is INTERNAL. */
export function toAdminStatus(e: unknown): AdminStatus {
  const metadata = new Metadata();
  const as = (code: status, kind: string | undefined, details: string): AdminStatus => {
    if (kind) metadata.set(ADMIN_ERROR_TRAILER, kind);
    return { code, details, metadata };
  };
  if (e instanceof NotFoundError) return as(status.NOT_FOUND, 'notfound', e.message);
  if (e instanceof TryAgainError) return as(status.UNAVAILABLE, 'tryagain', e.message);
  if (e instanceof SyncTimeoutError) return as(status.DEADLINE_EXCEEDED, 'synctimeout', e.message);
  if (e instanceof HostUpdateRefusedError) return as(status.FAILED_PRECONDITION, 'refused', e.reply);
  if (e instanceof UnavailableError) return as(status.UNAVAILABLE, 'unavailable', e.message);
  if (e instanceof AdminRequestError) return as(status.INVALID_ARGUMENT, undefined, e.message);
  return as(status.INTERNAL, undefined, e instanceof Error ? e.message : String(e));
}

/**
 * The typed error a failed call means, so a client over gRPC fails exactly as the node's API did.
 * Failures of the call itself (unreachable node, refused credentials) stay ServiceErrors.
 */
export function fromServiceError(e: ServiceError): DirectorAdminError | ServiceError {
  const kind = e.metadata?.get(ADMIN_ERROR_TRAILER)[0];
  const details = e.details;
  switch (kind) {
    case 'notfound':
      return new NotFoundError(details);
    case 'tryagain':
      return new TryAgainError(details);
    case 'synctimeout':
      return new SyncTimeoutError(details);
    case 'unavailable':
      return new UnavailableError(details);
    case 'refused': {
      const code = (Object.keys(REFUSALS) as (keyof typeof REFUSALS)[]).find((k) => REFUSALS[k] === details);
      return code ? new HostUpdateRefusedError(code) : e;
    }
    default:
      return e;
  }
}
