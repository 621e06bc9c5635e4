"""qcode init, qcode path, qcode doctor."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qcode.cli.common import project_of
from qcode.cli.output import FORMAT_HELP, Format, abort, emit, message, warn


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new project.")] = Path("."),
    name: Annotated[str | None, typer.Option(help="Project name (default: the folder's).")] = None,
    language: Annotated[str, typer.Option(help="Default transcript language (ISO 639-1).")] = "en",
    codebook: Annotated[str | None, typer.Option(
        help="Path of an existing codebook YAML, relative to the project folder (default: "
             "codebook.yaml, created with a starter).")] = None,
    codebook_template: Annotated[str | None, typer.Option(
        "--codebook-template", metavar="NAME",
        help="Start from a shipped codebook, copied to codebook.yaml (or to --codebook); "
             "`qcode codebook templates` lists them.")] = None,
    coder: Annotated[str | None, typer.Option(help="Default coder name for this project.")] = None,
    encrypt: Annotated[bool, typer.Option(
        "--encrypt", help="Encrypt the database and its backups (SQLCipher; needs the crypto "
        "extra: pip install 'qcode\\[crypto]').")] = False,
    key_file: Annotated[Path | None, typer.Option(
        help="With --encrypt: the key file (created with a random key if it does not exist; "
             "keep it outside the project). Without it you choose a passphrase.")] = None,
    database: Annotated[str | None, typer.Option(
        "--database", metavar="URL",
        help="Keep the project on a PostgreSQL server, shared by the team: "
             "postgresql://HOST/DB (created there, or joined if a teammate created it). "
             "User and password come from $PGUSER/$PGPASSWORD, ~/.pgpass or a service "
             "file, never the URL. Needs pip install 'qcode\\[postgresql]'.")] = None,
) -> None:
    """Create a project: qcode.yaml, qcode.db, a starter (or shipped) codebook and
    exports/."""
    from qcode.project import Project

    key = None
    if key_file and not encrypt:
        raise abort("--key-file is for --encrypt")
    if database is not None:
        from qcode.store.postgres import check_url

        if encrypt:
            raise abort("--encrypt is for a SQLite project; on a PostgreSQL server its disk "
                        "encryption and TLS protect the data")
        check_url(database)  # a password in the URL is refused before anything is made
    if codebook is not None and codebook_template is None:
        _check_codebook(directory, codebook)
    if encrypt:
        key = _new_key(directory, key_file)
    project = Project.init(directory, name=name, language=language, codebook=codebook,
                           template=codebook_template, coder=coder, key=key,
                           key_file=key_file, database=database)
    if project.on_server:
        from qcode.store.postgres import redact

        where = redact(project.config.database)
        message(f"Joined the shared project on {where}: its settings are in {project.root}"
                if project.attached else
                f"Created qcode project {project.config.name!r} in {project.root}, its data "
                f"on {where}")
    else:
        message(f"Created qcode project {project.config.name!r} in {project.root}"
                + (" (encrypted)" if encrypt else ""))
    if encrypt and key_file:
        message(f"Its key is in {key_file}: without it the project cannot be opened, so "
                "keep a copy somewhere safe, apart from the project.")
    elif encrypt:
        message("Without the passphrase the project cannot be opened: nobody can recover it.")
    shown = codebook or "codebook.yaml"
    if codebook_template:
        message(f"{shown} is a copy of the shipped codebook {codebook_template!r}.")
    message(f"Next: edit {shown} (`qcode codebook format` describes it), run "
            "`qcode codebook sync`, then `qcode import FILES`.")


def _check_codebook(directory: Path, codebook: str) -> None:
    """--codebook names a file that must exist (it is not created): say so, with the
    value that was probably meant."""
    import os

    from qcode.resources import template_names

    root = directory.expanduser().resolve()
    target = Path(os.path.normpath(root / codebook))  # lexically: root may not exist yet
    if target.is_file():
        return
    if target.exists():
        raise abort(f"{target}: not a file")
    hint = ""
    here = Path(codebook)
    if here.stem in template_names():
        hint = f"; for the shipped codebook use --codebook-template {here.stem}"
    elif here.is_file():
        hint = ("; seen from the project folder that file is "
                f"{Path(os.path.relpath(here.resolve(), root)).as_posix()}")
    raise abort(f"{target}: no such codebook file (--codebook is relative to the project "
                f"folder){hint}")


def encrypt(ctx: typer.Context,
            key_file: Annotated[Path | None, typer.Option(
                help="The key file (created with a random key if it does not exist; keep it "
                     "outside the project). Without it you choose a passphrase.")] = None,
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for "
                                              "confirmation.")] = False) -> None:
    """Encrypt an existing project's database in place (SQLCipher), with everything in it:
    revisions, codings, suggestions, the change log. Close every other qcode on the project
    first. Backups made before stay unencrypted: you are told which, to delete them."""
    project = project_of(ctx)
    if project.encrypted:
        raise abort(f"{project.root}: already encrypted")
    key = _new_key(project.root, key_file)
    if not yes and not typer.confirm(f"Encrypt {project.db_path}? Without the key it cannot "
                                     "be opened again.", err=True):
        message("Nothing was changed.")
        raise typer.Exit(1)
    plain = project.encrypt(key, key_file)
    message(f"Encrypted {project.db_path}; qcode.yaml records it"
            + (f" and the key file {key_file}" if key_file else "") + ".")
    message("The unencrypted file was deleted, but a disk (SSDs especially) may keep its "
            "blocks for a while; for the strongest protection start a project with --encrypt.")
    if plain:
        warn(f"{len(plain)} backup(s) in {plain[0].parent} are NOT encrypted and hold the "
             "transcripts: delete them once you have checked the project (qcode doctor), "
             "e.g. rm " + " ".join(str(p) for p in plain[:3]) + (" ..." if len(plain) > 3
                                                               else ""))


MIN_PASSPHRASE = 12


def _new_key(directory: Path, key_file: Path | None):
    """The key for a new encrypted project: from (or into) *key_file*, else a passphrase
    typed twice at the terminal."""
    import sys

    from qcode.store.keys import cipher, from_text, new_key_file, read_key_file

    cipher()  # say that SQLCipher is missing before asking for anything
    if key_file is not None:
        key_file = key_file.expanduser()
        inside = key_file.resolve().is_relative_to(directory.expanduser().resolve())
        if inside:
            warn(f"{key_file} is inside the project: anyone given a copy of the folder gets "
                 "the key with it; keep it elsewhere")
        return read_key_file(key_file) if key_file.exists() else new_key_file(key_file)
    if not sys.stdin.isatty():
        raise abort("--encrypt needs --key-file, or a terminal to type a passphrase in")
    from qcode.cli.common import ask_passphrase

    first = ask_passphrase("New passphrase: ")
    if len(first) < MIN_PASSPHRASE:
        raise abort(f"the passphrase is shorter than {MIN_PASSPHRASE} characters")
    if ask_passphrase("Again: ") != first:
        raise abort("the passphrases differ; nothing was created")
    return from_text(first)


def path(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Print where the project, its database, codebook and exports are."""
    paths = project_of(ctx).paths()
    emit([{"what": k, "path": v} for k, v in paths.items()], ["what", "path"], fmt)


def doctor(
    ctx: typer.Context,
    fmt: Annotated[Format, typer.Option("--format", "-f", help=FORMAT_HELP)] = Format.table,
) -> None:
    """Check the database: SQLite integrity, foreign keys and qcode's invariants.

    Exits with 1 if anything is wrong.
    """
    from qcode.store.doctor import check

    from qcode.export.files import stale_scratch

    project = project_of(ctx)
    problems = check(project.db)
    for folder in stale_scratch():  # not the database's, but interview text all the same
        from qcode.store.doctor import Problem

        problems.append(Problem("temporary export files",
                                f"{folder} was left by a killed export and holds interview "
                                "text; the next export removes it (or delete it yourself)"))
    if problems:
        emit([{"check": p.check, "problem": p.message} for p in problems],
             ["check", "problem"], fmt)
        message(f"{len(problems)} problem(s) found in {project.db_path}", style="red")
        raise typer.Exit(1)
    message(f"{project.db_path}: all checks passed")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: qcode init trust-study --language ru --coder anna "
                "--codebook-template trust-empowerment-loyalty")(init)
    app.command(epilog="Example: qcode path --format json")(path)
    app.command(epilog="Example: qcode doctor && echo healthy")(doctor)
    app.command(epilog="Example: qcode encrypt --key-file ~/keys/study.key")(encrypt)
