export { ADMIN_ERROR_TRAILER, AdminRequestError, fromServiceError, toAdminStatus } from './admin-errors.js';
export { type AdminGrpcClientOptions, GrpcDirectorAdminApi } from './admin-grpc-client.js';
export {
  AdminGrpcConfigError,
  type AdminGrpcServer,
  type AdminGrpcServerOptions,
  startAdminGrpcServer,
} from './admin-grpc-server.js';
export { ADMIN_PROTO_PATH, adminServiceDefinition } from './admin-proto.js';
export { parseTokenFile, type RefusalSink } from './auth.js';
