#!/bin/sh
# Two nodes of one deployment on this machine: ports 8001 and 8002, one Redis, one database, one secret.
#
#   REDIS_URL=redis://127.0.0.1:6379/0 ./run.sh
#
# Behind nginx (nginx.conf), also set PASSGATE_PUBLIC_URL=https://your.host, the address users reach.
set -eu
cd "$(dirname "$0")"
mkdir -p cluster-data

export PASSGATE_STORE="${REDIS_URL:-redis://127.0.0.1:6379/0}"
# SQLite works for nodes on one machine; nodes on several machines share PostgreSQL:
# PASSGATE_DATABASE_URL=postgresql+asyncpg://USER:PASSWORD@HOST/DB
export PASSGATE_DATABASE_URL="${PASSGATE_DATABASE_URL:-sqlite+aiosqlite:///$PWD/cluster-data/passgate.db}"
export PASSGATE_DATA_DIR="$PWD/cluster-data"
# The deployment secret: the same on every node (here: made once, kept in cluster-data).
if [ -z "${PASSGATE_SECRET:-}" ]; then
    [ -f cluster-data/secret ] || python3 -c 'import secrets; print(secrets.token_urlsafe(32))' > cluster-data/secret
    PASSGATE_SECRET="$(cat cluster-data/secret)"
    export PASSGATE_SECRET
fi

NODE_NAME=a uvicorn cluster_app:app --host 127.0.0.1 --port 8001 &
node_a=$!
NODE_NAME=b uvicorn cluster_app:app --host 127.0.0.1 --port 8002 &
node_b=$!
trap 'kill "$node_a" "$node_b" 2>/dev/null; wait' INT TERM
wait
