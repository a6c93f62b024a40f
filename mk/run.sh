#!/bin/sh
# make run: the main job on embedded defaults. The first time, creates a demo
# CA, client tokens, a configuration and a ledger with 100 allowed serials
# under STATE (./state); then runs thingcad on 127.0.0.1 in the foreground
# and prints what a station would type. Ctrl-C stops it.
set -eu
B=$1
S=$2
PORT=${PORT:-8180}
mkdir -p "$S/tokens"
chmod 700 "$S" "$S/tokens"
cd "$S"

if [ ! -f ca.pem ]; then
	"$B/thingca" ca init --subject "/O=thingca demo/CN=thingca demo device CA" \
		--out-cert ca.pem --out-key ca.key >/dev/null
	echo "created demo CA $S/ca.pem (key $S/ca.key, mode 0600)"
fi
for role in station auditor admin; do
	if [ ! -f "tokens/$role.token" ]; then
		"$B/thingca" token new --name "demo-$role" --role "$role" > "tokens/$role.out"
		sed -n 2p "tokens/$role.out" > "tokens/$role.token"
		tail -n 1 "tokens/$role.out" > "tokens/$role.entry"
		rm -f "tokens/$role.out"
		chmod 600 "tokens/$role.token"
	fi
done
if [ ! -f thingca.json ]; then
	cat > thingca.json <<JSON
{
  "listen": ["127.0.0.1:$PORT"],
  "ledger": "ledger.db",
  "ca": {"certificate": "ca.pem", "key": "ca.key"},
  "profile": {"subject": {"C": "JP", "O": "thingca demo", "OU": "demo"}},
  "clients": [
    $(cat tokens/station.entry),
    $(cat tokens/auditor.entry),
    $(cat tokens/admin.entry)
  ]
}
JSON
	i=1
	: > demo-serials.txt
	while [ $i -le 100 ]; do
		printf 'DEMO-%04d\n' $i >> demo-serials.txt
		i=$((i + 1))
	done
	"$B/thingca" -c thingca.json serials import --batch demo demo-serials.txt
fi

# An existing state/ keeps its configuration, but PORT still decides where
# it listens: the listen line make run wrote is rewritten to PORT.
sed "s|^  \"listen\": \[\"127\.0\.0\.1:[0-9]*\"\],\$|  \"listen\": [\"127.0.0.1:$PORT\"],|" \
	thingca.json > thingca.json.tmp && mv thingca.json.tmp thingca.json
if ! grep -q "\"127\.0\.0\.1:$PORT\"" thingca.json; then
	echo "make run: $S/thingca.json has a listen entry of its own; edit it" \
		"or rm -rf $S to start over" >&2
	exit 1
fi

URL="http://127.0.0.1:$PORT"
cat <<TXT

thingcad demo: $URL   (state in $S; delete it to start over)
A station issues a device certificate like this (serials DEMO-0001..DEMO-0100 are allowed):

  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out device.key
  openssl req -new -key device.key -subj /CN=DEMO-0001 -out device.csr
  jq -n --arg s DEMO-0001 --rawfile c device.csr '{serial: \$s, csr: \$c}' > request.json
  curl -sS -H "Authorization: Bearer \$(cat $S/tokens/station.token)" \\
       -H 'Content-Type: application/json' -H 'Accept: application/pem-certificate-chain' \\
       --data @request.json $URL/v1/certificates -o device-bundle.pem
  openssl verify -CAfile $S/ca.pem device-bundle.pem

or in one command:  $B/thingca enroll --url $URL --token-file $S/tokens/station.token --serial DEMO-0002 --out dev2
Audit:             curl -sS -H "Authorization: Bearer \$(cat $S/tokens/auditor.token)" $URL/v1/ledger
                   $B/thingca -c $S/thingca.json ledger verify

TXT
exec "$B/thingcad" -c thingca.json
