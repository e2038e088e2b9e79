"""Cutting a line-per-record file into parts: the parts put back together are the file, each starts on
a line start, and its first line number and line count are the file's own, whether the file is cut
on disk (from the scan's block marks) or from bytes in memory."""

from __future__ import annotations

import pytest

from ticket_dq import settings
from ticket_dq.lib import decode, file_parts


def _file(tmp_path, body: bytes):
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    return path, decode.scan_file(path)


def _expected(body: bytes, parts) -> None:
    assert b"".join(p.path.read_bytes() for p in parts) == body
    start = 0
    for i, p in enumerate(parts):
        assert p.has_header == (i == 0)
        assert p.first_line == body.count(b"\n", 0, start) + 1
        assert start == 0 or body[start - 1:start] == b"\n"
        start += p.path.stat().st_size
    assert sum(p.lines for p in parts) == body.count(b"\n") + (0 if body.endswith(b"\n") else 1)


LINES = [f"{i},{'x' * (i * 7919 % 300)}".encode() for i in range(5000)]


@pytest.mark.parametrize("final_newline", [True, False])
@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_a_file_cut_on_disk_and_in_memory_gives_the_same_parts(tmp_path, monkeypatch, k, final_newline):
    monkeypatch.setattr(decode, "_SCAN_CHUNK", 4096)  # many blocks: the line counts start from the marks
    body = b"\n".join(LINES) + (b"\n" if final_newline else b"")
    path, scan = _file(tmp_path, body)
    (tmp_path / "disk").mkdir()
    (tmp_path / "mem").mkdir()

    on_disk = file_parts.cut_file(path, scan.size, scan.block_marks, scan.physical_lines, k, tmp_path / "disk")
    in_memory = file_parts.cut_bytes(body, k, tmp_path / "mem", ".csv")

    assert len(on_disk) == k
    _expected(body, on_disk)
    assert [(p.first_line, p.lines) for p in on_disk] == [(p.first_line, p.lines) for p in in_memory]
    assert [p.path.read_bytes() for p in on_disk] == [p.path.read_bytes() for p in in_memory]


def test_a_file_with_one_long_line_after_the_first_is_cut_where_lines_start(tmp_path):
    body = b"header\n" + b"y" * 100_000 + b"\nlast\n"
    path, scan = _file(tmp_path, body)

    parts = file_parts.cut_file(path, scan.size, scan.block_marks, scan.physical_lines, 4, tmp_path)

    _expected(body, parts)
    assert [(p.first_line, p.lines) for p in parts] == [(1, 2), (3, 1)]


def test_the_copy_falls_back_to_user_space_where_the_kernel_copy_fails(tmp_path, monkeypatch):
    body = b"\n".join(LINES) + b"\n"
    path, scan = _file(tmp_path, body)

    def unsupported(*a, **k):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(file_parts.os, "copy_file_range", unsupported)
    parts = file_parts.cut_file(path, scan.size, scan.block_marks, scan.physical_lines, 3, tmp_path)

    _expected(body, parts)


def test_small_files_are_read_whole_and_large_ones_by_as_many_readers_as_threads():
    assert file_parts.part_count(10 << 20, 2) == 1
    assert file_parts.part_count(20 << 20, 2) == 1
    assert file_parts.part_count(40 << 20, 2) == 2
    assert file_parts.part_count(300 << 20, 2) == 2
    assert file_parts.part_count(300 << 20, 16) == 16


@pytest.mark.parametrize("value", ["lots", "0", "-2", "1.5"])
def test_a_malformed_reader_count_is_refused_with_the_variable_named(monkeypatch, value):
    monkeypatch.setenv("TICKET_DQ_INGEST_READERS", value)
    with pytest.raises(ValueError, match="TICKET_DQ_INGEST_READERS"):
        settings.ingest_readers()


def test_the_reader_count_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv("TICKET_DQ_INGEST_READERS", raising=False)
    assert settings.ingest_readers() is None
    monkeypatch.setenv("TICKET_DQ_INGEST_READERS", "1")
    assert settings.ingest_readers() == 1


@pytest.mark.parametrize("k", [2, 3])
def test_parts_copied_beside_the_scan_are_the_parts_cut_after_it(tmp_path, monkeypatch, k):
    monkeypatch.setattr(decode, "_SCAN_CHUNK", 4096)
    body = b"\n".join(LINES) + b"\n"
    path = tmp_path / "f.csv"
    path.write_bytes(body)
    (tmp_path / "after").mkdir()

    with file_parts.EarlyCut(path, len(body), k) as early:
        scan = decode.scan_file(path)  # the copy runs while the file is scanned
        beside = early.numbered(scan.block_marks, scan.physical_lines)
        after = file_parts.cut_file(path, scan.size, scan.block_marks, scan.physical_lines, k, tmp_path / "after")
        _expected(body, beside)
        assert [(p.first_line, p.lines, p.path.read_bytes()) for p in beside] == \
            [(p.first_line, p.lines, p.path.read_bytes()) for p in after]
        folder = beside[0].path.parent
    assert not folder.exists()  # removed when the file is done, taken or not


def test_a_failed_early_copy_leaves_the_cut_to_after_the_scan(tmp_path, monkeypatch):
    path = tmp_path / "f.csv"
    path.write_bytes(b"\n".join(LINES) + b"\n")

    def no_space(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(file_parts, "_copy_range", no_space)
    with file_parts.EarlyCut(path, path.stat().st_size, 2) as early:
        scan = decode.scan_file(path)
        assert early.numbered(scan.block_marks, scan.physical_lines) is None


def test_only_a_file_that_starts_as_utf8_is_copied_early(tmp_path):
    utf8, gb = tmp_path / "u.csv", tmp_path / "g.csv"
    # the probe ends inside a character: a UTF-8 file all the same
    utf8.write_bytes(b"a" * (file_parts._PROBE - 1) + "万达影城（朝阳店）\n".encode("utf-8"))
    gb.write_bytes("万达影城（朝阳店）,1号激光厅\n".encode("gb18030") * 5000)
    assert file_parts.starts_as_utf8(utf8)
    assert not file_parts.starts_as_utf8(gb)
