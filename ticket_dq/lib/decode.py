"""Decoding landing files: encoding detection, CSV / JSON Lines parsing, normalisation to contract types,
row-level quarantine and schema drift.

The work is split so every step runs vectorised:

1. ``detect_encoding`` finds UTF-8, UTF-8 with BOM or GB18030 from the bytes (nobody tells us) and
   hands back UTF-8 bytes without BOM.
2. ``split_csv`` finds record boundaries with numpy (a newline ends a record when an even number of
   ``"`` precede it: RFC 4180 doubles quotes inside quoted fields, so parity is exact), and so knows
   each record's 1-based physical line (header = line 1). Fast path: a clean UTF-8 file of one-line
   records is read by DuckDB's parallel CSV reader in strict mode, line numbers joined by position.
   Careful path (GB18030, extra columns, multi-line records, blank lines, or DuckDB refusing a
   record): fields are counted per record the same way, records with the wrong field count or an
   unterminated quote are quarantined, and Polars parses the rest as all-string columns.
3. ``parse_jsonl`` splits lines with Polars; DuckDB's JSON functions extract the contract keys
   (``stage_jsonl_sql``).
4. ``typed_select_sql`` casts every contract column in DuckDB (timestamps with space or ``T``,
   ``*_yuan`` decimal to ``*_fen`` BIGINT, ints, dates, booleans, empty -> NULL) and gives each row
   that fails a precise reason; ``start_ts`` of competitor rows is derived there too.

SQL here is generated from contract column names (identifiers we own), never from data values.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from ticket_dq.lib import contract

BOM = codecs.BOM_UTF8
NEWLINE = b"\n"
# Internal column names of the staged frame; contract columns never start with "__".
LINE = "__line"
REC = "__rec"
EXTRAS = "extras"
REASON = "__reason"


class DecodeError(ValueError):
    """The whole file cannot be read (unknown encoding, no header): it is rejected as one unit."""


# ---- encoding ----------------------------------------------------------------------------------------

def _utf8_error(data: bytes, chunk: int = 16 << 20) -> tuple[int, bool] | None:
    """Where UTF-8 validation fails: (byte offset of the first bad byte, True when the file merely ends
    inside a multi-byte character, i.e. was cut short); None for valid UTF-8. Incremental, so a
    national file never exists twice as a Python str."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    i = 0
    try:
        for i in range(0, len(data), chunk):
            dec.decode(data[i:i + chunk], final=False)
    except UnicodeDecodeError as exc:
        return i + exc.start, False
    try:
        dec.decode(b"", final=True)
    except UnicodeDecodeError:
        pending = len(dec.getstate()[0])  # bytes of the unfinished character at the end
        return len(data) - pending, True
    return None


def _is_utf8(data: bytes) -> bool:
    return _utf8_error(data) is None


def _sniff_utf8(data: bytes, probe: int = 4 << 20) -> tuple[str, memoryview] | None:
    """Provisional encoding from the first ``probe`` bytes, for the fast path only: DuckDB's CSV reader
    validates the rest (it refuses invalid UTF-8, which sends the file to the careful path), so a
    national file is not decoded twice. None when the start already is not UTF-8."""
    view = memoryview(data)
    body, enc = (view[len(BOM):], "utf-8-sig") if data.startswith(BOM) else (view, "utf-8")
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(bytes(body[:probe]), final=False)
    except UnicodeDecodeError:
        return None
    return enc, body


def detect_encoding(data: bytes) -> tuple[str, bytes]:
    """Return (encoding, UTF-8 bytes without BOM): ``utf-8-sig``, ``utf-8`` or ``gb18030``.

    UTF-8 is tried before GB18030 because valid UTF-8 with Chinese text is almost never valid GBK
    of the same meaning, while GB18030 would accept many UTF-8 byte sequences as mojibake.
    """
    if data.startswith(BOM):
        body = data[len(BOM):]
        if _is_utf8(body):
            return "utf-8-sig", body
        raise DecodeError("file starts with a UTF-8 BOM but is not valid UTF-8")
    utf8 = _utf8_error(data)
    if utf8 is None:
        return "utf-8", data
    if utf8[1]:
        # Valid UTF-8 up to a character cut off at the very end: a truncated UTF-8 delivery, not GB18030
        # (which would accept the bytes as mojibake and hide where the file was cut).
        raise DecodeError(f"file is UTF-8 but ends inside a multi-byte UTF-8 character at byte {utf8[0]} "
                          f"(truncated?)")
    try:
        return "gb18030", data.decode("gb18030").encode("utf-8")
    except UnicodeDecodeError as exc:
        at, cut = utf8
        # Report the UTF-8 fault first: a file cut inside a character is a truncated delivery, and
        # GB18030's complaint about some earlier byte of valid UTF-8 would point at the wrong place.
        utf8_text = (f"it ends inside a multi-byte UTF-8 character at byte {at} (truncated?)" if cut
                     else f"invalid UTF-8 at byte {at}")
        raise DecodeError(f"file is neither UTF-8 ({utf8_text}) nor GB18030 (invalid at byte {exc.start})") from exc


def _common_chinese_share(text: str) -> float | None:
    """Share of the non-ASCII characters that are common Chinese ideographs (CJK and in GB2312)."""
    wide = [c for c in text if ord(c) > 127 and not c.isspace() and c != "\ufffd"]
    if len(wide) < 8:
        return None
    def common(c: str) -> bool:
        if not "\u4e00" <= c <= "\u9fff":
            return False
        try:
            c.encode("gb2312")
        except UnicodeEncodeError:
            return False
        return True
    return sum(map(common, wide)) / len(wide)


def looks_like_gbk(utf8: bytes | memoryview, sample: int = 1 << 16) -> bool:
    """A file that is valid UTF-8 but reads like GBK: Chinese partners' Excel writes GBK, and GBK text
    made only of some common characters (隆, 茂, 路 ...) is also valid UTF-8, decoding to Latin, Greek
    or Cyrillic letters. Suspect when the UTF-8 reading has few common Chinese characters and the
    GB18030 reading of the same bytes is almost all of them (the first 64 KiB are judged)."""
    head = bytes(utf8[:sample])
    as_utf8 = _common_chinese_share(head.decode("utf-8", errors="ignore"))
    if as_utf8 is None or as_utf8 >= 0.5:
        return False
    as_gbk = _common_chinese_share(head.decode("gb18030", errors="ignore"))
    return as_gbk is not None and as_gbk >= 0.9


def encoding_fault(data: bytes) -> str | None:
    """Why the whole file cannot be decoded, or None. The fast path only sniffs the start of a file,
    so a delivery already known to be wrong is checked in full to name the real cause."""
    try:
        detect_encoding(data)
    except DecodeError as exc:
        return str(exc)
    return None


# ---- one pass over the bytes ---------------------------------------------------------------------------

_SCAN_CHUNK = 1 << 20  # small enough that a block stays in cache across its passes (measured: 4 MiB is ~20 % slower)
HEAD = 4 << 20  # bytes kept from the start of a file: encoding sniff and CSV header
# Byte pairs counted in JSON Lines, as little-endian uint16 (first byte low): a colon after a byte
# whose bits all lie in _KEY_END_BITS, which holds the quote that closes a key and the JSON whitespace
# that may follow it (space, tab, newline; a CR refuses the fast path anyway) and a few bytes that never
# end a key (a false alarm only costs the cheaper reading); ``:n``, the start of a compact ``null``.
_KEY_END_BITS = ord('"') | ord(" ") | ord("\t") | ord("\n")
_KEY_COLON = ord(":") << 8 | _KEY_END_BITS
_COLON_N = ord("n") << 8 | ord(":")


@dataclass
class FileScan:
    """What one sequential read of a delivered file tells (``scan_file``); the file itself is not kept."""

    sha256: str
    size: int
    head: bytes  # the first HEAD bytes
    newlines: int
    ends_with_newline: bool
    has_cr: bool
    # JSON Lines only (``jsonl=True``), see ``plain_keys``:
    has_backslash: bool = True
    key_colons: int = 0  # colons after a quote or whitespace (and a few look-alikes, see _KEY_END_BITS)
    null_starts: int = 0  # ':n' pairs
    # (byte offset, newlines before it) at the start of each block read: a line's number is counted
    # from the nearest block instead of from the start of the file (``file_parts``)
    block_marks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def physical_lines(self) -> int:
        """Newlines, plus an unterminated last line (as ``physical_lines`` counts them)."""
        return self.newlines + (1 if self.size and not self.ends_with_newline else 0)

    def plain_keys(self, keys: int, rows: int) -> bool:
        """True when every line of a JSON Lines file that DuckDB reads as ``rows`` objects holding all
        ``keys`` contract keys (none null) can hold no other key, at any depth. Proof: without a
        backslash every ``"`` delimits a string; a key's closing quote is followed by its colon,
        directly or after whitespace, so every key's colon follows a quote or a whitespace byte and is
        counted in ``key_colons`` (with colons that follow look-alikes or open a string: the count can
        only be higher). If that count is ``keys * rows``, which the contract keys alone already reach,
        there is nothing else. A null value reads like an absent key, which the caller's reading
        refuses; a file that likely holds one (``:n``) is not offered."""
        return (not self.has_backslash and self.null_starts == 0 and keys >= 2
                and self.key_colons == keys * rows)


def scan_file(path, *, jsonl: bool = False) -> FileScan:
    """sha256, newlines, CR and the first HEAD bytes of the file at ``path`` in one sequential pass of
    1 MiB blocks (no copy of the whole file in memory); ``jsonl`` adds the byte-pair counts
    ``FileScan.plain_keys`` rests on. The hash runs in a thread of its own over its own reads (hashlib
    releases the GIL): it is half the pass's CPU, and the counts need the other core only."""
    with ThreadPoolExecutor(1, thread_name_prefix="sha256") as pool:
        digest = pool.submit(_sha256_of, path)
        scan = _count_file(path, jsonl)
        scan.sha256 = digest.result()
    return scan


def _sha256_of(path) -> str:
    with open(path, "rb", buffering=0) as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def _count_file(path, jsonl: bool) -> FileScan:
    """``scan_file`` without the hash."""
    buf = bytearray(_SCAN_CHUNK + 2)  # [previous block's last byte] + block: pairs across blocks count
    view = memoryview(buf)
    # Scratch arrays reused for every block: numpy's temporaries would be fresh pages each time.
    hits = np.empty(_SCAN_CHUNK, bool)
    ored = np.empty(_SCAN_CHUNK // 2 + 1, np.uint16)
    size = newlines = key_colons = null_starts = 0
    has_cr = backslash = False
    head = b""
    last = b"\n"
    block_marks: list[tuple[int, int]] = []
    with open(path, "rb", buffering=0) as fh:
        while (k := fh.readinto(view[1:_SCAN_CHUNK + 1])):
            block_marks.append((size, newlines))
            block = view[1:k + 1]
            if len(head) < HEAD:
                head += bytes(block[:HEAD - len(head)])
            newlines += int(np.count_nonzero(np.equal(np.frombuffer(buf, np.uint8, k, 1), 10, out=hits[:k])))
            has_cr = has_cr or buf.find(b"\r", 1, k + 1) >= 0
            if jsonl and not backslash:
                backslash = buf.find(b"\\", 1, k + 1) >= 0
                buf[0] = last[0]
                n = k + 1 if size else k  # the first block has no previous byte
                start = 0 if size else 1
                for off in (start, start + 1):
                    m = (n - (off - start)) // 2
                    w, hit, tmp = np.frombuffer(buf, "<u2", m, off), hits[:m], ored[:m]
                    np.bitwise_or(w, _KEY_END_BITS, out=tmp)
                    key_colons += int(np.count_nonzero(np.equal(tmp, _KEY_COLON, out=hit)))
                    null_starts += int(np.count_nonzero(np.equal(w, _COLON_N, out=hit)))
            last = bytes(buf[k:k + 1])
            size += k
    return FileScan(sha256="", size=size, head=head, newlines=newlines,
                    ends_with_newline=last == b"\n", has_cr=has_cr, has_backslash=backslash if jsonl else True,
                    key_colons=key_colons, null_starts=null_starts,
                    block_marks=block_marks)


# ---- parsed file ---------------------------------------------------------------------------------------

@dataclass
class Parsed:
    """A decoded file: good rows staged as strings, bad rows with reasons, header drift."""

    encoding: str
    rows_in_file: int  # data records (header and blank lines not counted)
    frame: pl.DataFrame | None  # CSV: contract columns as strings + __line, __rec, extras; JSONL: __line, __rec, __json
    bad: list[tuple[int, str, str]] = field(default_factory=list)  # (line, raw text, reason)
    header: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required contract columns absent from the header
    extra: list[str] = field(default_factory=list)  # columns outside the contract (kept in extras)
    raw_text: callable = None  # rec index -> raw text of that record, for rows quarantined later
    fast: str | None = None  # fast path: "csv" or "jsonl"; DuckDB reads the file itself (record i on line
    # i + 1 of a CSV, line i of JSON Lines), and the caller redoes the file on the careful path if it refuses
    transcoded: bytes | None = None  # fast path on a GB18030 file: the UTF-8 text DuckDB must read instead
    plain: FileScan | None = None  # JSON Lines fast path: the file's byte counts, when they allow reading
    # every value as VARCHAR (``plain_keys``); the caller falls back to the JSON columns otherwise
    notes: list[str] = field(default_factory=list)  # what the record count rests on, for a mismatch message


# ---- CSV ------------------------------------------------------------------------------------------------

@dataclass
class CsvRecords:
    buf: bytes | memoryview
    starts: np.ndarray  # byte offset of each record (record 0 = header)
    ends: np.ndarray  # byte offset one past the record's last byte, before its newline
    lines: np.ndarray  # 1-based physical line where the record starts
    odd_quotes: np.ndarray  # bool: record ends inside a quoted field
    blank: np.ndarray  # bool: empty line
    quotes: np.ndarray  # byte offsets of every '"'

    def text(self, i: int) -> str:
        return bytes(self.buf[self.starts[i]:self.ends[i]]).decode("utf-8", errors="replace")


def split_csv(buf: bytes) -> CsvRecords:
    """Record boundaries and physical lines of an RFC 4180 CSV, vectorised with numpy."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    n = arr.size
    nl = np.flatnonzero(arr == 10)
    q = np.flatnonzero(arr == 34)
    nl_rec = nl[(np.searchsorted(q, nl) & 1) == 0] if q.size else nl
    starts = np.concatenate(([0], nl_rec + 1)).astype(np.int64)
    ends = np.concatenate((nl_rec, [n])).astype(np.int64)
    if starts[-1] >= n:  # file ends with a newline: no record after it
        starts, ends = starts[:-1], ends[:-1]
    # Trailing CR of CRLF belongs to the line ending, not to the last field.
    if ends.size:
        last = np.clip(ends - 1, 0, max(n - 1, 0))
        cr = (ends > starts) & (arr[last] == 13) if n else np.zeros(ends.size, bool)
        ends = ends - cr.astype(np.int64)
    lines = np.searchsorted(nl, starts) + 1
    nrec = starts.size
    if q.size and nrec:
        qcount = np.bincount(np.minimum(np.searchsorted(ends, q), nrec - 1), minlength=nrec)[:nrec]
        odd = (qcount & 1) == 1
    else:
        odd = np.zeros(nrec, bool)
    return CsvRecords(buf, starts, ends, lines, odd, ends <= starts, q)


def count_fields(recs: CsvRecords) -> np.ndarray:
    """Fields per record: commas outside quotes + 1 (only the careful path needs this)."""
    arr = np.frombuffer(recs.buf, dtype=np.uint8)
    nrec = recs.starts.size
    c = np.flatnonzero(arr == 44)
    if recs.quotes.size and c.size:
        # Quote parity counted from the comma's own record start (records re-split after a broken
        # quote restart their parity there; for an ordinary file this equals the global parity).
        rec = np.minimum(np.searchsorted(recs.ends, c), nrec - 1)
        before = np.searchsorted(recs.quotes, c) - np.searchsorted(recs.quotes, recs.starts[rec])
        c = c[(before & 1) == 0]
    # A comma at byte p belongs to the first record whose end is >= p.
    return np.bincount(np.searchsorted(recs.ends, c), minlength=nrec)[:nrec] + 1


def _last_line(recs: CsvRecords, i: int) -> int:
    """Physical line where record ``i`` ends (a record running to the end of the file does not end
    on the empty line after the file's last newline)."""
    body = bytes(recs.buf[int(recs.starts[i]):int(recs.ends[i])]).rstrip(b"\r\n")
    return int(recs.lines[i]) + body.count(NEWLINE)


def stray_quotes(recs: CsvRecords) -> np.ndarray:
    """Per record: a quote where RFC 4180 allows none. A quote that opens a field must start the
    record or follow a comma; one that closes it must end the record or precede a comma; an inner
    quote is doubled. Parity alone would take ``a,"b\nc,"d`` for one record with a quoted field."""
    nrec = recs.starts.size
    bad = np.zeros(nrec, bool)
    q = recs.quotes
    if not q.size or not nrec:
        return bad
    arr = np.frombuffer(recs.buf, dtype=np.uint8)
    rec = np.minimum(np.searchsorted(recs.ends, q), nrec - 1)
    inside = (q >= recs.starts[rec]) & (q < recs.ends[rec])
    q, rec = q[inside], rec[inside]
    nth = np.arange(q.size) - np.searchsorted(q, recs.starts[rec])
    start, end = recs.starts[rec], recs.ends[rec]
    prev = np.where(q > start, arr[np.maximum(q - 1, 0)], 44)
    nxt = np.where(q + 1 < end, arr[np.minimum(q + 1, arr.size - 1)], 44)
    opening = (nth & 1) == 0
    illegal = np.where(opening, ~((prev == 44) | (prev == 34)), ~((nxt == 44) | (nxt == 34)))
    bad[np.unique(rec[illegal])] = True
    return bad


def resync_broken_quotes(recs: CsvRecords, width: int, first_data: int) -> CsvRecords:
    """Records again, where a quote left open made the parity split swallow the lines after it: each
    multi-line record from ``first_data`` on that is malformed (quote never closed, or the wrong
    field count) is cut to its first physical line, and splitting restarts on the next line. Only the
    broken line is lost, not the rest of the file. Legitimate multi-line fields are untouched."""
    buf = recs.buf
    parts: list[tuple[np.ndarray, ...]] = []
    cur, base_off, base_line = recs, 0, 0
    skip = first_data
    while True:
        fields = count_fields(cur)
        nl_in = np.array([bytes(cur.buf[a:b]).count(NEWLINE) for a, b in zip(cur.starts, cur.ends)]) \
            if cur.starts.size else np.zeros(0, int)
        idx = np.arange(cur.starts.size)
        broken = np.flatnonzero((idx >= skip) & (nl_in > 0)
                                & (cur.odd_quotes | (fields != width) | stray_quotes(cur)))
        if not broken.size:
            parts.append((cur.starts + base_off, cur.ends + base_off, cur.lines + base_line, cur.odd_quotes,
                          cur.blank))
            break
        i = int(broken[0])
        start = int(cur.starts[i])
        cut = bytes(cur.buf[start:int(cur.ends[i])]).index(NEWLINE) + start
        end = cut - 1 if cut > start and cur.buf[cut - 1] == 13 else cut
        line_quotes = bytes(cur.buf[start:end]).count(b'"')
        parts.append((np.append(cur.starts[:i], start) + base_off, np.append(cur.ends[:i], end) + base_off,
                      np.append(cur.lines[:i], cur.lines[i]) + base_line,
                      np.append(cur.odd_quotes[:i], line_quotes % 2 == 1), np.append(cur.blank[:i], end <= start)))
        base_line += int(cur.lines[i])
        base_off += cut + 1
        cur, skip = split_csv(buf[base_off:]), 0
    starts, ends, lines, odd, blank = (np.concatenate([p[k] for p in parts]) for k in range(5))
    quotes = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 34)
    return CsvRecords(buf, starts.astype(np.int64), ends.astype(np.int64), lines, odd.astype(bool),
                      blank.astype(bool), quotes)


def _header_names(text: str) -> list[str]:
    row = next(csv.reader(io.StringIO(text)), [])
    return [h.strip() for h in row]


def physical_lines(buf: bytes) -> int:
    """Physical lines of a file: newlines, plus an unterminated last line."""
    return buf.count(NEWLINE) + (1 if buf and not buf.endswith(NEWLINE) else 0)


def _fast_csv_header(body: bytes | memoryview, feed: contract.Feed) -> list[str] | None:
    """The header on line 1 when it names exactly the contract columns (the fast path's condition)."""
    first = bytes(body[:1 << 16])
    end = first.find(NEWLINE)
    if end <= 0:
        return None
    header = _header_names(first[:end].rstrip(b"\r").decode("utf-8", errors="replace"))
    return header if sorted(header) == sorted(feed.contract_names) else None


def _fast_csv(data: bytes, feed: contract.Feed, expected_rows: int | None) -> Parsed | None:
    """The fast path's preconditions, checked without splitting the file: UTF-8 (sniffed; DuckDB's
    reader validates the rest) or GB18030 (transcoded), the header on line 1 naming exactly the
    contract columns, and one physical line per manifest row. DuckDB then reads the file in strict
    mode; a multi-line record or a blank line makes it return fewer rows than lines, which the caller
    treats as a refusal (careful path). None when the file does not qualify."""
    if expected_rows is None:
        return None
    sniffed = _sniff_utf8(data)
    if sniffed is None:
        try:
            encoding, buf = detect_encoding(data)
        except DecodeError:
            return None
        if encoding != "gb18030":
            return None
    else:
        encoding, buf = sniffed
    header = _fast_csv_header(buf, feed)
    if header is None or physical_lines(data if sniffed else buf) - 1 != expected_rows:  # a BOM holds no newline
        return None
    parsed = Parsed(encoding=encoding, rows_in_file=expected_rows, frame=None, header=header, fast="csv")
    if sniffed is None:
        parsed.transcoded = buf  # DuckDB reads UTF-8 only: the caller hands it this as a temp file
    parsed.raw_text = _lazy_record_text(lambda: buf)
    return parsed


def fast_csv(scan: FileScan, path, feed: contract.Feed, expected_rows: int | None) -> Parsed | None:
    """``_fast_csv`` from a scan of the file at ``path``: a UTF-8 file is never held in memory here
    (DuckDB reads it; a record's raw text is read back only if a row is quarantined). A file whose
    start is not UTF-8 is read whole, for GB18030's transcoding."""
    if expected_rows is None:
        return None
    sniffed = _sniff_utf8(scan.head)
    if sniffed is None:
        with open(path, "rb") as fh:
            return _fast_csv(fh.read(), feed, expected_rows)
    encoding, _ = sniffed
    header = _fast_csv_header(sniffed[1], feed)
    if header is None or scan.physical_lines - 1 != expected_rows:
        return None
    parsed = Parsed(encoding=encoding, rows_in_file=expected_rows, frame=None, header=header, fast="csv")
    skip = len(BOM) if encoding == "utf-8-sig" else 0
    parsed.raw_text = _lazy_record_text(lambda: memoryview(Path(path).read_bytes())[skip:])
    return parsed


def _lazy_record_text(load):
    """rec index -> raw text, splitting the file (``load()`` gives its UTF-8 bytes) only when a record
    is first asked for (fast-path files quarantine few rows or none)."""
    recs: list[CsvRecords] = []

    def text(i) -> str:
        if not recs:
            recs.append(split_csv(load()))
        return recs[0].text(int(i))
    return text


def parse_csv(data: bytes, feed: contract.Feed, *, allow_fast: bool = True,
              expected_rows: int | None = None) -> Parsed:
    """Decode and parse a CSV file into all-string contract columns, quarantining malformed records.

    Fast path (``parsed.fast``): a UTF-8 (or GB18030, transcoded: ``parsed.transcoded``) file whose
    header is exactly the contract columns and whose records are one line each, with no blank lines:
    DuckDB's own parallel CSV reader then reads the file (strict mode) and the line numbers are joined positionally (``fast_csv_source_sql``); any
    CSV error there sends the caller back here with ``allow_fast=False``. Otherwise (the careful path)
    records with the wrong field count or an unterminated quote are quarantined here and Polars parses
    the rest. ``expected_rows`` (the manifest's count): when the records do not add up to it because a
    quote was left open, the file is re-split after each broken line (``resync_broken_quotes``) and
    that reading is used if it gives the expected count: one bad record costs one line, not the file.
    """
    if allow_fast and (fast := _fast_csv(data, feed, expected_rows)) is not None:
        return fast
    encoding, buf = detect_encoding(data)
    recs = split_csv(buf)
    nonblank = np.flatnonzero(~recs.blank)
    if nonblank.size == 0:
        raise DecodeError("file is empty: no header row")
    hdr = int(nonblank[0])
    header = _header_names(recs.text(hdr))
    data_idx = nonblank[nonblank > hdr]
    rows_in_file = int(data_idx.size)
    required = feed.contract_names
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise DecodeError(f"header repeats column(s) {', '.join(dup)}")
    missing = [c for c in required if c not in header]
    extra = [h for h in header if h not in required]
    parsed = Parsed(encoding=encoding, rows_in_file=rows_in_file, frame=None, header=header,
                    missing=missing, extra=extra, raw_text=lambda i: recs.text(int(i)))
    if missing:
        return parsed

    fields = count_fields(recs)
    width = int(fields[hdr])
    if expected_rows is not None and rows_in_file != expected_rows:
        alt = resync_broken_quotes(recs, width, hdr + 1)
        alt_idx = np.flatnonzero(~alt.blank)
        alt_idx = alt_idx[alt_idx > hdr]
        if alt_idx.size == expected_rows:
            recs, data_idx, rows_in_file = alt, alt_idx, int(alt_idx.size)
            parsed.rows_in_file = rows_in_file
            fields = count_fields(recs)
        else:
            for i in data_idx[recs.odd_quotes[data_idx]]:
                last = _last_line(recs, i)
                parsed.notes.append(f"a quote opened on line {int(recs.lines[i])} is never closed, so lines "
                                    f"{int(recs.lines[i])}-{last} read as one record")
    wrong = fields[data_idx] != width
    odd = recs.odd_quotes[data_idx]
    stray = stray_quotes(recs)
    bad_mask = wrong | odd | stray[data_idx]
    for i in data_idx[bad_mask]:
        if stray[i] and not recs.odd_quotes[i]:
            last_line = _last_line(recs, i)
            span = f"lines {int(recs.lines[i])}-{last_line}" if last_line > recs.lines[i] else f"line {int(recs.lines[i])}"
            reason = (f"misplaced quote ({span}): a quoted field must be quoted whole, with inner quotes "
                      f"doubled")
        elif recs.odd_quotes[i]:
            last_line = _last_line(recs, i)
            reason = (f"unterminated quoted field (record runs to line {last_line})" if last_line > recs.lines[i]
                      else f"unterminated quoted field: a quote on line {int(recs.lines[i])} is never closed "
                           f"(the lines after it are read as records of their own)")
        else:
            reason = f"expected {width} fields as in the header, found {int(fields[i])}"
        parsed.bad.append((int(recs.lines[i]), recs.text(i), reason))
    good = data_idx[~bad_mask]

    if good.size == rows_in_file and good.size == recs.starts.size - 1 and hdr == 0:
        body = buf  # common case: nothing to cut out, Polars reads the buffer as is
    else:
        # Keep the header and runs of consecutive good records (few runs: one per bad/blank record).
        keep = np.concatenate(([hdr], good))
        breaks = np.flatnonzero(np.diff(keep) != 1) + 1
        pieces = [buf[recs.starts[run[0]]:recs.ends[run[-1]]] for run in np.split(keep, breaks)]
        body = b"\n".join(pieces) + b"\n"

    if good.size:
        df = pl.read_csv(body, has_header=True, infer_schema=False, quote_char='"', raise_if_empty=False)
        # Polars names columns from the raw header; use the whitespace-stripped names.
        df.columns = header
        if df.height != good.size:
            raise DecodeError(f"CSV parser found {df.height} records where {good.size} were expected")
    else:
        df = pl.DataFrame({h: pl.Series([], dtype=pl.String) for h in header})
    if extra:
        extras = pl.struct([pl.col(c) for c in extra]).struct.json_encode().alias(EXTRAS)
    else:
        extras = pl.lit(None, dtype=pl.String).alias(EXTRAS)
    parsed.frame = df.select(
        pl.Series(LINE, recs.lines[good].astype(np.int64)),
        pl.Series(REC, good.astype(np.int64)),
        *[pl.col(c) for c in required], extras,
    )
    return parsed


def _fast_lines(rows: int, first_line: int, first_rec: int) -> str:
    """(__line, __rec) of a fast-path read: its record i (from 0) on line ``first_line`` + i, record
    ``first_rec`` + i of the file (the header is record 0 in a CSV). One row more than expected, so a
    reader that finds more records than lines cannot go unnoticed: that row gets a line and fails the
    count check."""
    return (f"(SELECT range + {int(first_line)} AS {LINE}, range + {int(first_rec)} AS {REC} "
            f"FROM range({int(rows) + 1}))")


@dataclass(frozen=True)
class ReadPart:
    """One reader of a fast-path file: the file itself, or one of the parts it was cut into
    (``file_parts``), named by the query parameter holding its path."""

    param: str
    first_line: int  # the file's line its first record is on
    records: int
    has_header: bool


def whole_file(rows: int, *, csv: bool) -> list[ReadPart]:
    """The one reader of an uncut fast-path file (``$path``)."""
    return [ReadPart("path", 2 if csv else 1, rows, csv)]


def _union(branches: list[str]) -> str:
    return branches[0] if len(branches) == 1 else "(" + " UNION ALL ".join(f"SELECT * FROM {b}" for b in branches) + ")"


def fast_csv_source_sql(header: list[str], parts: list[ReadPart]) -> str:
    """FROM-clause source for the CSV fast path: DuckDB reads each part in strict mode with the
    header's columns (all contract names, so safe to spell) as VARCHAR, line numbers joined by
    position. ``__present`` is NULL on padding rows, which would mean the two sides disagree about the
    row count (the caller then falls back to the careful path)."""
    return _union([
        f"(SELECT c.* EXCLUDE (__present), CASE WHEN c.__present THEN l.{LINE} END AS {LINE}, l.{REC}, "
        f"NULL::VARCHAR AS {EXTRAS} FROM "
        f"(SELECT *, true AS __present FROM {fast_csv_reader_sql(header, p)}) c "
        f"POSITIONAL JOIN {_fast_lines(p.records, p.first_line, p.first_line - 1)} l)"
        for p in parts])


def fast_csv_reader_sql(header: list[str], part: ReadPart) -> str:
    """DuckDB's strict CSV reader of one part, every column VARCHAR (``fast_csv_source_sql``)."""
    cols = ", ".join(f"'{h}': 'VARCHAR'" for h in header)
    return (f"read_csv(${part.param}, header = {str(part.has_header).lower()}, auto_detect = false, delim = ',', "
            f"quote = '\"', escape = '\"', strict_mode = true, null_padding = false, columns = {{{cols}}})")


# ---- JSON Lines ---------------------------------------------------------------------------------------

def fast_jsonl(scan: FileScan, expected_rows: int | None) -> Parsed | None:
    """The JSON Lines fast path's preconditions, checked on the scan (no line is split): UTF-8
    without BOM (sniffed; DuckDB's reader validates the rest), no CR, one physical line per manifest
    row. DuckDB then reads the file itself (``plain_jsonl_source_sql``, else
    ``fast_jsonl_source_sql``); a bad line, a line that is no object, an extra key or a blank line
    (fewer rows than lines) is a refusal, and the caller redoes the file on the careful path
    (``parse_jsonl``). None when the file does not qualify."""
    if expected_rows is None or scan.head.startswith(BOM) or scan.has_cr:
        return None
    if _sniff_utf8(scan.head) is None or scan.physical_lines != expected_rows:
        return None
    return Parsed(encoding="utf-8", rows_in_file=expected_rows, frame=None, fast="jsonl", plain=scan)


def first_line_keys(head: bytes) -> list[str] | None:
    """Top-level keys of the first line of a JSON Lines file, in order; None unless it is a JSON
    object whose first line ends within ``head``."""
    end = head.find(NEWLINE)
    try:
        obj = json.loads(head if end < 0 else head[:end])
    except ValueError:
        return None
    return list(obj) if isinstance(obj, dict) else None


def lazy_line_text(path) -> callable:
    """rec (= 1-based line) -> text of that line of the file at ``path``, read and split only when
    first asked (the fast path keeps no copy of a file it hands to DuckDB; few lines are ever asked
    for: those of rows quarantined for a value)."""
    state: list = []

    def text(rec) -> str:
        if not state:
            buf = open(path, "rb").read()
            nl = np.flatnonzero(np.frombuffer(buf, dtype=np.uint8) == 10)
            state.extend((buf, np.concatenate(([0], nl + 1, [len(buf) + 1]))))
        buf, starts = state
        a, b = int(starts[int(rec) - 1]), int(starts[int(rec)]) - 1
        return bytes(buf[a:b]).decode("utf-8")
    return text


def fast_jsonl_reader_sql() -> str:
    """DuckDB's JSON Lines reader on ``$path`` with one JSON column per top-level key of the first line.
    Because every column is read, a key not on the first line makes the reader fail ("unknown key"):
    no line can carry a key the columns do not show. Duplicate keys and lines that are not JSON
    objects fail too."""
    return "read_json($path, format = 'newline_delimited', sample_size = 1, maximum_depth = 1)"


def fast_jsonl_source_sql(names: list[str], rows: int) -> str:
    """FROM-clause source for the JSON Lines fast path, the shape ``stage_jsonl_sql`` gives: each key
    as the string ``json_extract_string`` gives (a string value unquoted, any other value as its JSON
    text), no extras, no ``__bad``. ``names`` are the reader's columns: contract names (and safe to
    spell) once the caller has checked them. A plain string value is unquoted without parsing it
    again: its JSON text without a backslash is the string between two quotes."""
    cols = []
    for c in names:
        j = f'j."{c}"'
        cols.append(f"CASE WHEN starts_with({j}::VARCHAR, '\"') AND NOT contains({j}::VARCHAR, '\\') "
                    f"THEN replace({j}::VARCHAR, '\"', '') ELSE json_extract_string({j}, '$') END AS {c}")
    return (
        f"(SELECT {', '.join(cols)}, CASE WHEN j.__present THEN l.{LINE} END AS {LINE}, l.{REC}, "
        f"NULL::VARCHAR AS {EXTRAS}, NULL::VARCHAR AS __bad FROM "
        f"(SELECT *, true AS __present FROM {fast_jsonl_reader_sql()}) j "
        f"POSITIONAL JOIN {_fast_lines(rows, 1, 1)} l)"
    )


PLAIN_REFUSED = "a line lacks a key, holds a null or a real in exponent form: read as JSON"


def _duckdb_exponent(col: str) -> str:
    """True when DuckDB wrote ``col`` from a JSON real in exponent form ('1e+16', '1e-05'): the one
    place where its VARCHAR reading of a value differs from ``json_extract_string`` ('1e16',
    '0.00001'). Such a value starts with a digit or '-' (below ':'); the cheap tests go first."""
    return f"({col} < ':' AND contains({col}, 'e') AND (contains({col}, 'e+') OR contains({col}, 'e-')))"


def plain_jsonl_source_sql(names: list[str], text_columns: list[str], parts: list[ReadPart]) -> str:
    """FROM-clause source for the JSON Lines fast path when the file's bytes allow it
    (``FileScan.plain_keys``): DuckDB's reader turns every value into its string itself (columns
    given as VARCHAR: a JSON string unescaped, any other value as its JSON text), which costs no
    more than the reader's own typed read; ``fast_jsonl_source_sql`` (JSON columns, unquoted in SQL)
    costs ~1 s more per million lines. With explicit columns the reader ignores keys it was not
    given, so the scan's byte counts are what rule them out; they hold only if every row has every
    key, non-null. A row that does not, or a text value that is a real DuckDB wrote in exponent form,
    makes the query fail (``error()`` in ``extras``: the INSERT lands that column for good rows and the
    caller selects it with the quarantined ones, so every row is checked, once, and the test is never
    pushed into a filter), and the caller takes the JSON columns reading.
    Typed columns fail to cast such a real anyway; the caller checks the reasons. Same shape as
    ``fast_jsonl_source_sql``; one reader per part of the file."""
    checks = [f"j.{c} IS NOT NULL" for c in names] + [f"NOT {_duckdb_exponent(f'j.{c}')}" for c in text_columns]
    return _union([
        f"(SELECT j.* EXCLUDE (__present), CASE WHEN j.__present THEN l.{LINE} END AS {LINE}, l.{REC}, "
        f"CASE WHEN j.__present IS NULL OR ({' AND '.join(checks)}) THEN NULL::VARCHAR "
        f"ELSE error('{PLAIN_REFUSED}') END AS {EXTRAS}, NULL::VARCHAR AS __bad FROM "
        f"(SELECT *, true AS __present FROM {plain_jsonl_reader_sql(names, p)}) j "
        f"POSITIONAL JOIN {_fast_lines(p.records, p.first_line, p.first_line)} l)"
        for p in parts])


def plain_jsonl_reader_sql(names: list[str], part: ReadPart) -> str:
    """DuckDB's JSON Lines reader of one part, the given keys as VARCHAR (``plain_jsonl_source_sql``)."""
    cols = ", ".join(f"'{c}': 'VARCHAR'" for c in names)
    return f"read_json(${part.param}, format = 'newline_delimited', columns = {{{cols}}})"


def exponent_in_reason(reason: str) -> bool:
    """A quarantine reason quoting a value DuckDB may have written in exponent form (see
    ``_duckdb_exponent``): the plain JSON Lines reading is not trusted to have quoted it as
    ``json_extract_string`` would."""
    return "e+" in reason or "e-" in reason


def parse_jsonl(data: bytes, feed: contract.Feed) -> Parsed:
    """Decode a JSON Lines file into (line number, text) rows; DuckDB extracts the keys
    (``stage_jsonl_sql``). Blank lines are not records."""
    encoding, buf = detect_encoding(data)
    expected = buf.count(NEWLINE) + (1 if buf and not buf.endswith(NEWLINE) else 0)
    has_cr = b"\r" in buf
    lines = None
    try:
        # Polars' CSV reader as a parallel line splitter on the bytes (no Python str of the file):
        # a separator that valid JSON never contains raw, no quoting. Trusted only if it returns
        # exactly one row per physical line.
        df = pl.read_csv(buf, has_header=False, separator="\x1f", quote_char=None, new_columns=["__json"],
                         infer_schema=False, raise_if_empty=False)
        if df.height == expected:
            lines = df.get_column("__json")
    except pl.exceptions.PolarsError:
        pass
    if lines is None:
        text = buf.decode("utf-8")
        lines = pl.select(pl.lit(text).str.split("\n").alias("__json")).to_series().explode()
        del text
    del buf
    # Each string op below copies the whole text column (a national crawl: 0.55 GB a copy, and the
    # allocator keeps the peak), so the CR strip and the blank-line filter run only when needed.
    frame = pl.DataFrame({"__json": lines}).with_row_index(LINE, offset=1).with_columns(pl.col(LINE).cast(pl.Int64))
    del lines
    if has_cr:
        frame = frame.with_columns(pl.col("__json").str.strip_chars_end("\r"))
    # blank = null or only whitespace (what str.strip_chars() strips: Unicode White_Space = regex \s)
    blank = pl.col("__json").is_null() | pl.col("__json").str.contains(r"^\s*$")
    if frame.select(blank.any()).item():
        frame = frame.filter(~blank)
    frame = frame.with_columns(pl.col(LINE).alias(REC))
    return Parsed(encoding=encoding, rows_in_file=frame.height, frame=frame)


def jsonl_contract_patch(feed: contract.Feed) -> str:
    """A JSON merge patch that deletes the contract keys: applied to a line it leaves the extras."""
    return json.dumps({c: None for c in feed.contract_names})


def stage_jsonl_sql(feed: contract.Feed, source: str) -> str:
    """SELECT over ``{source}`` (columns __line, __rec, __json) giving the CSV staging shape plus
    ``__bad`` for lines that are not JSON objects. Parameter ``$patch``: ``jsonl_contract_patch``."""
    # Invalid lines become NULL before any JSON function sees them (DuckDB evaluates CASE branches
    # eagerly, so guarding inside the CASE is not enough).
    # One json_extract_string with a list of paths parses each line once for all contract keys.
    paths = ", ".join(f"'$.\"{c}\"'" for c in feed.contract_names)
    cols = ",\n  ".join(f"__v[{i}] AS {c}" for i, c in enumerate(feed.contract_names, start=1))
    return f"""
SELECT {LINE}, {REC}, __json,
  {cols},
  {EXTRAS},
  CASE WHEN __obj IS NULL THEN 'line is not a JSON object' END AS __bad
FROM (
  SELECT {LINE}, {REC}, __json, __obj, json_extract_string(__obj, [{paths}]) AS __v,
    NULLIF(json_merge_patch(__obj, $patch), '{{}}') AS {EXTRAS}
  FROM (
    SELECT *, CASE WHEN coalesce(json_valid(__json), false) THEN __json END AS __valid
    FROM {source}
  ) v, LATERAL (SELECT CASE WHEN json_type(v.__valid) = 'OBJECT' THEN v.__valid END AS __obj)
)
"""


def jsonl_keys_sql(source: str) -> str:
    """Distinct top-level keys over the valid JSON object lines of ``{source}``."""
    return (f"SELECT DISTINCT unnest(json_keys(__obj)) AS k FROM (SELECT CASE WHEN json_type(__valid) = 'OBJECT' "
            f"THEN __valid END AS __obj FROM (SELECT CASE WHEN coalesce(json_valid(__json), false) THEN __json END "
            f"AS __valid FROM {source})) WHERE __obj IS NOT NULL")


# ---- typing (DuckDB) ----------------------------------------------------------------------------------

_TYPE_WORDS = {"int": "an integer", "fen": "integer fen", "yuan": "a decimal yuan amount",
               "timestamp": "a timestamp (YYYY-MM-DD HH:MM:SS)", "date": "a date (YYYY-MM-DD)",
               "bool": "a boolean", "hhmm": "a time HH:MM"}


def _typed_expr(col: str, typ: str, v: str | None = None) -> str:
    """Cast expression of one contract column; ``v`` names its trimmed, empty-as-NULL string when a
    previous stage computed it (else it is spelled inline)."""
    v = v or f"NULLIF(trim({col}), '')"
    if typ == "text":
        return f"NULLIF({col}, '')"
    if typ in ("int", "fen"):
        # DuckDB's cast also takes '7.5', '1e2', '0x10', '1_000': only [+-]?[0-9]+ is an integer here.
        # A value the cast prints back unchanged is one (the common case, ~3x cheaper than the regex).
        n = f"TRY_CAST({v} AS {'INTEGER' if typ == 'int' else 'BIGINT'})"
        return f"CASE WHEN CAST({n} AS VARCHAR) = {v} OR regexp_full_match({v}, '[+-]?[0-9]+') THEN {n} END"
    if typ == "yuan":
        # Exact decimal to fen, never through a float; a third decimal is not a fen amount: quarantined.
        # A value DECIMAL(16,2) prints back unchanged ('39.90') has the shape, as for ints. 16 digits: the
        # product by 100 must stay within DECIMAL(18) (from 10^14 yuan on, DuckDB would raise an overflow).
        d = f"TRY_CAST({v} AS DECIMAL(16,2))"
        return (f"CASE WHEN CAST({d} AS VARCHAR) = {v} OR regexp_full_match({v}, '[+-]?[0-9]+(\\.[0-9]{{1,2}})?') "
                f"THEN CAST({d} * 100 AS BIGINT) END")
    if typ == "timestamp":
        # Exactly YYYY-MM-DD HH:MM:SS or YYYY-MM-DDTHH:MM:SS: the shape (19 characters, '-' 5th,
        # ' ' or 'T' 11th, ':' 17th) is checked with LIKE, then DuckDB's cast validates the values
        # (LIKE is ~1.6x cheaper than the same test spelled with length and substr, measured).
        return (f"CASE WHEN {v} LIKE '____-_____ _____:__' OR {v} LIKE '____-_____T_____:__' "
                f"THEN TRY_CAST({v} AS TIMESTAMP) END")
    if typ == "date":
        return f"CASE WHEN {v} LIKE '____-_____' THEN TRY_CAST({v} AS DATE) END"
    if typ == "bool":
        return f"TRY_CAST({v} AS BOOLEAN)"
    if typ == "hhmm":
        # HH:MM that TIME prints back as HH:MM:00 (hours below 24) is one; else the regex decides.
        canonical = (f"strlen({v}) = 5 AND {v} < '24:00' "
                     f"AND CAST(TRY_CAST({v} AS TIME) AS VARCHAR) = {v} || ':00'")
        return (f"CASE WHEN ({canonical}) OR regexp_full_match({v}, '([01]?[0-9]|2[0-3]):[0-5][0-9]') "
                f"THEN lpad({v}, 5, '0') END")
    raise ValueError(f"unknown logical type {typ}")


def _trimmed(col: str) -> str:
    """``NULLIF(trim(col), '')`` without calling trim on values it leaves alone: DuckDB's trim strips
    spaces only (ASCII ' ' and Unicode spaces), so an ASCII value that neither starts nor ends with
    ' ' is already trimmed. trim is ~9x the cost of these byte tests, on every typed value."""
    return (f"CASE WHEN starts_with({col}, ' ') OR ends_with({col}, ' ') OR strlen({col}) <> length({col}) "
            f"THEN NULLIF(trim({col}), '') ELSE NULLIF({col}, '') END")


# The cast each logical type's canonical shortcut (``_canonical``) tries on the raw value.
_CANONICAL_CAST = {"int": "INTEGER", "fen": "BIGINT", "yuan": "DECIMAL(16,2)", "timestamp": "TIMESTAMP",
                   "date": "DATE", "hhmm": "TIME"}
# The printed length of a timestamp or date with a four-digit year (the contract's shape): DuckDB also
# prints fractions of a second, years past 9999 and BC dates, which the contract's shape refuses.
_CANONICAL_LENGTH = {"timestamp": 19, "date": 10}


def _canonical(col: str, typ: str, cast: str) -> str:
    """The typed value of ``col`` when its raw string is exactly what DuckDB prints for ``cast`` (the
    stage before computed ``cast`` = TRY_CAST of the raw string), else ``_typed_expr`` on the trimmed
    string. Nearly every delivered value is canonical, and then the trim test, the shape test and the
    regex are skipped: a canonical string has no space to trim and the contract's shape (checked by
    ``test_typing``'s comparison with ``_typed_expr`` on hostile values), so both branches agree."""
    slow = _typed_expr(col, typ, _trimmed(col))
    if typ == "bool":
        return f"CASE WHEN {col} = 'true' THEN true WHEN {col} = 'false' THEN false ELSE {slow} END"
    if typ == "hhmm":
        fast, value = f"strlen({col}) = 5 AND {col} < '24:00' AND CAST({cast} AS VARCHAR) = {col} || ':00'", col
    else:
        fast = f"CAST({cast} AS VARCHAR) = {col}"
        if typ in _CANONICAL_LENGTH:
            fast = f"strlen({col}) = {_CANONICAL_LENGTH[typ]} AND {fast}"
        value = f"CAST({cast} * 100 AS BIGINT)" if typ == "yuan" else cast
    return f"CASE WHEN {fast} THEN {value} ELSE {slow} END"


def typed_select_sql(feed: contract.Feed, source: str, extra_reason: str | None = None) -> str:
    """SELECT over the staged string columns of ``{source}`` giving the raw table's contract columns
    typed, ``__line``, ``__rec``, ``extras`` and ``__reason`` (NULL when the row is good; else every
    column that failed, with the offending value). ``extra_reason`` names a staged column with an
    earlier reason (JSONL: not an object).

    Three stages, so each cast runs once per value: the innermost casts the raw strings, the middle one
    keeps a cast whose string is canonical and types the rest the careful way (``_canonical``), the
    outer one tells a failed cast (a non-empty trimmed string whose typed value is NULL) and builds the
    reason text. The trim and the reason are computed inside CASE conditions, which DuckDB evaluates
    only for the rows still undecided (and its common-subexpression pass leaves alone): rows whose
    values all cast never pay for them."""
    cast, typed, outer, errs, texts = [], [], [], [], []
    keep = [LINE, REC, EXTRAS]
    for col, typ in feed.columns:
        raw = f"__r_{col}"
        if typ == "text":
            typed.append(f"NULLIF({raw}, '') AS __t_{col}")
        else:
            if typ in _CANONICAL_CAST:
                cast.append(f"TRY_CAST({col} AS {_CANONICAL_CAST[typ]}) AS __c_{col}")
            typed.append(f"{_canonical(raw, typ, f'__c_{col}')} AS __t_{col}")
            failed = f"(__t_{col} IS NULL AND {_trimmed(raw)} IS NOT NULL)"
            errs.append(failed)
            texts.append(f"CASE WHEN {failed} THEN 'column {col}: cannot parse ' || to_json({_trimmed(raw)}) "
                         f"|| ' as {_TYPE_WORDS[typ]}' END")
        cast.append(f"{col} AS {raw}")
        typed.append(raw)
        outer.append(f"__t_{col} AS {feed.raw_column(col)}")
    # Key columns (contract ``required`` / ``codes``): a row that cannot be matched is quarantined here
    # rather than failing the table's blocking check and holding back every other row.
    typ_of = dict(feed.columns)
    # A line that is no JSON object has no columns at all: its one reason says so.
    guard = "__pre_reason IS NULL AND " if extra_reason else ""
    for col in feed.required:
        # A typed value that failed to cast already has its reason; this one is for an empty value
        # (its typed value is NULL too, so that cheap test goes first).
        empty = (f"__t_{col} IS NULL" if typ_of[col] == "text"
                 else f"__t_{col} IS NULL AND {_trimmed(f'__r_{col}')} IS NULL")
        missing = guard + empty
        errs.append(f"({missing})")
        texts.append(f"CASE WHEN {missing} THEN 'column {col}: empty, but rows are matched on it' END")
    for col, n in feed.codes:
        bad = f"({guard}__t_{col} IS NOT NULL AND NOT (length(__t_{col}) = {n} AND regexp_full_match(__t_{col}, '[0-9]+')))"
        errs.append(bad)
        texts.append(f"CASE WHEN {bad} THEN 'column {col}: ' || to_json(__t_{col}) "
                     f"|| ' is not a national code of {n} digits' END")
    if any(name == "start_ts" for name, _ in feed.derived):
        # Competitor shows: business date + HH:MM; a start before 06:00 is on the next calendar day.
        # __t_start_time is HH:MM with two-digit hours (hhmm pads them), so it compares as text.
        outer.append("__t_show_date + CAST(__t_start_time AS TIME) "
                     "+ CASE WHEN __t_start_time < '06:00' THEN INTERVAL 1 DAY ELSE INTERVAL 0 DAY END AS start_ts")
    if extra_reason:
        cast.append(f"{extra_reason} AS __pre_reason")
        typed.append("__pre_reason")
        errs.insert(0, "__pre_reason IS NOT NULL")
        texts.insert(0, "__pre_reason")
    reason_sql = (f"CASE WHEN {' OR '.join(errs)} THEN NULLIF(concat_ws('; ', {', '.join(texts)}), '') END"
                  if errs else "NULL::VARCHAR")
    return (f"SELECT {', '.join(outer)}, {', '.join(keep)}, {reason_sql} AS {REASON} "
            f"FROM (SELECT {', '.join(typed + keep)} "
            f"FROM (SELECT {', '.join(cast + keep)} FROM {source}))")


def uncastable_columns_sql(feed: contract.Feed, source: str) -> str | None:
    """Per typed contract column: non-empty values and how many of them failed to cast. A column
    where every non-empty value fails has changed type (schema drift), not just a few bad rows."""
    parts = []
    for col, typ in feed.columns:
        if typ == "text":
            continue
        expr = _typed_expr(col, typ)
        parts.append(
            f"SELECT '{col}' AS col, count(NULLIF(trim({col}), '')) AS n, "
            f"count(*) FILTER (WHERE NULLIF(trim({col}), '') IS NOT NULL AND ({expr}) IS NULL) AS failed, "
            f"any_value({col}) FILTER (WHERE NULLIF(trim({col}), '') IS NOT NULL AND ({expr}) IS NULL) AS sample "
            f"FROM {source}"
        )
    return " UNION ALL ".join(parts) if parts else None
