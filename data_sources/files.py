"""Source kind ``files``: ingest CSV and Excel (.xlsx) files dropped into a folder.

A sources-file entry::

    - name: water-quality-drop
      kind: files
      every: 1m
      timeout: 120
      options:
        folder: /srv/drop/water            # where partners drop their files
        # archive_folder: /srv/drop/water/archive        (default <folder>/archive)
        # quarantine_folder: /srv/drop/water/quarantine  (default <folder>/quarantine)
        patterns: ["*.csv", "*.xlsx"]      # which files to take (default; case-insensitive)
        entity_column: station             # column holding the entity code ...
        # entity_value: HN-01              # ... or one fixed code for every row
        time_column: time
        timezone: Asia/Ho_Chi_Minh         # zone of times without an offset (default)
        # time_format: "%d/%m/%Y %H:%M"    # optional strftime pattern, or epoch / epoch_ms
        series:
          pH: {column: ph}
          DO: {column: do, unit: mg/L}
          COD: {column: cod, unit: mg/L, required: false}   # files may lack this column
        delimiter: ";"                     # CSV field separator (default ","; "\\t" for tabs)
        decimal: ","                       # CSV decimal mark (default ".")
        thousands: "."                     # optional CSV thousands separator
        encoding: utf-8                    # default; a UTF-8 byte-order mark is tolerated
        sheet: Data                        # .xlsx sheet (default: the first)
        header_row: 1                      # line/row of the column names (default 1)
        settle_seconds: 2                  # leave files changed this recently for the next poll
        max_files: 500                     # at most this many files per poll (a backlog drains over polls)
        entities:
          - {code: HN-01, kind: station, name: "Trạm Hồ Tây", province_code: "01"}

Each poll takes the files that have not changed for ``settle_seconds`` (a file still
being copied is left alone), oldest first, up to ``max_files`` and at most half the
poll's timeout of reading. Column mapping, time and value rules are shared with the
``sql`` kind (:mod:`data_sources.tabular`); a row that fails (unreadable time, value
not a number, a line cut short) is quarantined with ref ``<file>:<line>`` and the
file's other rows are stored.

Once the batch is stored, each file is moved to ``archive/<yyyy-mm-dd>/<name>``
(date in ``timezone``). If storing fails or the process dies first, the file stays in
the drop folder and the next poll ingests it again (storing is idempotent, so nothing
is doubled). A file that cannot be read at all (not a workbook, half-written zip,
missing required columns, empty, undecodable bytes) is moved to the quarantine folder
with ``<name>.reason.txt`` beside it, and a quarantine record (ref = file name, payload
= the first 2 KB or a byte summary) is stored with the batch. Name clashes in both
folders get a ``_1``, ``_2``... suffix; nothing is overwritten.
"""
from __future__ import annotations

import codecs
import csv
import errno
import fnmatch
import io
import logging
import os
import shutil
import time
import zipfile
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from pydantic import Field, field_validator, model_validator

from data_sources.base import Adapter, Batch, PollContext, Rejected, SourceError
from data_sources.registry import register
from data_sources.tabular import MissingColumns, TableMapping, map_table

log = logging.getLogger(__name__)

PREVIEW_BYTES = 2048
_EXCEL_SUFFIXES = (".xlsx", ".xlsm")
_REASON_SUFFIX = ".reason.txt"


class FileProblem(ValueError):
    """The file as a whole cannot be read; it goes to the quarantine folder."""


class FilesOptions(TableMapping):
    folder: str = Field(min_length=1)
    archive_folder: str | None = None
    quarantine_folder: str | None = None
    patterns: list[str] = Field(default_factory=lambda: ["*.csv", "*.xlsx"], min_length=1)
    delimiter: str = ","
    decimal: str = "."
    thousands: str | None = None
    encoding: str = "utf-8"
    sheet: str | None = None
    header_row: int = Field(default=1, ge=1)
    settle_seconds: float = Field(default=2.0, ge=0)
    max_files: int = Field(default=500, ge=1)

    @field_validator("patterns")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for pattern in value:
            if not pattern or "/" in pattern or "\\" in pattern:
                raise ValueError(f"pattern {pattern!r} must be a file-name pattern like *.csv, without folders")
        return value

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        value = {"\\t": "\t", "tab": "\t"}.get(value, value)
        if len(value) != 1:
            raise ValueError(f"delimiter {value!r} must be one character, e.g. ',' or ';' or '\\t'")
        return value

    @field_validator("decimal")
    @classmethod
    def _decimal(cls, value: str) -> str:
        if value not in (".", ","):
            raise ValueError("decimal must be '.' or ','")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        try:
            codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}; write e.g. utf-8 or cp1258") from None
        return value

    @model_validator(mode="after")
    def _separators(self) -> FilesOptions:
        if self.decimal == self.delimiter:
            raise ValueError(f"decimal and delimiter are both {self.decimal!r}; with decimal ',' use delimiter ';'")
        if self.thousands is not None and self.thousands in (self.decimal, self.delimiter):
            raise ValueError("thousands must differ from decimal and delimiter")
        return self


@dataclass(frozen=True)
class _Signature:
    """Size and modification time: if either moves, the file is being written."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> _Signature:
        st = path.stat()
        return cls(st.st_size, st.st_mtime_ns)


# ----------------------------------------------------------------------------- reading


def preview(data: bytes) -> str:
    """The first ~2 KB as text for the quarantine record, or a byte summary for binary data."""
    if not data:
        return "(empty file, 0 bytes)"
    head = data[:PREVIEW_BYTES]
    if b"\x00" in head or head.startswith(b"PK\x03\x04"):
        return f"binary, {len(data)} bytes; first 64 bytes (hex): {head[:64].hex(' ')}"
    text = head.decode("utf-8", errors="backslashreplace")
    return text + ("…" if len(data) > PREVIEW_BYTES else "")


def _header(cells: list[Any]) -> list[str]:
    """Column names: stripped, blanks named by position, duplicates made unique."""
    names: list[str] = []
    for i, cell in enumerate(cells, start=1):
        name = "" if cell is None else str(cell).replace("\ufeff", "").strip()
        name = name or f"column{i}"
        base, n = name, 1
        while name in names:
            n += 1
            name = f"{base}.{n}"
        names.append(name)
    return names


def _blank_row(cells: list[Any]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _fit_rows(
    header: list[str], records: list[tuple[int, list[Any]]], name: str, joiner: str
) -> tuple[pd.DataFrame, list[str], list[Rejected]]:
    """Rows -> table; rows with missing or surplus cells are rejected, not guessed."""
    width = len(header)
    rows, refs, rejected = [], [], []
    for line, cells in records:
        if len(cells) > width and not _blank_row(cells[width:]):
            reason = f"line has {len(cells)} fields, the header has {width}"
        elif len(cells) < width:
            reason = f"line has {len(cells)} fields, the header has {width} (cut short?)"
        else:
            rows.append(list(cells[:width]))
            refs.append(f"{name}:{line}")
            continue
        payload = joiner.join("" if c is None else str(c) for c in cells)
        rejected.append(Rejected(reason=reason, payload=payload, ref=f"{name}:{line}"))
    table = pd.DataFrame(rows, columns=header, dtype=object) if rows else pd.DataFrame(columns=header, dtype=object)
    return table, refs, rejected


def read_csv(data: bytes, name: str, opts: FilesOptions) -> tuple[pd.DataFrame, list[str], list[Rejected]]:
    """Parse CSV bytes into a table of text cells, with a ``file:line`` ref per row."""
    if not data.strip():
        raise FileProblem("the file is empty")
    encoding = "utf-8-sig" if codecs.lookup(opts.encoding).name == "utf-8" else opts.encoding
    try:
        content = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FileProblem(
            f"byte {exc.start} (line {line}) is not valid {opts.encoding} text; "
            f"save the file as UTF-8 or set options.encoding"
        ) from None
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=opts.delimiter)
    header: list[str] | None = None
    records: list[tuple[int, list[Any]]] = []
    previous = 0
    try:
        for fields in reader:
            line, previous = previous + 1, reader.line_num  # a quoted field may span lines
            if header is None:
                if reader.line_num >= opts.header_row and not _blank_row(fields):
                    header = _header(fields)
                continue
            if not _blank_row(fields):
                records.append((line, fields))
    except csv.Error as exc:
        raise FileProblem(f"not readable as CSV near line {reader.line_num}: {exc}") from None
    if header is None:
        raise FileProblem(f"no header line at or after line {opts.header_row}")
    return _fit_rows(header, records, name, opts.delimiter)


def read_xlsx(data: bytes, name: str, opts: FilesOptions) -> tuple[pd.DataFrame, list[str], list[Rejected]]:
    """Read one sheet of an .xlsx workbook; refs are ``file:row``."""
    import openpyxl  # only this adapter needs it; keep the package import light

    if not data:
        raise FileProblem("the file is empty")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except zipfile.BadZipFile as exc:
        raise FileProblem(f"not a readable .xlsx workbook (corrupt or half-written: {exc})") from None
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise FileProblem(f"not a readable .xlsx workbook ({exc.__class__.__name__}: {exc})") from None
    try:
        if opts.sheet is not None:
            if opts.sheet not in workbook.sheetnames:
                raise FileProblem(f"no sheet named {opts.sheet!r}; the sheets are: {', '.join(workbook.sheetnames)}")
            sheet = workbook[opts.sheet]
        else:
            sheet = workbook.worksheets[0]
        header: list[str] | None = None
        records: list[tuple[int, list[Any]]] = []
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = list(cells)
            if header is None:
                if number >= opts.header_row and not _blank_row(cells):
                    # Trailing empty header cells are formatting, not columns.
                    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
                        cells.pop()
                    header = _header(cells)
                continue
            if not _blank_row(cells):
                # A sheet row ends at its last filled cell; empty trailing cells are not "cut short".
                records.append((number, cells + [None] * (len(header) - len(cells))))
    except FileProblem:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet inside a valid zip
        raise FileProblem(f"the workbook's sheet cannot be read ({exc.__class__.__name__}: {exc})") from None
    finally:
        workbook.close()
    if header is None:
        raise FileProblem(f"the sheet has no header row at or after row {opts.header_row}")
    return _fit_rows(header, records, name, "\t")


# ------------------------------------------------------------------------------ moving


def _unused_name(folder: Path, name: str, n: int, with_reason: bool) -> Path | None:
    stem, suffix = (name[: -len(Path(name).suffix)], Path(name).suffix) if Path(name).suffix else (name, "")
    candidate = folder / (name if n == 0 else f"{stem}_{n}{suffix}")
    if with_reason and Path(f"{candidate}{_REASON_SUFFIX}").exists():
        return None
    return candidate


def move_without_overwrite(src: Path, folder: Path, with_reason: bool = False) -> Path:
    """Move ``src`` into ``folder``; on a name clash add ``_1``, ``_2``...; return the new path.

    A hard link fails if the target exists, so two files can never overwrite each other;
    across file systems an exclusive-create copy does the same.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(100_000):
        target = _unused_name(folder, src.name, n, with_reason)
        if target is None:
            continue
        try:
            os.link(src, target)
        except FileExistsError:
            continue
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                raise
            try:
                with open(src, "rb") as fin, open(target, "xb") as fout:
                    shutil.copyfileobj(fin, fout)
                shutil.copystat(src, target)
            except FileExistsError:
                continue
        src.unlink()
        return target
    raise OSError(f"no free name for {src.name} in {folder}")


# ----------------------------------------------------------------------------- adapter


@register
class FilesAdapter(Adapter):
    """Takes settled CSV/XLSX files from a drop folder; archives them once stored."""

    kind = "files"
    Options = FilesOptions

    def __init__(self, name: str, options: FilesOptions) -> None:
        super().__init__(name, options)
        self.options: FilesOptions = options
        self.folder = Path(options.folder)
        self.archive = Path(options.archive_folder) if options.archive_folder else self.folder / "archive"
        self.quarantine = Path(options.quarantine_folder) if options.quarantine_folder else self.folder / "quarantine"

    def candidates(self) -> list[Path]:
        """Files matching the patterns that have settled, oldest first, at most ``max_files``."""
        if not self.folder.is_dir():
            raise SourceError(
                f"drop folder {self.folder} does not exist or is not a folder; create it or fix options.folder"
            )
        patterns = [p.lower() for p in self.options.patterns]
        now = time.time()
        found: list[tuple[int, str, Path]] = []
        try:
            entries = list(os.scandir(self.folder))
        except OSError as exc:
            raise SourceError(f"cannot list drop folder {self.folder}: {exc.strerror or exc}") from None
        for entry in entries:
            name = entry.name
            # Hidden files and Excel lock files (~$book.xlsx) are never data.
            if name.startswith((".", "~$")) or name.endswith(_REASON_SUFFIX):
                continue
            if not any(fnmatch.fnmatchcase(name.lower(), p) for p in patterns):
                continue
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue  # vanished meanwhile
            if now - st.st_mtime < self.options.settle_seconds:
                continue  # still being written (or just finished): next poll
            found.append((st.st_mtime_ns, name, Path(entry.path)))
        found.sort()
        return [path for _, _, path in found[: self.options.max_files]]

    def read(self, path: Path, data: bytes) -> tuple[pd.DataFrame, list[Rejected]]:
        """Parse one file's bytes into readings + row rejections; raise :class:`FileProblem`."""
        opts = self.options
        excel = path.suffix.lower() in _EXCEL_SUFFIXES
        table, refs, rejected = (read_xlsx if excel else read_csv)(data, path.name, opts)
        try:
            readings, row_rejected = map_table(
                table, opts, refs, decimal=opts.decimal, thousands=opts.thousands, excel_serials=excel
            )
        except MissingColumns as exc:
            raise FileProblem(str(exc)) from None
        return readings, rejected + row_rejected

    def poll(self, ctx: PollContext) -> Batch:
        batch = Batch(entities=[e.to_entity() for e in self.options.entities])
        frames: list[pd.DataFrame] = []
        day = ctx.now.astimezone(ZoneInfo(self.options.timezone)).strftime("%Y-%m-%d")
        # Leave the rest of a backlog for later polls rather than blow this one's timeout.
        budget_end = time.monotonic() + ctx.timeout_seconds / 2
        for path in self.candidates():
            if time.monotonic() > budget_end:
                log.info("source %s: time budget used; remaining files wait for the next poll", self.name)
                break
            try:
                before = _Signature.of(path)
                data = path.read_bytes()
                after = _Signature.of(path)
            except FileNotFoundError:
                continue
            except OSError as exc:
                log.warning("source %s: cannot read %s (%s); will retry", self.name, path.name, exc)
                continue
            if before != after or len(data) != after.size:
                continue  # written to while we read it: next poll
            try:
                readings, rejected = self.read(path, data)
            except FileProblem as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is kept and explained, not lost
                reason = f"could not be read ({exc.__class__.__name__}: {exc})"
            else:
                frames.append(readings)
                batch.rejected.extend(rejected)
                batch.after_commit.append(partial(self._archive, path, after, day))
                continue
            batch.rejected.append(Rejected(reason=f"file {path.name}: {reason}", payload=preview(data), ref=path.name))
            batch.after_commit.append(partial(self._quarantine, path, after, reason, ctx.now))
        batch.readings = pd.concat(frames, ignore_index=True) if frames else []
        return batch

    # Both run only after the batch is committed, so the store and the folders agree.

    def _archive(self, path: Path, signature: _Signature, day: str) -> None:
        if not self._unchanged(path, signature):
            return
        target = move_without_overwrite(path, self.archive / day)
        log.info("source %s: archived %s as %s", self.name, path.name, target)

    def _quarantine(self, path: Path, signature: _Signature, reason: str, when: datetime) -> None:
        if not self._unchanged(path, signature):
            return
        target = move_without_overwrite(path, self.quarantine, with_reason=True)
        text = (
            f"{reason}\n\nfile: {path.name}\nsource: {self.name}\n"
            f"received_at: {when.isoformat()}\nsize_bytes: {signature.size}\n"
        )
        Path(f"{target}{_REASON_SUFFIX}").write_text(text, encoding="utf-8")
        log.warning("source %s: quarantined %s: %s", self.name, path.name, reason)

    def _unchanged(self, path: Path, signature: _Signature) -> bool:
        # Replaced since we read it: what we stored is not this content; take it next poll.
        try:
            return _Signature.of(path) == signature
        except FileNotFoundError:
            return False


__all__ = ["FileProblem", "FilesAdapter", "FilesOptions", "move_without_overwrite", "preview", "read_csv", "read_xlsx"]
