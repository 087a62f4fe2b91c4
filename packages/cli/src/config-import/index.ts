export * from './dovecot-conf.js';
export * from './findings.js';
export * from './import-dovecot.js';
