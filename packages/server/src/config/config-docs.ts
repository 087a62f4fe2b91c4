import { schema } from './schema.js';

/**
 * docs/configuration.md, generated from the convict schema so the reference can never disagree
 * with what usherd accepts. `npm run docs:config` writes it; a test fails when the committed copy
 * is stale. Settings are grouped by name pattern, so a new setting lands in a section without
 * touching this file (or in "Other settings", which is the hint to add a pattern).
 */
interface Entry {
  readonly key: string;
  readonly doc: string;
  readonly format: unknown;
  readonly default: unknown;
  readonly env?: string;
  readonly sensitive?: boolean;
}

const GROUPS: ReadonlyArray<readonly [string, RegExp, string]> = [
  [
    'Ring',
    /^director_(servers|ring_|user_kick_delay|max_parallel_)/,
    'The peers this node replicates the host table and the user directory with. An empty `director_servers` makes a ring of one (a standalone node).',
  ],
  [
    'Backends and placement',
    /^(director_|backend\.|auth_master_)/,
    'Which backends exist and how a user is placed on one: the same settings, syntax and defaults as Dovecot Director, so every user lands on the same backend.',
  ],
  [
    'Client side: listeners, TLS, trusted networks',
    /^(listeners$|ssl_|login_trusted_|haproxy_|managesieve_)/,
    'What clients connect to.',
  ],
  ['Limits and timeouts', /^(login_|auth_|lmtp_|shutdown_)/, 'Protection of the node and of the backends.'],
  [
    'Backend health checks',
    /^health_/,
    "Every node probes every backend; a backend is marked down (and later up) ring-wide only when more than half of the reachable nodes agree, so one node with a bad link changes nothing. An operator's HOST-DOWN holds until HOST-UP: the health checks never override it.",
  ],
  ['Node, logs and metrics', /^(node_name$|log_|metrics_)/, ''],
];

export function configEntries(): Entry[] {
  const out: Entry[] = [];
  const walk = (node: Record<string, unknown>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      const spec = v as Record<string, unknown>;
      if (spec !== null && typeof spec === 'object' && 'doc' in spec && 'default' in spec) {
        out.push({
          key: `${prefix}${k}`,
          doc: String(spec.doc),
          format: spec.format,
          default: spec.default,
          ...(typeof spec.env === 'string' ? { env: spec.env } : {}),
          ...(spec.sensitive === true ? { sensitive: true } : {}),
        });
      } else if (spec !== null && typeof spec === 'object') {
        walk(spec, `${prefix}${k}.`);
      }
    }
  };
  walk(schema as unknown as Record<string, unknown>, '');
  return out;
}

export function renderConfigDocs(): string {
  const entries = configEntries();
  const sections: string[] = [];
  const placed = new Set<string>();
  for (const [title, pattern, intro] of GROUPS) {
    const mine = entries.filter((e) => !placed.has(e.key) && pattern.test(e.key));
    for (const e of mine) placed.add(e.key);
    if (mine.length > 0) sections.push(section(title, intro, mine));
  }
  const rest = entries.filter((e) => !placed.has(e.key));
  if (rest.length > 0) sections.push(section('Other settings', '', rest));
  return `${HEADER}\n${sections.join('\n')}\n${LISTENERS}`;
}

function section(title: string, intro: string, entries: readonly Entry[]): string {
  const rows = entries.map(
    (e) =>
      `| \`${e.key}\` | ${cell(renderDefault(e.default))} | ${cell(renderFormat(e.format))} | ${cell(e.doc)}${
        e.env ? ` Environment: \`${e.env}\`.` : ''
      }${e.sensitive ? ' Sensitive: keep the file readable by usherd only.' : ''} |`,
  );
  return [
    `## ${title}`,
    '',
    ...(intro ? [intro, ''] : []),
    '| Setting | Default | Format | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

function renderDefault(v: unknown): string {
  if (v === '') return '(empty)';
  if (Array.isArray(v)) return v.length === 0 ? '`[]`' : `\`${JSON.stringify(v)}\``;
  return `\`${String(v)}\``;
}

function renderFormat(f: unknown): string {
  if (Array.isArray(f)) return `one of ${f.map((x) => `\`${String(x)}\``).join(', ')}`;
  if (f === String) return 'text';
  if (f === Boolean) return '`true` / `false`';
  if (f === Number) return 'number';
  const named: Record<string, string> = {
    port: 'port number',
    nat: 'integer >= 0',
    'dovecot-time': 'time',
    'dovecot-size': 'size',
    listeners: 'list of listeners (below)',
    'listen-address': '`ip:port` or empty',
  };
  if (typeof f === 'string') return named[f] ?? f;
  // inline validators: named ones say what they check, anonymous ones are described in "Meaning"
  if (typeof f === 'function' && f.name === 'positiveInt') return 'integer >= 1';
  return 'see meaning';
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

const HEADER = `# usherd configuration reference

<!-- Generated from packages/server/src/config/schema.ts by \`npm run docs:config\`. Do not edit by hand. -->

usherd reads one JSON file (\`usherd --config /etc/usher/usherd.json\`). Every key is optional;
unknown keys are errors. Where Dovecot has a setting for the same thing, the name, the syntax and
the default are Dovecot's, so a director's \`doveconf -n\` output carries over:
\`usheradm config import-dovecot\` converts it (see [migration.md](migration.md)).

Values, lowest priority first: the defaults below, the file, environment variables (where a
setting names one), \`--set key=value\` on the command line (the value is parsed as JSON when it
can be, \`--set backend.ssl=yes\` reaches a nested key).

* **time**: Dovecot's time syntax, \`15 min\`, \`2 secs\`, \`500 ms\`, \`1h\`, or a bare number of seconds.
* **size**: \`64k\`, \`10 M\`, \`1 G\`, or a bare number of bytes.
* **file settings** (\`ssl_cert\`, \`ssl_key\`, the ring certificates): a path; Dovecot's \`<path\` is accepted.

\`usherd --check-config --config FILE\` validates without starting. Every problem is reported on
its own line with the file and line of the setting, e.g.
\`usherd.json:7: director_user_expire: not a time value: soon\`; settings given with \`--set\` are
reported as \`--set: ...\`. Exit code 78 (EX_CONFIG) means a configuration error.
`;

const LISTENERS = `## Listeners

\`listeners\` is a list of objects, one per socket:

| Field | Required | Meaning |
| --- | --- | --- |
| \`protocol\` | yes | \`imap\`, \`pop3\`, \`lmtp\` or \`managesieve\` |
| \`address\` | yes | IP address to bind (\`0.0.0.0\` / \`::\` for all) |
| \`port\` | yes | TCP port |
| \`ssl\` | no | \`true\`: implicit TLS (imaps, pop3s) with \`ssl_cert\`/\`ssl_key\`. Otherwise STARTTLS / STLS is offered when a certificate is configured. |
| \`haproxy\` | no | \`true\`: every connection must start with a PROXY v1/v2 header, accepted only from \`haproxy_trusted_networks\` (Dovecot's \`haproxy = yes\`). |
| \`tag\` | no | Director tag for users arriving here (Dovecot takes it from passdb's \`director_tag\`). |

\`\`\`json
{
  "director_mail_servers": "10.0.0.21 10.0.0.22 10.0.0.23",
  "listeners": [
    { "protocol": "imap", "address": "0.0.0.0", "port": 143 },
    { "protocol": "imap", "address": "0.0.0.0", "port": 993, "ssl": true },
    { "protocol": "imap", "address": "10.0.0.5", "port": 10143, "haproxy": true },
    { "protocol": "lmtp", "address": "10.0.0.5", "port": 24 }
  ]
}
\`\`\`
`;
