"""The signed-in customer's dashboard pages: overview, usage, API keys, the workflow
generator, and the event stream that keeps balance and usage live. (Signing in is in
`sign_in_routes`, billing in `billing_routes`.)"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from system.dashboard import store, usage, workflow
from system.dashboard.pages import (
    Pages,
    Row,
    customer_page,
    flash,
)
from system.dashboard.summary import dashboard_summary
from system.ids import new_id
from system.provisioning import api_keys
from system.provisioning import store as provisioning_store
from system.provisioning.service import public_key

log = logging.getLogger(__name__)
LEDGER_PAGE = 25
CHART_DAYS = 30


class DashboardEndpoints(Pages):
    stream_seconds = 300.0
    heartbeat_seconds = 15.0

    def routes(self) -> list[Route]:
        return [
            Route("/dashboard", self.overview, methods=["GET"]),
            Route("/dashboard/usage", self.usage, methods=["GET"]),
            Route("/dashboard/keys", self.keys, methods=["GET"]),
            Route("/dashboard/keys", self.create_key, methods=["POST"]),
            Route("/dashboard/keys/{key_id}/revoke", self.revoke_key, methods=["POST"]),
            Route("/dashboard/workflow", self.workflow_form, methods=["GET"]),
            Route("/dashboard/workflow", self.workflow, methods=["POST"]),
            Route("/dashboard/events", self.events, methods=["GET"]),
        ]

    # -- pages -----------------------------------------------------------------------------

    @customer_page
    async def overview(self, request: Request, customer: Row) -> Response:
        summary = await dashboard_summary(self.services, customer["id"])
        async with self.services.engine.connect() as connection:
            marketplace = await store.marketplace_account(connection, customer["id"])
        context = {"customer": customer, "summary": summary, "marketplace": marketplace}
        return self.render(request, "dashboard/overview.html", context)

    @customer_page
    async def usage(self, request: Request, customer: Row) -> Response:
        before_raw = request.query_params.get("before", "")
        before = int(before_raw) if before_raw.isdigit() else None
        ledger = await self.services.billing.account.credits(
            customer["id"], limit=LEDGER_PAGE, before=before
        )
        now = self.services.clock.now()
        start = (now - timedelta(days=CHART_DAYS - 1)).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        async with self.services.engine.connect() as connection:
            moments = await store.fix_times(connection, customer["id"], start)
            opening, entries = await store.ledger_since(connection, customer["id"], start)
        per_day = usage.fixes_per_day(moments, end=now.date(), days=CHART_DAYS)
        balances = usage.balance_per_day(entries, opening=opening, end=now.date(), days=CHART_DAYS)
        context = {
            "customer": customer,
            "ledger": ledger,
            "per_day": per_day,
            "balances": balances,
            "fix_chart": usage.bar_chart(per_day, f"Fixes per day, last {CHART_DAYS} days"),
            "balance_chart": usage.line_chart(
                balances, f"Credit balance per day, last {CHART_DAYS} days"
            ),
            "fixes_total": sum(p.value for p in per_day),
        }
        return self.render(request, "dashboard/usage.html", context)

    async def _keys_page(
        self, request: Request, customer: Row, new_key: dict[str, Any] | None = None
    ) -> Response:
        async with self.services.engine.connect() as connection:
            keys = await provisioning_store.list_keys(connection, customer["id"])
        context = {"customer": customer, "keys": [public_key(k) for k in keys], "new_key": new_key}
        return self.render(request, "dashboard/keys.html", context, 201 if new_key else 200)

    @customer_page
    async def keys(self, request: Request, customer: Row) -> Response:
        return await self._keys_page(request, customer)

    @customer_page
    async def create_key(self, request: Request, customer: Row) -> Response:
        form = await request.form()
        label = str(form.get("label") or "").strip()[:100] or None
        issued = api_keys.issue(self.services.settings.api_key_environment)
        row = {
            "id": new_id("key"),
            "customer_id": customer["id"],
            "prefix": issued.prefix,
            "key_hash": issued.key_hash,
            "label": label,
            "created_at": self.services.clock.now(),
            "last_used_at": None,
            "revoked_at": None,
        }
        async with self.services.engine.begin() as connection:
            await provisioning_store.insert_api_key(connection, row)
        new_key = {**public_key(row), "api_key": issued.plaintext}
        return await self._keys_page(request, customer, new_key)

    @customer_page
    async def revoke_key(self, request: Request, customer: Row) -> Response:
        async with self.services.engine.begin() as connection:
            row = await provisioning_store.revoke_key(
                connection,
                customer["id"],
                request.path_params["key_id"],
                self.services.clock.now(),
            )
        if row is None:
            flash(request, "No such API key.", "error")
        else:
            flash(request, f"The key {row['prefix']}… is revoked.")
        return RedirectResponse("/dashboard/keys", 303)

    # -- workflow generator ----------------------------------------------------------------

    @customer_page
    async def workflow_form(self, request: Request, customer: Row) -> Response:
        owner = customer["github_org"] or "your-org"
        values = {
            "repository": f"{owner}/your-repo",
            "schedule": "weekly",
            "modes": list(workflow.MODES),
            "max_fixes": 3,
        }
        return self._workflow_page(request, customer, values)

    def _workflow_page(
        self,
        request: Request,
        customer: Row,
        values: dict[str, Any],
        yaml: str | None = None,
        error: workflow.InvalidChoice | None = None,
    ) -> Response:
        context = {
            "customer": customer,
            "values": values,
            "yaml": yaml,
            "error": error,
            "modes": workflow.MODES,
            "schedules": workflow.SCHEDULES,
            "secret_name": workflow.SECRET_NAME,
            "file_path": workflow.PATH,
        }
        return self.render(request, "dashboard/workflow.html", context, 422 if error else 200)

    @customer_page
    async def workflow(self, request: Request, customer: Row) -> Response:
        form = await request.form()
        schedule = str(form.get("schedule") or "weekly")
        if schedule == "custom":
            schedule = str(form.get("cron") or "").strip()
        max_raw = str(form.get("max_fixes") or "3")
        repository = str(form.get("repository") or "").strip()
        modes = [str(m) for m in form.getlist("modes")]
        on_push = bool(form.get("on_push"))
        values = {
            "repository": repository,
            "schedule": str(form.get("schedule") or "weekly"),
            "cron": str(form.get("cron") or ""),
            "modes": modes,
            "max_fixes": max_raw,
            "on_push": on_push,
        }
        try:
            choices = workflow.WorkflowChoices(
                repository=repository,
                schedule=schedule,
                modes=tuple(modes),
                max_fixes=int(max_raw) if max_raw.isdigit() else 0,
                on_push=on_push,
            )
            text = workflow.render(choices)
        except workflow.InvalidChoice as error:
            return self._workflow_page(request, customer, values, error=error)
        return self._workflow_page(request, customer, values, yaml=text)

    # -- live updates ----------------------------------------------------------------------

    @staticmethod
    def _event(summary: dict[str, Any], what: str) -> str:
        data = {
            "what": what,
            "credit_balance": summary["credit_balance"],
            "plan": summary["plan"],
            "plan_name": summary["plan_name"],
            "fixes_this_period": summary["fixes_this_period"],
            "next_invoice": summary["next_invoice_text"],
            "subscription": (summary["subscription"] or {}).get("status") or "none",
        }
        return f"event: update\ndata: {json.dumps(data)}\n\n"

    async def events(self, request: Request) -> Response:
        """Server-sent events: an `update` now and after every change for this customer."""
        customer = await self.signed_in(request)
        if customer is None:
            return Response("Sign in first.", 401, media_type="text/plain")
        customer_id = customer["id"]

        async def stream() -> AsyncIterator[str]:
            loop = asyncio.get_running_loop()
            with self.services.changes.subscribe(customer_id) as queue:
                yield "retry: 2000\n\n"
                yield self._event(await dashboard_summary(self.services, customer_id), "hello")
                deadline = loop.time() + self.stream_seconds
                while (remaining := deadline - loop.time()) > 0:
                    try:
                        what = await asyncio.wait_for(
                            queue.get(), min(self.heartbeat_seconds, remaining)
                        )
                    except TimeoutError:
                        yield ": keep-alive\n\n"
                        continue
                    yield self._event(await dashboard_summary(self.services, customer_id), what)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)
