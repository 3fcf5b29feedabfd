"""The API smoke test (the seed's 6.3 / 6.4): login, then time each endpoint.

Credentials come from the inventory (`api.login`, from the environment); the password
and the bearer token never leave this module: results carry status codes and timings.
Each endpoint is requested `api.requests` times; we report median and p95, which say
more than the seed's single `time curl`.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from .config import ApiSettings


@dataclass(frozen=True)
class EndpointTiming:
    path: str
    budget_ms: float
    statuses: tuple[int, ...]
    median_ms: float
    p95_ms: float
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(s == 200 for s in self.statuses) and self.median_ms <= self.budget_ms and self.p95_ms <= self.budget_ms


@dataclass(frozen=True)
class ApiMeasurement:
    login_status: int | None
    login_error: str
    endpoints: tuple[EndpointTiming, ...]

    @property
    def login_ok(self) -> bool:
        return self.login_status == 200 and not self.login_error

    def as_json(self) -> dict:
        return {"login_status": self.login_status, "login_error": self.login_error,
                "endpoints": [e.__dict__ | {"ok": e.ok} for e in self.endpoints]}


def measure(api: ApiSettings) -> ApiMeasurement:
    import httpx

    with httpx.Client(base_url=api.base_url, timeout=api.timeout) as client:
        headers, status, error = _login(client, api)
        if api.login is not None and status != 200:
            return ApiMeasurement(status, error, ())
        return ApiMeasurement(status, error, tuple(_time(client, e.path, e.budget_ms, api.requests, headers) for e in api.endpoints))


def _login(client, api: ApiSettings) -> tuple[dict[str, str], int | None, str]:
    import httpx

    if api.login is None:
        return {}, None, ""
    body = {"email": api.login.email, "password": api.login.password.get_secret_value()}
    try:
        response = client.post(api.login.path, json=body)
    except httpx.HTTPError as exc:
        return {}, None, f"login request to {api.base_url}{api.login.path} failed: {type(exc).__name__}"
    if response.status_code != 200:
        return {}, response.status_code, f"login answered {response.status_code}"
    token = _token(response)
    if not token:
        return {}, response.status_code, "login answered 200 without an access token"
    return {"Authorization": f"Bearer {token}"}, 200, ""


def _token(response) -> str | None:
    try:
        data = response.json()
    except ValueError:
        return None
    for key in ("access_token", "accessToken", "token"):
        if isinstance(data, dict) and isinstance(data.get(key), str):
            return data[key]
    return None


def _time(client, path: str, budget_ms: float, requests: int, headers: dict[str, str]) -> EndpointTiming:
    import httpx

    statuses, samples = [], []
    try:
        for _ in range(requests):
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            samples.append((time.perf_counter() - started) * 1000)
            statuses.append(response.status_code)
    except httpx.HTTPError as exc:
        return EndpointTiming(path, budget_ms, tuple(statuses), 0.0, 0.0, f"request failed: {type(exc).__name__}")
    return EndpointTiming(path, budget_ms, tuple(statuses), statistics.median(samples), _p95(samples))


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]

