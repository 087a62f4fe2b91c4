export { type GrpcRoundTripOptions, type GrpcRoundTripResult, measureGrpcRoundTrip } from './bench.js';
export { decodeMessage, encodeMessage, FrameError, fromFrame, toFrame } from './codec.js';
export type { RingFrame } from './frames.js';
export { RING_PROTO_PATH } from './frames.js';
export { DEFAULT_MAX_FRAME_BYTES, GrpcTransport, type GrpcTransportOptions, type RingTls } from './grpc-transport.js';
export { certificateNamesIp, parseNodeId } from './identity.js';
export type { GrpcLogger } from './link.js';
export { DEFAULT_REFUSAL_LIMITS, type RefusalLimits, RefusalLog } from './refusal-log.js';
export { RingTlsListener, type RingTlsListenerOptions } from './tls-listener.js';
