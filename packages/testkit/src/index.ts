export { adminCommand, adminListing } from './campaign/admin-client.js';
export { startUsherd, USHERD_MAIN, type UsherdAddress, type UsherdProcess } from './cluster/usherd-process.js';
export {
  type DovecotBackend,
  type DovecotBackendOptions,
  type DovecotCluster,
  startDovecotBackends,
  type WhoEntry,
} from './dovecot-backend.js';
export {
  type BackendPorts,
  DEFAULT_PORTS,
  DEFAULT_TLS_PORTS,
  renderDovecotConfig,
  userNames,
} from './dovecot-config.js';
export { type FaultMode, type FaultProxy, type FaultProxyOptions, startFaultProxy } from './fault-proxy.js';
export { freePort, type GreetingOptions, isListening, waitForGreeting, waitForPortsClosed } from './net.js';
export { stopAll } from './process-registry.js';
export { type DovecotBinaries, findBinary, INSTALL_HINT, requireDovecot } from './require-dovecot.js';
