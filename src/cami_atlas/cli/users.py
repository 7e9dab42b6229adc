"""``cami-atlas users``: accounts of the served atlas (contributors and editors).

Examples
--------
::

    cami-atlas users add ana --role contributor --accounts accounts.sqlite
    echo "$PASSPHRASE" | cami-atlas users add ed --role editor --accounts accounts.sqlite \\
        --password-stdin
    cami-atlas users list --accounts accounts.sqlite
    cami-atlas users add ana --role editor \\
        --accounts "postgresql://atlas@db/cami?schema=cami_accounts"
"""

from __future__ import annotations

import sys

import click

from ._logging import log

__all__ = ["users"]

_ACCOUNTS = click.option("--accounts", "accounts", required=True, metavar="FILE|URL",
                         type=click.Path(dir_okay=False),
                         help="Accounts: a SQLite file, or a postgresql://...?schema=NAME "
                              "address (shared by every server process), as given to "
                              "`cami-atlas serve --accounts`; created if absent.")


@click.group("users")
def users() -> None:
    """Accounts of the served atlas: contributors upload layer versions, editors publish."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["contributor", "editor"]), required=True,
              help="contributor: uploads layer versions; editor: also reviews and publishes.")
@_ACCOUNTS
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input (else it is asked for, twice).")
@click.option("--replace", is_flag=True, help="Reset the password and role of an account.")
def add(name: str, role: str, accounts: str, password_stdin: bool, replace: bool) -> None:
    """Create the account NAME (passwords: at least 12 characters, stored as scrypt hashes)."""
    from ..web.accounts import AccountStore

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    AccountStore(accounts).add_user(name, role, password, replace=replace)
    log.info(f"{'reset' if replace else 'added'} {role} {name!r} in {accounts}")


@users.command("list")
@_ACCOUNTS
def list_users(accounts: str) -> None:
    """List the accounts (name, role, created)."""
    from ..web.accounts import AccountStore

    for row in AccountStore(accounts).users():
        click.echo(f"{row['name']:<24} {row['role']:<12} {row['created']}")
