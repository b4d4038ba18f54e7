#!/usr/bin/env bash
# The REST examples of Kafka Connect's documentation (connect_rest), run
# with curl against a Tributary worker. CONNECT_URL is the worker's base URL.
set -euo pipefail
: "${CONNECT_URL:?set CONNECT_URL to the REST URL of the worker}"
cd "$(dirname "$0")"

# check STATUS SUBSTRING CURL-ARGS...: the response must have STATUS and
# contain SUBSTRING.
check() {
  local want=$1 needle=$2
  shift 2
  local out status body
  out=$(curl -s -w '\n%{http_code}' "$@")
  status=${out##*$'\n'}
  body=${out%$'\n'*}
  if [[ $status != "$want" || $body != *"$needle"* ]]; then
    echo "FAIL: curl $* -> $status $body (want $want containing '$needle')" >&2
    exit 1
  fi
  echo "ok $status: curl $*"
}

# wait_for PATH SUBSTRING: poll a GET for up to 20s.
wait_for() {
  for _ in $(seq 1 200); do
    if curl -s "$CONNECT_URL$1" | grep -qF -- "$2"; then
      return 0
    fi
    sleep 0.1
  done
  echo "FAIL: $1 never contained '$2': $(curl -s "$CONNECT_URL$1")" >&2
  exit 1
}

check 200 '"version"' "$CONNECT_URL/"
check 200 '"class":"io.tributary.test.CounterSourceConnector","type":"source"' "$CONNECT_URL/connector-plugins"

check 201 '"name":"local-counter-source"' -X POST -H 'Content-Type: application/json' --data @connector.json "$CONNECT_URL/connectors"
check 409 '"error_code":409' -X POST -H 'Content-Type: application/json' --data @connector.json "$CONNECT_URL/connectors"
check 200 '["local-counter-source"]' "$CONNECT_URL/connectors"
wait_for /connectors/local-counter-source/status '"tasks":[{"id":0,"state":"RUNNING"'
check 200 '"connector":{"state":"RUNNING"' "$CONNECT_URL/connectors/local-counter-source/status"
check 200 '"local-counter-source":{"status"' "$CONNECT_URL/connectors?expand=status"
check 200 '"type":"source"' "$CONNECT_URL/connectors/local-counter-source"
check 200 '"topic":"connect-test"' "$CONNECT_URL/connectors/local-counter-source/config"
check 200 '"id":{"connector":"local-counter-source","task":0}' "$CONNECT_URL/connectors/local-counter-source/tasks"
check 200 '"state":"RUNNING"' "$CONNECT_URL/connectors/local-counter-source/tasks/0/status"
wait_for /connectors/local-counter-source/topics '"topics":["connect-test"]'

check 202 '' -X PUT "$CONNECT_URL/connectors/local-counter-source/pause"
wait_for /connectors/local-counter-source/status '"tasks":[{"id":0,"state":"PAUSED"'
check 202 '' -X PUT "$CONNECT_URL/connectors/local-counter-source/resume"
wait_for /connectors/local-counter-source/status '"tasks":[{"id":0,"state":"RUNNING"'

check 204 '' -X POST "$CONNECT_URL/connectors/local-counter-source/restart"
check 202 '"state":"RESTARTING"' -X POST "$CONNECT_URL/connectors/local-counter-source/restart?includeTasks=true&onlyFailed=false"
check 204 '' -X POST "$CONNECT_URL/connectors/local-counter-source/tasks/0/restart"
wait_for /connectors/local-counter-source/status '"tasks":[{"id":0,"state":"RUNNING"'

check 200 '"counter.interval.ms":"50"' -X PUT -H 'Content-Type: application/json' \
  --data '{"connector.class":"io.tributary.test.CounterSourceConnector","tasks.max":"1","topic":"connect-test","counter.interval.ms":"50"}' \
  "$CONNECT_URL/connectors/local-counter-source/config"
check 200 '"counter.batch":"5"' -X PATCH -H 'Content-Type: application/json' \
  --data '{"counter.batch":"5"}' "$CONNECT_URL/connectors/local-counter-source/config"

check 200 '"error_count":0' -X PUT -H 'Content-Type: application/json' \
  --data '{"connector.class":"io.tributary.test.CounterSourceConnector","name":"x","topic":"t"}' \
  "$CONNECT_URL/connector-plugins/CounterSourceConnector/config/validate"
check 200 '"error_count":1' -X PUT -H 'Content-Type: application/json' \
  --data '{"connector.class":"io.tributary.test.CounterSourceConnector","name":"x"}' \
  "$CONNECT_URL/connector-plugins/CounterSourceConnector/config/validate"

# KIP-875: offsets can be read any time and changed once stopped.
wait_for /connectors/local-counter-source/offsets '"partition":{"server":"local-counter-source"}'
check 400 'STOPPED state' -X DELETE "$CONNECT_URL/connectors/local-counter-source/offsets"
check 204 '' -X PUT "$CONNECT_URL/connectors/local-counter-source/stop"
wait_for /connectors/local-counter-source/status '"connector":{"state":"STOPPED"'
check 200 'altered successfully' -X PATCH -H 'Content-Type: application/json' \
  --data '{"offsets":[{"partition":{"server":"local-counter-source"},"offset":{"seq":100}}]}' \
  "$CONNECT_URL/connectors/local-counter-source/offsets"
check 200 '{"offsets":[{"partition":{"server":"local-counter-source"},"offset":{"seq":100}}]}' "$CONNECT_URL/connectors/local-counter-source/offsets"
check 200 'reset successfully' -X DELETE "$CONNECT_URL/connectors/local-counter-source/offsets"
check 200 '{"offsets":[]}' "$CONNECT_URL/connectors/local-counter-source/offsets"

check 200 '"root":{"level":"INFO"' "$CONNECT_URL/admin/loggers"
check 200 '["io.tributary"]' -X PUT -H 'Content-Type: application/json' --data '{"level":"DEBUG"}' "$CONNECT_URL/admin/loggers/io.tributary"
check 200 '"level":"DEBUG"' "$CONNECT_URL/admin/loggers/io.tributary"

check 204 '' -X DELETE "$CONNECT_URL/connectors/local-counter-source"
check 404 '"message":"Connector local-counter-source not found"' "$CONNECT_URL/connectors/local-counter-source"
check 200 '[]' "$CONNECT_URL/connectors"
echo "all Kafka Connect documentation examples passed"
