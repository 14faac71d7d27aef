"""A Sanic app with two worker processes and the observability blueprint, run the way Rasa and
the action server are: `python -m bot.launch PORTS NAME --sanic -- MODULE --port {port:NAME}`.
GET /hit counts one escalation in whichever worker answers."""

from __future__ import annotations

import argparse
import os

from sanic import Sanic, response
from sanic.request import Request

from bot.observability.endpoints import sanic_blueprint
from bot.observability.metrics import ESCALATIONS

app = Sanic("two_workers")
app.blueprint(sanic_blueprint(lambda _app: (True, {})))


@app.get("/hit")
async def hit(_: Request) -> response.HTTPResponse:
    ESCALATIONS.labels("routine").inc()
    return response.json({"pid": os.getpid()})


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app.run(host="127.0.0.1", port=args.port, workers=2, access_log=False)
