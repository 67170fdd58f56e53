"""The floor of ``bench/submit.py``: the least a submit endpoint can do on this stack.

FastAPI on uvicorn (same defaults as the gateway: uvloop and httptools when installed),
one asyncpg ``INSERT`` of the request's JSON body into a table, ``202``. No auth, no
validation, no events, no access log.

python -m bench.submit_floor --port 8123 --dsn postgresql://postgres@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

# the gateway's SQLAlchemy pool: 5 connections plus 10 overflow
POOL_MAX = 15


def build_app(dsn: str) -> FastAPI:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=2, max_size=POOL_MAX)
        await pool.execute(
            "CREATE TABLE IF NOT EXISTS bench_floor_jobs "
            "(id bigserial PRIMARY KEY, body jsonb NOT NULL, created_at timestamptz DEFAULT now())"
        )
        try:
            yield
        finally:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/v1/generations", status_code=202)
    async def submit(request: Request) -> JSONResponse:
        assert pool is not None
        body = await request.body()
        job_id = await pool.fetchval(
            "INSERT INTO bench_floor_jobs (body) VALUES ($1::jsonb) RETURNING id", body.decode()
        )
        return JSONResponse({"id": job_id}, status_code=202)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="asyncpg DSN (postgresql://…)")
    args = parser.parse_args()
    uvicorn.run(
        build_app(args.dsn), host="127.0.0.1", port=args.port, access_log=False, log_level="warning"
    )


if __name__ == "__main__":
    main()
