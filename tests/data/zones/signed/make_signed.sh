#!/bin/sh
# Regenerates the pre-signed unit-test zones from example.test.zone with throw-away keys
# (the private keys are not kept). Signatures are valid from 2017 to 2038 (not later: ldns compares
# RRSIG times as signed 32-bit numbers, so it takes dates past 2038-01-19 for errors) so that the
# committed zones keep working; the integration tests sign with fresh keys at run time.
#   usage: tests/data/zones/signed/make_signed.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
ksk=$(ldns-keygen -a ECDSAP256SHA256 -k example.test)
zsk=$(ldns-keygen -a ECDSAP256SHA256 example.test)
dates="-i 20170101000000 -e 20380101000000"
ldns-signzone $dates -f "$here/nsec.example.test.zone" "$here/example.test.zone" "$ksk" "$zsk"
ldns-signzone $dates -n -t 0 -f "$here/nsec3.example.test.zone" "$here/example.test.zone" "$ksk" "$zsk"
ldns-signzone $dates -n -t 2 -s cafe01 -p -f "$here/optout.example.test.zone" \
  "$here/example.test.zone" "$ksk" "$zsk"
# ldns-signzone -p sets the opt-out flag but still gives insecure delegations their NSEC3;
# dnssec-signzone -A leaves them out, which is the case opt-out exists for.
mkdir bind && cd bind
dnssec-keygen -q -a ECDSAP256SHA256 -f KSK example.test >/dev/null
dnssec-keygen -q -a ECDSAP256SHA256 example.test >/dev/null
dnssec-signzone -q -S -K . -A -3 - -H 0 -s 20170101000000 -e 20380101000000 -o example.test \
  -f "$here/bind-optout.example.test.zone" -O full "$here/example.test.zone" >/dev/null
