"""CSV / TSV uploads: a header row, an optional label column, numeric and few-valued text features.

Rows are numbered as the app's scores table numbers them: data row 0 is the first row after the
header. Messages name the line of the file too (a quoted cell may span lines; blank lines are
skipped), e.g. "data row 5 (line 7 of the file)".
Nothing is changed silently: missing cells, infinities and text in numeric columns are errors; the
only conversions (one-hot encoding, dropping empty or free-text columns) are listed in the notes.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from collections.abc import Iterable, Iterator

import numpy as np
import pandas as pd

from .types import DataError, Text
from .upload_base import Upload, UploadLimits, encode_labels, joined, natural_key, plural

__all__ = ["LABEL_NAMES", "MAX_CATEGORIES", "read_header", "read_table"]

LABEL_NAMES = ("y", "label", "labels", "class", "target", "anomaly", "is_anomaly", "outlier")
MAX_CATEGORIES = 20  # text columns with at most this many distinct values are one-hot encoded
_NUMERIC_SHARE = 0.9  # a column whose non-empty cells are at least this share numbers is numeric
# in a numeric column, cells holding one of these (any case) are missing values, not text
_MISSING_LOWER = ["", "na", "n/a", "nan", "-nan", "null", "none", "#n/a", "<na>", "?"]
_RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_OPEN_QUOTE = "EOF inside string"


def _decode(name: str, data: bytes) -> tuple[str, list[str]]:
    """The file as text (UTF-8, UTF-16 with a BOM, or Windows-1252), refusing binary data."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), [Text("upload.note.utf16")]
        except UnicodeDecodeError as err:
            raise DataError.say("upload.error.utf16_damaged", name=name, err=str(err)) from err
    nul = data.find(b"\x00", 0, 1 << 16)
    if nul >= 0:
        raise DataError.say("upload.error.binary_nul", name=name, offset=nul)
    try:
        return data.decode("utf-8-sig"), []
    except UnicodeDecodeError as err:
        head = data[: 1 << 16]
        controls = [i for i, b in enumerate(head) if b < 0x20 and b not in b"\t\n\r\x0c"]
        if controls:
            raise DataError.say("upload.error.binary_control", name=name, byte=head[controls[0]],
                                offset=controls[0]) from err
    try:
        return data.decode("cp1252"), [Text("upload.note.cp1252")]
    except UnicodeDecodeError:
        return data.decode("latin-1"), [Text("upload.note.latin1")]


def _separator(name: str, text: str, fmt: str) -> tuple[str, list[str]]:
    first = text.split("\n", 1)[0]
    if fmt == "tsv":
        return "\t", []
    if fmt == "csv":
        if "," not in first and ";" in first:
            return ";", [Text("upload.note.semicolons")]
        return ",", []
    if "\t" in first:  # .txt
        return "\t", []
    if "," in first:
        return ",", [Text("upload.note.txt_commas")]
    raise DataError.say("upload.error.no_separator", name=name)


def _header(name: str, text: str, sep: str, max_features: int) -> tuple[str, ...]:
    try:
        cut = text.find("\n", 1 << 20)
        head = text if cut < 0 else text[:cut]  # the header line lies in the first MiB
        cols = pd.read_csv(io.StringIO(head), sep=sep, nrows=0, dtype=str).columns
    except pd.errors.EmptyDataError as err:
        raise DataError.say("upload.error.no_text", name=name) from err
    except (pd.errors.ParserError, ValueError) as err:
        raise DataError.say("upload.error.header_unreadable", name=name, err=str(err)) from err
    columns = tuple(str(c) for c in cols)
    if not columns:
        raise DataError.say("upload.error.no_header", name=name)
    if all(_is_number(c) for c in columns):
        raise DataError.say("upload.error.header_numbers", name=name, first=", ".join(columns[:4]))
    if len(columns) > max_features + 1:
        raise DataError.say("upload.error.too_many_columns", name=name, n=len(columns), limit=max_features)
    return columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_header(name: str, data: bytes, fmt: str, limits: UploadLimits) -> tuple[str, ...]:
    """The column names of a CSV/TSV/TXT file (``fmt``: ``"csv"``, ``"tsv"`` or ``"txt"``), reading only its header."""
    text, _ = _decode(name, data)
    sep, _ = _separator(name, text, fmt)
    return _header(name, text, sep, limits.max_features)


def _pick_label(name: str, columns: tuple[str, ...], label_column: str | None) -> tuple[str | None, Text]:
    if label_column == "auto":
        lowered = {c.strip().lower(): c for c in reversed(columns)}
        for candidate in LABEL_NAMES:
            if candidate in lowered:
                col = lowered[candidate]
                return col, Text("upload.note.label_picked", column=col)
        return None, Text("upload.note.label_none_found", names=", ".join(LABEL_NAMES))
    if label_column is None:
        return None, Text("upload.note.label_none_chosen")
    if label_column not in columns:
        listed = ", ".join(repr(c) for c in columns[:40]) + (" …" if len(columns) > 40 else "")
        raise DataError.say("upload.error.no_such_column", name=name, column=repr(label_column), columns=listed)
    return label_column, Text("upload.note.label_chosen", column=label_column)


def _data_rows(text: str, sep: str) -> Iterator[tuple[int, int, list[str]]]:
    """``(data row, line of the file it starts on, fields)`` for each row as pandas reads the table.

    Blank (or whitespace-only) lines are skipped, the first other record is the header and the next
    one is data row 0; lines count from 1. Stops quietly where the csv module cannot go on.
    """
    reader = csv.reader(io.StringIO(text, newline=None), delimiter=sep)
    row, end = -1, 0  # row -1: the header
    try:
        for fields in reader:
            start, end = end + 1, reader.line_num
            if not fields or (len(fields) == 1 and fields[0] and not fields[0].strip()):
                continue
            if row >= 0:
                yield row, start, fields
            row += 1
    except csv.Error:
        return


def _lines(text: str, sep: str, rows: Iterable[int]) -> dict[int, int]:
    """``{data row: line of the file}`` for ``rows`` (one pass, stopping at the last one asked for)."""
    wanted, found = set(rows), {}
    if wanted:
        for row, line, _ in _data_rows(text, sep):
            if row in wanted:
                found[row] = line
                if len(found) == len(wanted):
                    break
    return found


def _where(row: int, line: int | None) -> Text:
    """``"data row 5 (line 7 of the file)"``; without the line where it is unknown."""
    return Text("upload.piece.row_line", row=row, line=line) if line else Text("upload.piece.row", row=row)


def _ragged_row(text: str, sep: str, n_fields: int) -> tuple[Text, int] | None:
    """(where, field count) of the first data row with more fields than the header, or None."""
    for row, line, fields in _data_rows(text, sep):
        if len(fields) > n_fields:
            return _where(row, line), len(fields)
    return None


def _ragged_error(name: str, text: str, sep: str, n_fields: int) -> DataError:
    found = _ragged_row(text, sep, n_fields)
    if found is None:
        return DataError.say("upload.error.ragged_somewhere", name=name, n=n_fields)
    return DataError.say("upload.error.ragged", name=name, where=found[0], fields=found[1], n=n_fields)


def _open_quote_error(name: str, text: str, sep: str) -> DataError:
    *_, last = [(row, line) for row, line, _ in _data_rows(text, sep)] or [None]  # the open cell runs to the end
    if last is None:
        return DataError.say("upload.error.open_quote", name=name)
    return DataError.say("upload.error.open_quote_at", name=name, where=_where(*last))


def _read_frame(name: str, text: str, sep: str, columns: tuple[str, ...], label: str | None, max_rows: int):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                dtype={label: str} if label else None,
                keep_default_na=False,
                na_values=[""],  # only empty cells; markers such as "NA" are judged per column
                index_col=False,
                nrows=max_rows + 1,
                low_memory=False,
            )
        except pd.errors.ParserError as err:
            if _RAGGED.search(str(err)):
                raise _ragged_error(name, text, sep, len(columns)) from err
            if _OPEN_QUOTE in str(err):
                raise _open_quote_error(name, text, sep) from err
            raise DataError.say("upload.error.table_quoting", name=name, err=str(err)) from err
        except MemoryError:
            raise
        except Exception as err:  # EmptyDataError, ValueError, UnicodeError, ...
            raise DataError.say("upload.error.table_unreadable", name=name, err=str(err)) from err
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise _ragged_error(name, text, sep, len(columns))
    return df


def _first_rows(mask: np.ndarray) -> tuple[int, int]:
    """(how many, data row of the first, from 0) for a boolean row mask."""
    idx = np.flatnonzero(mask)
    return len(idx), int(idx[0]) if len(idx) else 0


def _cells(problems: dict[str, tuple[int, int]], lines: dict[int, int]) -> str:
    """``'b' (2 rows, first at data row 1, line 3 of the file), ...``."""
    return joined([
        Text("upload.piece.cells_line", column=c, count=plural(k, "row"), row=r, line=lines[r]) if r in lines
        else Text("upload.piece.cells", column=c, count=plural(k, "row"), row=r)
        for c, (k, r) in problems.items()
    ])


def read_table(
    name: str, data: bytes, fmt: str, label_column: str | None, limits: UploadLimits
) -> Upload:
    """Read a CSV/TSV/TXT table into an ``Upload`` (``X`` float32 ``(n, d)``); see the module docstring."""
    text, notes = _decode(name, data)
    sep, more = _separator(name, text, fmt)
    notes += more
    columns = _header(name, text, sep, limits.max_features)
    label, note = _pick_label(name, columns, label_column)
    notes.append(note)
    df = _read_frame(name, text, sep, columns, label, limits.max_rows)
    n = len(df)
    if n > limits.max_rows:
        raise DataError.say("upload.error.table_too_many_rows", name=name, limit=limits.max_rows)
    if n < limits.min_rows:
        raise DataError.say("upload.error.table_too_few_rows", name=name, n=n, min=limits.min_rows)

    y, class_names = None, ()
    if label is not None:
        labels = df[label].fillna("").astype(str).str.strip().to_numpy(dtype=str)
        missing = labels == ""
        if missing.any():
            k, row = _first_rows(missing)
            raise DataError.say("upload.error.label_empty", name=name, column=label, count=plural(k, "row"),
                                where=_where(row, _lines(text, sep, [row]).get(row)))
        y, class_names = encode_labels(labels)
        if len(class_names) > 50:
            notes.append(Text("upload.note.many_labels", column=label, k=len(class_names)))

    blocks, names = [], []
    empty, text_cols, encoded, constant, bools = [], [], [], [], []
    missing_cells: dict[str, tuple[int, int]] = {}
    n_one_hot = 0
    for col in columns:
        if col == label:
            continue
        s = df[col]
        miss = s.isna().to_numpy().copy()
        if miss.all():
            empty.append(col)
            continue
        if pd.api.types.is_bool_dtype(s.dtype) or pd.api.types.is_numeric_dtype(s.dtype):
            if pd.api.types.is_bool_dtype(s.dtype):
                bools.append(col)
            values = s.to_numpy(dtype=np.float64, na_value=np.nan)
            _check_finite(name, col, values, text, sep)
            if miss.any():
                missing_cells[col] = _first_rows(miss)
            elif values.max() == values.min():
                constant.append(col)
            blocks.append(values[:, None])
            names.append(col)
            continue
        # a text column: numbers with some text or missing markers, or categories
        rows = np.flatnonzero(~miss)  # the non-empty cells
        strings = s.iloc[rows].astype(str).str.strip().to_numpy(dtype=object)
        marker = np.isin(np.char.lower(strings.astype(str)), _MISSING_LOWER)
        if marker.all():
            empty.append(col)
            continue
        numeric = pd.to_numeric(pd.Series(strings), errors="coerce").notna().to_numpy()
        if numeric.any() and numeric.sum() >= _NUMERIC_SHARE * (~marker).sum():
            words = ~numeric & ~marker
            if words.any():
                row = int(rows[words][0])
                raise DataError.say("upload.error.text_in_numbers", name=name, column=col,
                                    count=plural(int(words.sum()), "row"),
                                    where=_where(row, _lines(text, sep, [row]).get(row)), cell=repr(strings[words][0]))
            miss[rows[marker]] = True
            missing_cells[col] = _first_rows(miss)
            continue
        blank = strings == ""  # in a column of categories only blank cells are missing
        miss[rows[blank]] = True
        categories = set(strings[~blank])
        if len(categories) > MAX_CATEGORIES:
            decimal = pd.to_numeric(pd.Series(strings).str.replace(",", ".", regex=False), errors="coerce")
            if decimal.notna().mean() >= _NUMERIC_SHARE:
                raise DataError.say("upload.error.decimal_commas", name=name, column=col, example=repr(strings[0]))
            text_cols.append(col)
            continue
        categories = sorted(categories, key=natural_key)
        if miss.any():
            missing_cells[col] = _first_rows(miss)
        codes = np.full(n, -1)
        codes[rows[~blank]] = pd.Categorical(strings[~blank], categories=categories).codes
        blocks.append((codes[:, None] == np.arange(len(categories))[None, :]).astype(np.float64))  # (n, k)
        names.extend(f"{col}={c}" for c in categories)
        encoded.append(f"'{col}' ({len(categories)}: {', '.join(categories[:6])}{' …' if len(categories) > 6 else ''})")
        n_one_hot += len(categories)

    if missing_cells:
        raise DataError.say(
            "upload.error.missing_values", name=name, k=len(missing_cells),
            cells=_cells(missing_cells, _lines(text, sep, [r for _, r in missing_cells.values()])),
        )
    if empty:
        notes.append(Text("upload.note.dropped_empty", k=len(empty), columns=", ".join(map(repr, empty))))
    if text_cols:
        notes.append(Text("upload.note.dropped_text", k=len(text_cols), max=MAX_CATEGORIES,
                          columns=", ".join(map(repr, text_cols))))
    if not blocks:
        raise DataError.say("upload.error.no_features", name=name)
    if encoded:
        notes.append(Text("upload.note.one_hot", k=len(encoded), n=n_one_hot, columns="; ".join(encoded)))
    if bools:
        notes.append(Text("upload.note.booleans", columns=", ".join(map(repr, bools))))
    if constant:
        notes.append(Text("upload.note.constant", k=len(constant), columns=", ".join(map(repr, constant))))
    if len(names) > limits.max_features:
        raise DataError.say("upload.error.too_many_features", name=name, n=len(names), limit=limits.max_features)
    with np.errstate(over="ignore"):
        X = np.concatenate(blocks, axis=1).astype(np.float32)  # (n, d)
    if not np.isfinite(X).all():
        col = names[int(np.flatnonzero(~np.isfinite(X).all(axis=0))[0])]
        raise DataError.say("upload.error.too_large", name=name, column=col)
    return Upload(
        X=X,
        y=y,
        class_names=class_names,
        kind="tabular",
        name=name,
        format="tsv" if sep == "\t" else "csv",
        feature_names=tuple(names),
        notes=tuple(notes),
        label_column=label,
        columns=columns,
        n_one_hot=n_one_hot,
    )


def _check_finite(name: str, col: str, values: np.ndarray, text: str, sep: str) -> None:
    inf = np.isinf(values)
    if inf.any():
        k, row = _first_rows(inf)
        raise DataError.say("upload.error.infinite", name=name, column=col, count=plural(k, "infinite_value"),
                            where=_where(row, _lines(text, sep, [row]).get(row)))
