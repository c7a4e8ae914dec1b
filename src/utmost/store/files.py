"""What a database path holds, told before and after DuckDB tries to open it.

DuckDB's own messages name neither the fix nor, usefully, the holder: reading a missing file
in read-only mode says "database does not exist", a JSON export says "not a valid DuckDB
database file", and a file another process holds says "Conflicting lock is held in
/usr/bin/python3.11 (PID 4746)". These turn each into a :class:`DatabaseFileError` naming the
file and what is wrong, reading nothing but the file's first bytes and the holder's command
line.
"""

from __future__ import annotations

import re
from pathlib import Path

from utmost.errors import DatabaseFileError, DatabaseHeldError

#: Every DuckDB file has these bytes at offset 8 (after the header block's checksum).
DUCKDB_MAGIC = b"DUCK"
#: The files DuckDB and utmost keep beside a database file.
COMPANIONS = (".wal", ".spill", ".spill.wal")
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.*?) \(PID (?P<pid>\d+)\)")
_LONGEST_COMMAND = 120


def companions(path: Path) -> list[Path]:
    """The log, spill file and spill log beside ``path`` (whether or not they exist)."""
    return [path.with_name(path.name + suffix) for suffix in COMPANIONS]


def check_readable(path: Path) -> None:
    """Refuse a path that cannot be a database to read: missing, a folder, not DuckDB.

    Reading never creates a file, so a missing one is an error rather than an empty database.
    """
    if not path.exists():
        raise DatabaseFileError(path, "no such file (`utmost import` or `utmost project create` makes a database)")
    if path.is_dir():
        raise DatabaseFileError(path, "not a utmost database (a folder)")
    if not is_duckdb_file(path):
        raise DatabaseFileError(path, "not a utmost database (not a DuckDB file)")


def is_duckdb_file(path: Path) -> bool:
    """Whether ``path`` starts as a DuckDB file does (an empty file does not)."""
    try:
        with open(path, "rb") as file:
            return file.read(12)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def held_error(path: Path, message: str) -> DatabaseFileError | None:
    """The error to raise when DuckDB's ``message`` says another holder has the file locked."""
    if "Unique file handle conflict" in message:
        return DatabaseFileError(path, "already open in this process")
    found = _LOCK_HOLDER.search(message)
    if found is None:
        return None
    pid = int(found["pid"])
    holder = command_line(pid) or Path(found["program"]).name
    return DatabaseHeldError(path, f"held by another process: PID {pid} ({holder}); stop it, or use another file", pid)


def command_line(pid: int) -> str | None:
    """The command line of process ``pid`` about as typed (programs by their file name, a
    script run by Python by its own), shortened; None where /proc is not."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    words = [word.decode(errors="replace") for word in raw.split(b"\0") if word]
    if not words:
        return None
    # An installed `utmost` runs as `python /venv/bin/utmost serve …`: name the script, as typed.
    if Path(words[0]).name.startswith("python") and len(words) > 1 and not words[1].startswith("-"):
        words = words[1:]
    line = " ".join([Path(words[0]).name, *words[1:]])
    return line if len(line) <= _LONGEST_COMMAND else line[: _LONGEST_COMMAND - 1] + "…"
