"""A game package: what central publishes and a kiosk installs (DESIGN §6), as pure data.

A package is one canonical JSON document::

    {"format": "cafesuite-game-package/1", "manifest": {…}, "definition": {…}, "files": {name: base64}}

Its bytes are deterministic (canonical JSON), so the same game and files always make the
same package, and the package is addressed by the SHA-256 of those bytes. Central signs
``package_message(sha256)`` with its Ed25519 key; a kiosk installs a package only when the
bytes hash to the address, the signature verifies with the key it got at enrollment, and
the manifest is exactly what the definition and files imply (``parse_package``
recomputes it, RTP included), so a manifest cannot advertise a return the math does not pay.
"""

from __future__ import annotations

import base64
import binascii
import colorsys
import io
import math
import struct
import wave
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from xml.sax.saxutils import escape

from shared.canonical import canonical_json, parse_json, sha256_hex
from shared.errors import IntegrityError, ValidationError
from shared.games import _checks as check
from shared.games.builtin import catalog_entry
from shared.games.definition import GameDefinition, parse_definition
from shared.signing import verify

FORMAT = "cafesuite-game-package/1"
MAX_PACKAGE_BYTES = 8 * 1024 * 1024
MAX_FILES = 64
THUMBNAIL = "thumbnail.svg"
WIN_SOUND = "sounds/win.wav"
MEDIA_TYPES: Mapping[str, str] = MappingProxyType({
    "svg": "image/svg+xml", "png": "image/png", "jpg": "image/jpeg", "webp": "image/webp",
    "wav": "audio/wav", "ogg": "audio/ogg", "json": "application/json", "ttf": "font/ttf",
})
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_./")


class PackageRefused(IntegrityError):
    """A package whose bytes, signature or contents cannot be trusted; it is never installed."""

    code = "package_refused"


@dataclass(frozen=True)
class GamePackage:
    """A verified package: its address, manifest, validated definition and files."""

    sha256: str
    manifest: Mapping[str, Any]
    definition: GameDefinition
    files: Mapping[str, bytes]


def package_message(sha256: str) -> bytes:
    """The exact bytes central signs for a package (canonical JSON, so every side agrees)."""
    return canonical_json({"purpose": "cafesuite-game-package", "sha256": sha256})


def check_file_name(name: object) -> str:
    """A relative, lower-case path inside the package with a known media type."""
    if (not isinstance(name, str) or not name or len(name) > 200 or not set(name) <= _NAME_CHARS
            or ".." in name or name.startswith("/") or name.endswith("/") or "//" in name):
        raise ValidationError(f"package file {name!r} must be a relative lower-case path (a-z 0-9 - _ . /)")
    extension = name.rpartition(".")[2]
    if extension not in MEDIA_TYPES:
        raise ValidationError(f"package file {name!r}: use one of {', '.join(sorted(MEDIA_TYPES))}")
    return name


def make_manifest(definition: GameDefinition, files: Mapping[str, bytes]) -> dict[str, Any]:
    """What the catalog and the lobby show, computed (never typed in): identity, exact RTP, files."""
    manifest = catalog_entry(definition)
    manifest["files"] = {
        name: {"sha256": sha256_hex(data), "size": len(data), "media_type": MEDIA_TYPES[name.rpartition(".")[2]]}
        for name, data in sorted(files.items())
    }
    manifest["thumbnail"] = THUMBNAIL if THUMBNAIL in files else next((n for n in sorted(files) if n.startswith("thumbnail.")), None)
    manifest["sounds"] = {"win": WIN_SOUND} if WIN_SOUND in files else {}
    return manifest


def build_package(definition: GameDefinition, files: Mapping[str, bytes] | None = None) -> tuple[bytes, str]:
    """The package bytes and their SHA-256; a thumbnail and a win chime are generated unless given."""
    contents = dict(files or {})
    for name in contents:
        check_file_name(name)
    if not any(name.startswith("thumbnail.") for name in contents):
        contents[THUMBNAIL] = thumbnail_svg(definition)
    contents.setdefault(WIN_SOUND, win_chime_wav())
    if len(contents) > MAX_FILES:
        raise ValidationError(f"a package holds at most {MAX_FILES} files, got {len(contents)}")
    document = {
        "format": FORMAT,
        "manifest": make_manifest(definition, contents),
        "definition": definition.to_json(),
        "files": {name: base64.b64encode(data).decode("ascii") for name, data in sorted(contents.items())},
    }
    raw = canonical_json(document)
    if len(raw) > MAX_PACKAGE_BYTES:
        raise ValidationError(f"the package is {len(raw)} bytes; at most {MAX_PACKAGE_BYTES} are allowed")
    return raw, sha256_hex(raw)


def parse_package(raw: bytes, sha256: str) -> GamePackage:
    """Check a package's bytes against its address and its manifest against its contents.

    The signature is checked separately (``signature_valid``): it needs central's key.
    """
    if len(raw) > MAX_PACKAGE_BYTES:
        raise PackageRefused(f"package {sha256[:12]} is larger than {MAX_PACKAGE_BYTES} bytes")
    if sha256_hex(raw) != sha256:
        raise PackageRefused(f"package {sha256[:12]}: the bytes do not hash to the package's address")
    try:
        data = check.obj(parse_json(raw), "game package", {"format", "manifest", "definition", "files"})
        if data["format"] != FORMAT:
            raise ValidationError(f"unknown package format {data['format']!r}")
        definition = parse_definition(data["definition"])
        if not isinstance(data["files"], dict) or len(data["files"]) > MAX_FILES:
            raise ValidationError(f"files must map at most {MAX_FILES} names to base64 content")
        files = {check_file_name(name): _b64(content, name) for name, content in data["files"].items()}
    except ValidationError as exc:
        raise PackageRefused(f"package {sha256[:12]} is malformed: {exc.message}") from exc
    if data["manifest"] != make_manifest(definition, files):
        raise PackageRefused(f"package {sha256[:12]}: the manifest does not match the game's math and files")
    return GamePackage(sha256, MappingProxyType(data["manifest"]), definition, MappingProxyType(files))


def signature_valid(public_key: bytes, sha256: str, signature_b64: str) -> bool:
    return verify(public_key, package_message(sha256), signature_b64)


def _b64(content: object, name: str) -> bytes:
    if not isinstance(content, str):
        raise ValidationError(f"file {name!r} must be base64 text")
    try:
        return base64.b64decode(content.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValidationError(f"file {name!r} is not valid base64") from exc


# --- generated assets: every game has a lobby thumbnail and a win sound ------------------

_ENGINE_LABELS = {"reels": "SLOTS", "keno": "KENO", "pool": "INSTANT WIN"}


def _colour(hue: float, lightness: float, saturation: float = 0.75) -> str:
    r, g, b = colorsys.hls_to_rgb(hue % 1.0, lightness, saturation)
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


def _motif(engine: str, accent: str) -> str:
    """A small picture of how the game plays, drawn in the thumbnail's right half."""
    if engine == "reels":
        boxes = "".join(
            f'<rect x="{194 + i * 38}" y="58" width="32" height="84" rx="8" fill="#ffffff" fill-opacity="0.92"/>'
            f'<text x="{210 + i * 38}" y="112" font-size="30" text-anchor="middle" fill="{accent}" font-weight="700">7</text>'
            for i in range(3)
        )
        return boxes
    if engine == "keno":
        return "".join(
            f'<circle cx="{206 + (i % 5) * 21}" cy="{66 + (i // 5) * 21}" r="9" fill="{"#ffffff" if i % 3 else accent}" '
            f'stroke="#ffffff" stroke-width="2"/>'
            for i in range(20)
        )
    cells = "".join(
        f'<rect x="{196 + (i % 3) * 32}" y="{52 + (i // 3) * 32}" width="26" height="26" rx="5" '
        f'fill="{"#f7d774" if i in (0, 4, 8) else "#c8ccd4"}"/>'
        for i in range(9)
    )
    return f'<rect x="186" y="42" width="116" height="116" rx="12" fill="#ffffff" fill-opacity="0.9"/>{cells}'


def _wrap(text: str, *, width: int, max_lines: int) -> list[str]:
    """Words into lines of about ``width`` characters; what does not fit ends in an ellipsis."""
    lines = [""]
    for word in text.split():
        if lines[-1] and len(lines[-1]) + 1 + len(word) > width:
            lines.append("")
        lines[-1] = f"{lines[-1]} {word}".strip()
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] += "…"
    return [line if len(line) <= width + 1 else line[:width] + "…" for line in lines]


def thumbnail_svg(definition: GameDefinition) -> bytes:
    """A 320×200 lobby tile: title, kind of game and a motif, coloured from the game's id."""
    hue = int(sha256_hex(definition.id.encode("utf-8"))[:4], 16) / 65536
    dark, light, accent = _colour(hue, 0.22), _colour(hue + 0.06, 0.48), _colour(hue + 0.5, 0.5, 0.85)
    lines = _wrap(definition.title, width=9, max_lines=3)
    title = "".join(
        f'<text x="20" y="{62 + i * 30}" font-size="25" font-weight="800" fill="#ffffff">{escape(line)}</text>'
        for i, line in enumerate(lines)
    )
    label = escape(_ENGINE_LABELS.get(definition.engine, definition.engine.upper()))
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200" '
        'font-family="DejaVu Sans, Arial, sans-serif">'
        f'<defs><linearGradient id="bg" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="{light}"/>'
        f'<stop offset="1" stop-color="{dark}"/></linearGradient></defs>'
        '<rect width="320" height="200" rx="18" fill="url(#bg)"/>'
        f'<circle cx="262" cy="30" r="70" fill="#ffffff" fill-opacity="0.08"/>{_motif(definition.engine, accent)}{title}'
        f'<rect x="20" y="160" width="{len(label) * 9 + 20}" height="24" rx="12" fill="{accent}"/>'
        f'<text x="30" y="177" font-size="13" font-weight="700" fill="#ffffff" letter-spacing="1">{label}</text>'
        "</svg>"
    )
    return svg.encode("utf-8")


def win_chime_wav(rate_hz: int = 22050) -> bytes:
    """A short rising three-note chime (16-bit mono PCM); the same bytes every time."""
    notes_hz, note_s = (523.25, 659.25, 783.99), 0.12
    frames = bytearray()
    for n, freq in enumerate(notes_hz):
        length = int(rate_hz * (note_s if n < len(notes_hz) - 1 else note_s * 2))
        for i in range(length):
            t = i / rate_hz
            level = math.exp(-t * 9) * 0.45 * (math.sin(2 * math.pi * freq * t) + 0.3 * math.sin(4 * math.pi * freq * t))
            frames += struct.pack("<h", max(-32767, min(32767, round(level * 32767))))
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate_hz)
        wav.writeframes(bytes(frames))
    return out.getvalue()
