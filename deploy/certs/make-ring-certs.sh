#!/usr/bin/env bash
# Makes the ring's mutual-TLS material: one cluster CA and, per node, a certificate naming the
# node's IP (subjectAltName IP:<ip>, CN <ip>) usable as both server and client.
#
# Usage: deploy/certs/make-ring-certs.sh OUTDIR NODE_IP...
#   -> OUTDIR/ca.pem ca.key, and OUTDIR/<ip>.pem <ip>.key for each NODE_IP
#
# Idempotent: an existing CA is reused (so adding a node later needs no redeploy of the others) and an
# existing node certificate is kept if it still verifies against that CA and names its IP.
# Keys are written 0600. Env: CA_DAYS (default 3650), NODE_DAYS (default 825).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR NODE_IP..." >&2; exit 2; }
[[ $# -ge 2 ]] || usage
out=$1
shift
ca_days=${CA_DAYS:-3650}
node_days=${NODE_DAYS:-825}

command -v openssl >/dev/null || { echo "$0: openssl not found" >&2; exit 1; }

is_ip() {
  [[ $1 =~ ^([0-9]{1,3}\.){3}[0-9]{1,3}$ ]] && return 0
  [[ $1 == *:* && $1 =~ ^[0-9A-Fa-f:.]+$ ]]
}
for ip in "$@"; do
  is_ip "$ip" || { echo "$0: '$ip' is not an IP address (node ids are ip:port; pass the ip)" >&2; exit 2; }
done

umask 077
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# P-256 keys: small and fast to handshake. ECDSA keys only sign, hence keyUsage=digitalSignature alone.
newkey=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

if [[ ! -s $out/ca.pem || ! -s $out/ca.key ]]; then
  openssl req -x509 -new "${newkey[@]}" -sha256 -days "$ca_days" \
    -keyout "$tmp/ca.key" -out "$tmp/ca.pem" -subj "/CN=Usher ring CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  chmod 600 "$tmp/ca.key"
  chmod 644 "$tmp/ca.pem"
  mv "$tmp/ca.key" "$out/ca.key"
  mv "$tmp/ca.pem" "$out/ca.pem"
  echo "created $out/ca.pem"
fi

node_ok() {
  local ip=$1
  [[ -s $out/$ip.pem && -s $out/$ip.key ]] || return 1
  openssl verify -CAfile "$out/ca.pem" "$out/$ip.pem" >/dev/null 2>&1 || return 1
  openssl x509 -in "$out/$ip.pem" -noout -checkip "$ip" 2>/dev/null | grep -q 'does match'
}

for ip in "$@"; do
  if node_ok "$ip"; then
    echo "kept    $out/$ip.pem"
    continue
  fi
  openssl req -new "${newkey[@]}" -sha256 -keyout "$tmp/node.key" -out "$tmp/node.csr" -subj "/CN=$ip" 2>/dev/null
  printf '%s\n' \
    "subjectAltName=IP:$ip" \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth,clientAuth" >"$tmp/ext.cnf"
  # A random serial instead of a ca.srl file: nothing to keep in sync between runs or admins.
  openssl x509 -req -in "$tmp/node.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$node_days" -sha256 \
    -extfile "$tmp/ext.cnf" -out "$tmp/node.pem" 2>/dev/null
  chmod 600 "$tmp/node.key"
  chmod 644 "$tmp/node.pem"
  mv "$tmp/node.key" "$out/$ip.key"
  mv "$tmp/node.pem" "$out/$ip.pem"
  echo "created $out/$ip.pem"
done
