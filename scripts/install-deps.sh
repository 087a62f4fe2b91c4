#!/usr/bin/env bash
# Installs the real mail servers the integration tests run against (Dovecot 2.3 + Pigeonhole, swaks, openssl),
# and HAProxy, which the test of deploy/haproxy/haproxy.cfg runs in front of usherd.
# Idempotent and quiet when everything is already present.
set -euo pipefail

# curl and python3 (poplib) are the real POP3 clients of the proxy tests.
PKGS=(dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd dovecot-managesieved swaks openssl sieve-connect curl python3 haproxy)

missing=()
for bin in dovecot doveadm swaks openssl curl python3 sieve-connect haproxy; do
  command -v "$bin" >/dev/null 2>&1 || missing+=("$bin")
done
# managesieve-login ships in its own package and has no binary on PATH.
for f in /usr/lib/dovecot/lmtp /usr/lib/dovecot/pop3 /usr/lib/dovecot/imap /usr/lib/dovecot/managesieve-login; do
  [[ -x "$f" ]] || missing+=("$f")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PKGS[*]}"
if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing: ${missing[*]}" >&2
  echo "install-deps: run as root:  $cmd" >&2
  exit 1
fi

# Debian would start the system-wide Dovecot on 0.0.0.0:143, which collides with the per-IP test
# backends (and a system HAProxy the tests do not need); policy-rc.d exit 101 tells invoke-rc.d not to
# start services (only if none is installed).
policy=/usr/sbin/policy-rc.d
own_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && own_policy=1
fi
trap '[[ $own_policy -eq 1 ]] && rm -f "$policy"' EXIT

log=$(mktemp)
if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PKGS[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2
  rm -f "$log"
  echo "install-deps: apt-get failed" >&2
  exit 1
fi
rm -f "$log"

# Belt and braces: if a system Dovecot got started anyway, stop it so it frees port 143 & co.
if [[ -s /run/dovecot/master.pid ]] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
  doveadm stop >/dev/null 2>&1 || kill "$(cat /run/dovecot/master.pid)" 2>/dev/null || true
fi
