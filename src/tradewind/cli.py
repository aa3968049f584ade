"""The ``tradewind`` command: serve, db, users, keys, openapi."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tradewind.backtest.cli import backtest_command
from tradewind.console import console
from tradewind.domain.accounts import Role, Scope
from tradewind.domain.clock import SystemClock
from tradewind.domain.errors import DomainError
from tradewind.marketdata.cli import data_app
from tradewind.settings import Settings

app = typer.Typer(help="Tradewind: self-hosted trading automation.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
master_key_app = typer.Typer(
    help="The master key that encrypts stored exchange credentials.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(master_key_app, name="master-key")
app.add_typer(data_app, name="data")
app.command("backtest")(backtest_command)


T = TypeVar("T")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="TRADEWIND_DATA_DIR", help="Where the store and market data live."
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from tradewind.store.db import create_engine, session_factory
    from tradewind.store.migrate import upgrade

    async def run() -> T:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            async with session_factory(engine)() as session:
                result = await work(session)
                await session.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except DomainError as e:
        console.print(f"[red]error:[/red] {e.message}")
        if e.details:
            console.print(e.details)
        raise typer.Exit(1) from e


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="TRADEWIND_HOST")] = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="TRADEWIND_PORT")] = 8080,
    data_dir: DataDir = None,
) -> None:
    """Start the service (SQLite in the data directory unless TRADEWIND_DATABASE_URL is set)."""
    import uvicorn

    from tradewind.api.app import create_app

    settings = _settings(data_dir).model_copy(update={"host": host, "port": port})
    store = "PostgreSQL" if settings.database_url else f"SQLite in {settings.data_dir.resolve()}"
    console.print(f"Tradewind on http://{host}:{port}  (store: {store})")
    console.print(
        f"API docs: http://{host}:{port}/docs   OpenAPI: http://{host}:{port}/openapi.json"
    )
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        access_log=False,
        log_level=settings.log_level.lower(),
        loop="uvloop" if sys.platform != "win32" else "asyncio",
        http="httptools",
    )


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDir = None) -> None:
    """Create or upgrade the schema to the newest migration."""
    from tradewind.store.db import create_engine
    from tradewind.store.migrate import current_revision, upgrade

    settings = _settings(data_dir)

    async def run() -> str | None:
        engine = create_engine(settings.effective_database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    console.print(f"schema at revision {asyncio.run(run())}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Login email.")],
    password: Annotated[
        str, typer.Option(help="Password (8+ characters).", prompt=True, hide_input=True)
    ],
    user_name: Annotated[str | None, typer.Option(help="Public handle.")] = None,
    partner: Annotated[
        bool, typer.Option("--partner", help="A partner manages users it creates.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Create a user (or a partner with --partner)."""
    from tradewind.services import accounts

    async def work(session: AsyncSession) -> str:
        row = await accounts.create_user(
            session,
            SystemClock(),
            accounts.NewUser(
                email=email,
                password=password,
                user_name=user_name,
                role=Role.PARTNER if partner else Role.USER,
            ),
        )
        return row.id

    user_id = _with_session(_settings(data_dir), work)
    typer.echo(
        json.dumps(
            {
                "user_id": user_id,
                "email": email.strip().lower(),
                "role": "partner" if partner else "user",
            }
        )
    )


@keys_app.command("create")
def keys_create(
    email: Annotated[str, typer.Option(help="Owner's email.")],
    scope: Annotated[Scope, typer.Option(help="read, trade or full.")] = Scope.FULL,
    name: Annotated[str, typer.Option(help="A label for the key.")] = "cli",
    expires_in_days: Annotated[int, typer.Option(help="1 to 365.")] = 90,
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print its secret (shown only this once)."""
    from tradewind.services import accounts, api_keys
    from tradewind.store.tables import UserRow

    async def work(session: AsyncSession) -> dict[str, str]:
        user = await session.scalar(
            select(UserRow).where(UserRow.email == accounts.normalise_email(email))
        )
        if user is None:
            raise DomainError(f"no user with email {email}")
        issued = await api_keys.create_key(
            session, SystemClock(), user.id, name, scope, expires_in_days
        )
        return {
            "key_id": issued.row.id,
            "scope": issued.row.scope,
            "api_key": issued.material.public_key,
            "api_secret": issued.material.secret,
            "token": issued.material.token,
            "expires_at": issued.row.expires_at.isoformat(),
        }

    typer.echo(json.dumps(_with_session(_settings(data_dir), work), indent=2))
    console.print("[yellow]The secret is shown only now; store it safely.[/yellow]")


@master_key_app.command("generate")
def master_key_generate() -> None:
    """Print a new master key (a Fernet key) for TRADEWIND_MASTER_KEY; nothing is stored."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode("ascii"))


@master_key_app.command("rotate")
def master_key_rotate(data_dir: DataDir = None) -> None:
    """Re-encrypt the stored exchange credentials under the first master key.

    All or nothing: if a value cannot be decrypted with any key, nothing changes (exit 1).
    """
    from rich.markup import escape

    from tradewind.services.credentials import MasterKeyError
    from tradewind.services.key_rotation import Rotated, existing_vault, rotate_secrets

    settings = _settings(data_dir)
    master_key = settings.master_key.get_secret_value() if settings.master_key else None
    try:
        vault = existing_vault(master_key, settings.data_dir)

        async def work(session: AsyncSession) -> Rotated:
            return await rotate_secrets(session, vault)

        done = _with_session(settings, work)
    except MasterKeyError as e:
        console.print(f"[red]error:[/red] {escape(str(e))}")
        raise typer.Exit(1) from None
    console.print(
        f"re-encrypted [bold]{done.values}[/bold] stored value(s) of {done.accounts} exchange "
        "account(s) under the first master key"
    )


@app.command()
def openapi(
    public: Annotated[
        bool,
        typer.Option(
            "--public", help="Only the public routes: the reference /openapi.json serves."
        ),
    ] = False,
) -> None:
    """Print the OpenAPI document: every route, internal ones marked x-internal; or --public."""
    from tradewind.api.app import create_app
    from tradewind.api.registry import openapi_document

    typer.echo(json.dumps(openapi_document(create_app(), public=public), indent=2))


if __name__ == "__main__":
    app()
