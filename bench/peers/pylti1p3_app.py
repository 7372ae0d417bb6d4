"""Peer: a pylti1p3 tool (PyPI pylti1p3, Flask contrib adapter), served by gunicorn on 127.0.0.1.

  GET|POST /login   FlaskOIDCLogin: state cookie `lti1p3-state-…`, nonce in the Flask session
                    (a signed cookie), redirect to the platform's /auth
  POST     /launch  FlaskMessageLaunch.validate(): state (cookie), nonce (session), registration,
                    RS256 signature, deployment, message claims; success = 303 to /app
  GET      /ready   200

Configuration from the environment (set by bench.py): BENCH_ISS, BENCH_CLIENT_ID,
BENCH_DEPLOYMENT_ID, BENCH_LAUNCH_URL, BENCH_FLASK_SECRET.

The platform JWKS is fetched over HTTP from the registration's key_set_url and cached with
pylti1p3's own MessageLaunch.set_public_key_caching(), backed here by a per-process dict (the
library only needs a cache with get/set), so each gunicorn worker fetches it once.
"""
from __future__ import annotations

import os
import threading
import time
import typing as t

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, jsonify, redirect, request
from pylti1p3.contrib.flask import (FlaskCacheDataStorage, FlaskMessageLaunch, FlaskOIDCLogin,
                                    FlaskRequest)
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.tool_config import ToolConfDict

ISS = os.environ["BENCH_ISS"]
CLIENT_ID = os.environ["BENCH_CLIENT_ID"]
DEPLOYMENT_ID = os.environ["BENCH_DEPLOYMENT_ID"]
LAUNCH_URL = os.environ["BENCH_LAUNCH_URL"]

app = Flask(__name__)
app.secret_key = os.environ["BENCH_FLASK_SECRET"]

# The tool's own key pair (pylti1p3 wants one per registration; launches never use it).
_tool_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
TOOL_CONF = ToolConfDict({
    ISS: [{
        "default": True,
        "client_id": CLIENT_ID,
        "auth_login_url": ISS + "/auth",
        "auth_token_url": ISS + "/token",
        "key_set_url": ISS + "/jwks",
        "key_set": None,
        "deployment_ids": [DEPLOYMENT_ID],
    }]
})
TOOL_CONF.set_private_key(ISS, _tool_key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
    serialization.NoEncryption()).decode(), client_id=CLIENT_ID)


class DictCache:
    """The get/set interface pylti1p3's CacheDataStorage expects (what Flask-Caching provides)."""

    def __init__(self) -> None:
        self._data: t.Dict[str, t.Tuple[float, t.Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> t.Any:
        with self._lock:
            item = self._data.get(key)
        if item is None or (item[0] and item[0] < time.monotonic()):
            return None
        return item[1]

    def set(self, key: str, value: t.Any, exp: t.Optional[int] = None) -> None:
        with self._lock:
            self._data[key] = ((time.monotonic() + exp) if exp else 0.0, value)


PUBLIC_KEY_CACHE = DictCache()
HTTP = requests.Session()
HTTP.trust_env = False  # loopback only, never through a proxy


@app.get("/ready")
def ready():
    return "ok"


@app.route("/login", methods=["GET", "POST"])
def login():
    target = FlaskRequest().get_param("target_link_uri")
    if target != LAUNCH_URL:
        return jsonify(error="unknown target_link_uri"), 400
    try:
        return FlaskOIDCLogin(FlaskRequest(), TOOL_CONF).disable_check_cookies().redirect(target)
    except (LtiException, OIDCException) as exc:
        return jsonify(error=str(exc)), 400


@app.post("/launch")
def launch():
    message_launch = FlaskMessageLaunch(FlaskRequest(), TOOL_CONF, requests_session=HTTP)
    message_launch.set_public_key_caching(FlaskCacheDataStorage(PUBLIC_KEY_CACHE), cache_lifetime=7200)
    try:
        message_launch.validate()
    except LtiException as exc:
        return jsonify(error=str(exc)), 401
    return redirect("/app", code=303)
