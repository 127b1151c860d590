"""Supervision query benchmark: dashboard and filtered-list latency with 100,000 items across 25 departments.

Seeds the items straight into the tables (decisions, items, item units), then times the read paths the pages and
the API use (Reports.dashboard / Reports.items, through the real service on the real database).

    python -m bench.supervision_queries                                  # SQLite file in a temp dir
    python -m bench.supervision_queries --database-url postgresql+asyncpg://postgres@127.0.0.1/bench_sv
    python -m bench.supervision_queries --items 100000 --repeat 100
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub import keys
from hub.auth.principal import Principal
from hub.cli import services
from hub.settings import load_settings
from hub.supervision import store
from hub.supervision.model import ItemFilter, Priority, Status
from hub.supervision.tables import decisions, item_units, items

BATCH = 5000
STATUS_WEIGHTS = {
    Status.ASSIGNED: 10, Status.ACCEPTED: 10, Status.IN_PROGRESS: 25, Status.EXTENSION_REQUESTED: 3,
    Status.SUBMITTED: 7, Status.CLOSED: 40, Status.CANCELLED: 5,
}


async def seed(app: Any, count: int, unit_ids: list[str], seed_value: int) -> None:
    """`count` items over the units, due dates a year around today, a realistic mix of states."""
    rng = random.Random(seed_value)
    service = app[keys.SUPERVISION]
    now, today = service.clock.now(), service.today()
    statuses = list(STATUS_WEIGHTS)
    weights = list(STATUS_WEIGHTS.values())
    async with app[keys.DB].begin() as conn:
        for start in range(0, count, BATCH):
            d_rows, i_rows, u_rows = [], [], []
            for n in range(start, min(count, start + BATCH)):
                unit = unit_ids[n % len(unit_ids)]
                meeting = f"m{n // 40}"
                status = rng.choices(statuses, weights)[0]
                due = today + timedelta(days=rng.randint(-200, 160))
                created = now - timedelta(days=rng.randint(1, 300))
                closed = status is Status.CLOSED
                d_rows.append({"id": f"d{n:08d}", "meeting_id": meeting, "meeting_title": "基准会议",
                               "minutes_doc_id": None, "number": n % 40 + 1, "text": f"决定事项 {n}",
                               "recorded_by": "gov-office-03", "recorded_at": created})
                i_rows.append({
                    "id": f"sv{n:08d}", "decision_id": f"d{n:08d}", "meeting_id": meeting, "title": f"决定事项 {n}",
                    "lead_unit_id": unit, "coop_unit_ids": [], "responsible_id": "pub-util-04",
                    "priority": Priority.NORMAL.value, "status": status.value,
                    "percent": 100 if closed else rng.randint(0, 90), "due_date": due, "original_due_date": due,
                    "requested_due_date": None, "created_at": created, "updated_at": created,
                    "submitted_at": created if closed else None, "closed_at": now if closed else None,
                    "on_time": rng.random() < 0.8 if closed else None,
                    "days_to_close": round(rng.uniform(1, 60), 2) if closed else None,
                })
                u_rows.append({"item_id": f"sv{n:08d}", "unit_id": unit, "due_date": due})
            await conn.execute(sa.insert(decisions), d_rows)
            await conn.execute(sa.insert(items), i_rows)
            await conn.execute(sa.insert(item_units), u_rows)
        await store.rebuild_rollup(conn)
    # Fresh statistics (and on PostgreSQL a visibility map for index-only scans), as autovacuum would leave them.
    async with app[keys.DB].engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(sa.text("VACUUM ANALYZE" if app[keys.DB].dialect == "postgresql" else "ANALYZE"))


async def timed(repeat: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    await call()  # warm the statement cache and the connection pool
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18]


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="cityhub-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    settings = load_settings(environ={}).replace(
        server={"var_dir": tmp, "demo": True}, database={"url": url},
        supervision={"scheduler_interval": 86400.0},
    )
    async with services(settings) as app:
        directory = app[keys.DIRECTORY]
        units = [u.id for u in await directory.units() if u.kind.value in ("department", "district")][: args.units]
        async with app[keys.DB].connect() as conn:
            existing = await conn.scalar(sa.select(sa.func.count()).select_from(items))
        if existing:
            raise SystemExit(f"{url} already holds {existing} items: give an empty database")
        started = time.perf_counter()
        await seed(app, args.items, units, args.seed)
        print(f"seeded {args.items} items over {len(units)} departments in {time.perf_counter() - started:.1f} s "
              f"({app[keys.DB].dialect})")
        auth = app[keys.AUTH]
        supervisor: Principal = await auth.check(auth.issue_for(await directory.person("supervision-01"))[1])
        member: Principal = await auth.check(auth.issue_for(await directory.person("pub-util-04"))[1])
        reports = app[keys.SUPERVISION_REPORTS]
        today = app[keys.SUPERVISION].today()
        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            "dashboard (all)": lambda: reports.dashboard(supervisor, ItemFilter()),
            "dashboard (one department)": lambda: reports.dashboard(supervisor, ItemFilter(unit_id=units[3])),
            "list: first page, all": lambda: reports.items(supervisor, ItemFilter(), limit=50),
            "list: overdue": lambda: reports.items(supervisor, ItemFilter(overdue=True), limit=50),
            "list: department + status": lambda: reports.items(
                supervisor, ItemFilter(unit_id=units[5], status=Status.IN_PROGRESS), limit=50),
            "list: due date range": lambda: reports.items(
                supervisor, ItemFilter(due_from=today, due_to=today + timedelta(days=7)), limit=50),
            "list: one meeting": lambda: reports.items(supervisor, ItemFilter(meeting_id="m1234"), limit=50),
            "list: a department's own view": lambda: reports.items(member, ItemFilter(), limit=50),
            "list: page 100 of all": lambda: reports.items(supervisor, ItemFilter(), limit=50, offset=4950),
        }
        print(f"{'query':34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
        for name, call in cases.items():
            samples = await timed(args.repeat, call)
            print(f"{name:34} {statistics.median(samples):8.1f} {p95(samples):8.1f} {max(samples):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="", help="an EMPTY database; default: a SQLite file in /tmp")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=25)
    parser.add_argument("--repeat", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
