"""Cut a file whose every line is one record into contiguous parts at line ends, so DuckDB reads the
parts side by side. The fast path numbers DuckDB's records by position (a positional join), which runs
on one core per file read; a file read as k parts runs on k cores, each part numbered from the line
it starts on. The parts are byte ranges of the file copied in the kernel (``copy_file_range``), and
their line numbers come from the scan's block marks, so no byte is read twice here.

The parts live in a temp directory named after the process (``parts_dir``), removed when the file has
landed; a process killed while a file lands cannot remove its own, so the next landing removes those of
processes that are gone (``sweep_stale``): a national file's parts are as large as the file.
"""

from __future__ import annotations

import bisect
import codecs
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

NEWLINE = b"\n"
# Below this a part is not worth a reader of its own (a thread's start and the copy cost more than
# the parallel read saves).
MIN_PART_BYTES = 16 << 20
_PROBE = 1 << 16
TEMP_PREFIX = "ticket_dq_parts_"
_TEMP_NAME = re.compile(rf"{TEMP_PREFIX}(\d+)_")


@dataclass(frozen=True)
class Part:
    path: Path
    first_line: int  # 1-based line of the whole file its first byte starts
    lines: int  # physical lines in the part (an unterminated last line counts)
    has_header: bool  # the part holds the file's first line (a CSV's header)


def parts_dir() -> tempfile.TemporaryDirectory:
    """A temp directory for one file's parts (in ``$TMPDIR``), named after this process."""
    return tempfile.TemporaryDirectory(prefix=f"{TEMP_PREFIX}{os.getpid()}_")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a process of another user
        return True
    return True


def sweep_stale() -> list[Path]:
    """Remove the parts directories of processes that no longer run (killed while a file landed);
    returns them. A directory of a live process, this one included, stays."""
    removed = []
    for entry in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*"):
        m = _TEMP_NAME.match(entry.name)
        if m and entry.is_dir() and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def part_count(size: int, threads: int) -> int:
    """How many parts a file of ``size`` bytes is read as with ``threads`` DuckDB threads."""
    return max(1, min(threads, size // MIN_PART_BYTES))


def _cuts(size: int, parts: int, line_start_from) -> list[int]:
    """Offsets where each part starts: the first line start at or after each equal share of the bytes
    (``line_start_from(target)``; None when no line starts there). Ends with ``size``."""
    offsets = [0]
    for i in range(1, parts):
        cut = line_start_from(max(size * i // parts, offsets[-1] + 1))
        if cut is None or cut >= size:
            break
        offsets.append(cut)
    return offsets + [size]


def _parts(lines_before: list[int], total_lines: int, paths: list[Path]) -> list[Part]:
    """Parts from the newlines before each one's first byte and the file's physical lines."""
    ends = lines_before[1:] + [total_lines]
    return [Part(path=p, first_line=a + 1, lines=b - a, has_header=i == 0)
            for i, (p, a, b) in enumerate(zip(paths, lines_before, ends))]


def cut_file(path: Path, size: int, block_marks: list[tuple[int, int]], total_lines: int, parts: int,
             out_dir: Path) -> list[Part]:
    """The file at ``path`` as up to ``parts`` files in ``out_dir``. ``block_marks`` are the scan's
    (offset, newlines before it) pairs, ``total_lines`` its physical lines."""
    offsets, paths = _copy_parts(path, size, parts, out_dir)
    return _number(path, offsets, paths, block_marks, total_lines)


def _copy_parts(path: Path, size: int, parts: int, out_dir: Path) -> tuple[list[int], list[Path]]:
    """Copy the file's ranges between line starts into ``out_dir``: the ranges' offsets (ending with
    ``size``) and the files. Needs nothing from the scan, so it can run beside it (``EarlyCut``)."""
    with open(path, "rb", buffering=0) as src:
        def line_start_from(target: int) -> int | None:
            pos = target - 1  # a line starts at target when the byte before it is a newline
            while True:
                chunk = os.pread(src.fileno(), _PROBE, pos)
                if not chunk:
                    return None
                hit = chunk.find(NEWLINE)
                if hit >= 0:
                    return pos + hit + 1
                pos += len(chunk)

        offsets = _cuts(size, parts, line_start_from)
        paths = [out_dir / f"part{i}{path.suffix}" for i in range(len(offsets) - 1)]
        for p, start, end in zip(paths, offsets, offsets[1:]):
            _copy_range(src.fileno(), p, start, end)
    return offsets, paths


def _number(path: Path, offsets: list[int], paths: list[Path], block_marks: list[tuple[int, int]],
            total_lines: int) -> list[Part]:
    """The copied parts with their line numbers, from the scan's block marks (at most a block read per cut)."""
    marks = [m[0] for m in block_marks]
    with open(path, "rb", buffering=0) as src:
        def newlines_before(offset: int) -> int:
            at, count = block_marks[bisect.bisect_right(marks, offset) - 1]
            return count + os.pread(src.fileno(), offset - at, at).count(NEWLINE)

        return _parts([newlines_before(o) for o in offsets[:-1]], total_lines, paths)


class EarlyCut:
    """A large file's parts copied in a thread of their own, started before the file is scanned so the
    copy runs beside the scan instead of after it. Speculative: the fast path takes the parts when it
    reads the file in as many parts (``parts``), and the directory is removed either way (``close``
    waits for the copy first)."""

    def __init__(self, path: Path, size: int, parts: int):
        self.path, self.size, self.parts = path, size, parts
        self._dir = parts_dir()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="file_parts")
        self._copied = self._pool.submit(_copy_parts, path, size, parts, Path(self._dir.name))

    def numbered(self, block_marks: list[tuple[int, int]], total_lines: int) -> list[Part] | None:
        """The parts, numbered from the scan; None when the copy failed (the caller cuts the file itself
        and meets the error there)."""
        try:
            offsets, paths = self._copied.result()
        except OSError:
            return None
        return _number(self.path, offsets, paths, block_marks, total_lines)

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self._dir.cleanup()

    def __enter__(self) -> EarlyCut:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def starts_as_utf8(path: Path) -> bool:
    """Whether the file's first block decodes as UTF-8: a GB18030 file is read as its UTF-8 text, cut
    from memory, so copying its bytes early would be wasted."""
    with open(path, "rb", buffering=0) as fh:
        head = fh.read(_PROBE)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)  # a character cut at the end is fine
    except UnicodeDecodeError:
        return False
    return True


def cut_bytes(buf: bytes, parts: int, out_dir: Path, suffix: str) -> list[Part]:
    """``buf`` (a file's bytes held in memory) written as up to ``parts`` files in ``out_dir``."""
    size = len(buf)

    def line_start_from(target: int) -> int | None:
        hit = buf.find(NEWLINE, target - 1)
        return None if hit < 0 else hit + 1

    offsets = _cuts(size, parts, line_start_from)
    # each range's newlines counted once: the lines before a part are the sum over the parts before it
    counts = [buf.count(NEWLINE, a, b) for a, b in zip(offsets, offsets[1:])]
    lines_before = [sum(counts[:i]) for i in range(len(counts))]
    total = sum(counts) + (1 if buf and not buf.endswith(NEWLINE) else 0)
    paths = [out_dir / f"part{i}{suffix}" for i in range(len(offsets) - 1)]
    view = memoryview(buf)
    for p, start, end in zip(paths, offsets, offsets[1:]):
        p.write_bytes(view[start:end])
    return _parts(lines_before, total, paths)


def _copy_range(src_fd: int, dest: Path, start: int, end: int) -> None:
    with open(dest, "wb", buffering=0) as out:
        pos = start
        try:
            while pos < end:
                n = os.copy_file_range(src_fd, out.fileno(), end - pos, pos)
                if n == 0:
                    raise OSError("copy_file_range copied nothing before the end of the range")
                pos += n
        except OSError:
            # a file system (or kernel) without it: copy through user space from where it stopped
            out.truncate(pos - start)
            out.seek(pos - start)
            while pos < end:
                chunk = os.pread(src_fd, min(8 << 20, end - pos), pos)
                if not chunk:
                    raise OSError(f"{dest.name}: the file ended at byte {pos}, before the part's end at {end}") from None
                out.write(chunk)
                pos += len(chunk)
