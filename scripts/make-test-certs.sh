#!/usr/bin/env bash
# Makes a throwaway test CA and a server certificate valid for every loopback address the tests use.
# Usage: scripts/make-test-certs.sh DIR   -> DIR/ca.pem DIR/ca.key DIR/server.pem DIR/server.key
# Idempotent: does nothing if the three output files already exist. Never commit DIR.
set -euo pipefail

dir=${1:?usage: make-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
[[ -s ca.pem && -s server.pem && -s server.key ]] && exit 0

san="DNS:localhost,IP:127.0.0.1,IP:127.0.1.1,IP:127.0.1.2,IP:127.0.1.3,IP:127.0.2.1,IP:127.0.2.2,IP:127.0.2.3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 3650 \
  -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=Usher Test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -nodes -newkey rsa:2048 -sha256 \
  -keyout "$tmp/server.key" -out "$tmp/server.csr" -subj "/CN=localhost" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n' \
  "$san" >"$tmp/ext.cnf"
openssl x509 -req -in "$tmp/server.csr" -CA "$tmp/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
  -days 3650 -sha256 -extfile "$tmp/ext.cnf" -out "$tmp/server.pem" 2>/dev/null

# Dovecot's ssl_key is read by the (root) master, but 0644 lets non-root test processes load it too.
chmod 644 "$tmp/server.key" "$tmp/ca.key"
mv "$tmp/ca.key" "$tmp/ca.pem" "$tmp/server.key" "$tmp/server.pem" .
