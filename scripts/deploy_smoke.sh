#!/bin/sh
# Start every part as its container does (python -m bot.container NAME: the stack's commands, the
# fixed ports 5055/5005/8080) in a network namespace of its own, so those ports are not shared with
# anything else on the machine; wait for each health check, send a question and a symptom report
# over REST, load the web page, then stop everything. SQLite in a throwaway MESO_VAR_DIR (no
# PostgreSQL, Redis or nginx: the closest to the images this machine can run without Docker).
#
#   sudo unshare --net scripts/deploy_smoke.sh      (root: a network namespace needs it)
set -eu
cd "$(dirname "$0")/.."
ip link set lo up
PY=$PWD/.venv/bin/python
export PYTHONPATH=$PWD TF_CPP_MIN_LOG_LEVEL=3 SQLALCHEMY_SILENCE_UBER_WARNING=1
MESO_VAR_DIR=$(mktemp -d)
export MESO_VAR_DIR MESO_ACTION_URL=http://127.0.0.1:5055/webhook MESO_WEB_HOST=0.0.0.0
export MESO_RASA_URL=http://localhost:5005
pids=""
cleanup() { kill $pids 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$MESO_VAR_DIR"; }
trap cleanup EXIT
start=$(date +%s)
for name in actions rasa web worker; do
  "$PY" -m bot.container "$name" >"$MESO_VAR_DIR/$name.log" 2>&1 &
  pids="$pids $!"
done
for name in actions rasa web worker; do
  i=0
  until "$PY" -m bot.container --health "$name" 2>/dev/null; do
    i=$((i + 1)); [ "$i" -lt 300 ] || { echo "$name: not healthy"; tail "$MESO_VAR_DIR/$name.log"; exit 1; }
    sleep 1
  done
  echo "$name healthy after $(( $(date +%s) - start )) s"
done
"$PY" - <<'PY'
import json, os, sqlite3, time, urllib.request

def say(sender: str, text: str) -> list:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request("http://127.0.0.1:5005/webhooks/rest/webhook", data=body,
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))

assert say("smoke-1", "how much does it cost"), "no answer to a question"
assert say("smoke-2", "I have a fever and the injection site is swollen and hot"), "no answer"
page = urllib.request.urlopen("http://127.0.0.1:8080/", timeout=10).read().decode()
assert "localhost:5005" in page, "the web page does not point at Rasa"
db = sqlite3.connect(os.path.join(os.environ["MESO_VAR_DIR"], "meso.db"))
for _ in range(30):
    if db.execute("select count(*) from tickets").fetchone()[0] == 1:
        break
    time.sleep(1)
else:
    raise SystemExit("the symptom report made no ticket")
print("ok: a question answered, a symptom report answered and ticketed, the web page served")
PY
