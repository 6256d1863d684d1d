#!/usr/bin/env bash
# Makes a throwaway CA and a server certificate signed by it, for the bench's fake HubSpot.
# Usage: bench/certs.sh DIR   writes DIR/ca.pem, DIR/server.pem and DIR/server.key (P-256, one day)
# The server certificate names api.hubapi.com, localhost and 127.0.0.1, so a proxy can verify the
# fake upstream by any of them. Nothing else is kept: the CA key is deleted once it has signed.
set -euo pipefail
out=${1:?usage: bench/certs.sh DIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/ca.cnf" <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = ca_ext
[dn]
CN = hubgate bench CA (throwaway)
[ca_ext]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
cat >"$tmp/server.ext" <<'CNF'
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:api.hubapi.com, DNS:localhost, IP:127.0.0.1
authorityKeyIdentifier = keyid
CNF

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ca.key" 2>/dev/null
openssl req -new -x509 -config "$tmp/ca.cnf" -key "$tmp/ca.key" -days 1 -out "$out/ca.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$out/server.key" 2>/dev/null
openssl req -new -key "$out/server.key" -subj /CN=api.hubapi.com -out "$tmp/server.csr"
openssl x509 -req -in "$tmp/server.csr" -CA "$out/ca.pem" -CAkey "$tmp/ca.key" -CAcreateserial \
  -CAserial "$tmp/ca.srl" -days 1 -extfile "$tmp/server.ext" -out "$out/server.pem" 2>/dev/null
openssl verify -CAfile "$out/ca.pem" -verify_hostname api.hubapi.com "$out/server.pem" >/dev/null
