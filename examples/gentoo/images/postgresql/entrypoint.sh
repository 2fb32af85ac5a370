#!/bin/sh
# Initialise the cluster on first start, then run the server in the foreground.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    initdb --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 -D "$PGDATA"
fi
exec "$@"
