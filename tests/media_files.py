"""Small files of each kind WhatsApp sends, built byte by byte (no image libraries), for the
media tests: each starts with the signature a real file of its kind has."""

import io
import struct
import zipfile
import zlib


def png(width=4, height=3, rgb=(200, 30, 30)):
    """A real, decodable PNG: browsers draw it (naturalWidth == width)."""

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64
THREE_GP = b"\x00\x00\x00\x14ftyp3gp4\x00\x00\x00\x003gp4" + b"\x00" * 64
M4A = b"\x00\x00\x00\x1cftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 64
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + b"\x00" * 64
MP3_NO_TAG = b"\xff\xfb\x90\x64" + b"\x00" * 64
AAC = b"\xff\xf1\x50\x80\x02\x1f\xfc" + b"\x00" * 64
AMR = b"#!AMR\n" + b"\x3c" + b"\x00" * 64
OGG_OPUS = b"OggS\x00\x02" + b"\x00" * 22 + b"OpusHead\x01\x01" + b"\x00" * 64
OGG_VORBIS = b"OggS\x00\x02" + b"\x00" * 22 + b"\x01vorbis" + b"\x00" * 64
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504
TEXT = "موعدنا غدًا الساعة العاشرة.\nSee you tomorrow at ten.\n".encode()
HTML = b"<!doctype html><html><body><script>alert(1)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 32


def webp(*, animated=False, size=64):
    """A WebP header: extended (VP8X) with the animation flag, or a plain lossy one."""
    if animated:
        body = b"WEBPVP8X" + struct.pack("<I", 10) + b"\x02" + b"\x00" * 9
    else:
        body = b"WEBPVP8 " + struct.pack("<I", 10) + b"\x00" * 10
    body += b"\x00" * max(0, size - 8 - len(body))
    return b"RIFF" + struct.pack("<I", len(body)) + body


def office(kind):
    """A minimal Office Open XML file: "docx", "xlsx" or "pptx"."""
    main_part = {
        "docx": "word/document.xml",
        "xlsx": "xl/workbook.xml",
        "pptx": "ppt/presentation.xml",
    }[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(main_part, "<document/>")
    return buffer.getvalue()


def plain_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not an office file")
    return buffer.getvalue()


def padded(head, size):
    """`head` followed by zero bytes up to `size` bytes."""
    return head + b"\x00" * (size - len(head))
