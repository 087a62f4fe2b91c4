import { lookup } from 'node:dns/promises';
import type { ResolveName } from '@usher/core';

export const dnsResolve: ResolveName = async (name) => (await lookup(name, { all: true })).map((a) => a.address);
