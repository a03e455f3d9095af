#!/usr/bin/env bash
# A throwaway PKI for trying dockgate out (quickstart.sh): an EC P-256 CA, a server
# certificate for localhost/127.0.0.1, and one client bundle per "USER:GROUP" argument laid out
# as a docker CLI cert folder (ca.pem, cert.pem, key.pem). Not for production: keys are not
# protected and the CA lives next to them.
# Usage: scripts/dev-pki.sh DIR USER:GROUP...
set -euo pipefail
dir=$1
shift
mkdir -p "$dir"
cd "$dir"
umask 077
if [[ ! -f ca.pem ]]; then
    openssl ecparam -name prime256v1 -genkey -noout -out ca-key.pem
    openssl req -x509 -new -key ca-key.pem -days 30 -subj "/CN=dockgate quickstart CA" -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign"
fi
openssl ecparam -name prime256v1 -genkey -noout -out server-key.pem
openssl req -new -key server-key.pem -subj "/CN=localhost" -out server.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' >server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
    -extfile server.ext -out server-cert.pem 2>/dev/null
printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\n' >client.ext
for spec in "$@"; do
    user=${spec%%:*}
    group=${spec#*:}
    mkdir -p "$user"
    cp ca.pem "$user/ca.pem"
    openssl ecparam -name prime256v1 -genkey -noout -out "$user/key.pem"
    openssl req -new -key "$user/key.pem" -subj "/CN=$user/O=$group" -out "$user/cert.csr"
    openssl x509 -req -in "$user/cert.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
        -extfile client.ext -out "$user/cert.pem" 2>/dev/null
    rm -f "$user/cert.csr"
done
rm -f server.csr ./*.ext
chmod 644 ca.pem server-cert.pem ./*/ca.pem ./*/cert.pem
