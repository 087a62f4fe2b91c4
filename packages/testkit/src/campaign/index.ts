export { adminCommand, adminListing } from './admin-client.js';
export { PresenceChecker } from './checker.js';
export { Ledger, type LedgerEntry, type Violation } from './ledger.js';
export { LinkProxies, type LinkState } from './link-proxy.js';
export { type CampaignReport, formatReport, kickLatencyMs } from './report.js';
export { Rng } from './rng.js';
export { type CampaignOptions, runCampaign, TIMINGS } from './runner.js';
export { describeFault, makeSchedule, type ScheduledFault } from './schedule.js';
