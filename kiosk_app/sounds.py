"""Sound effects: small WAV files synthesised at first run into the data folder (no binary
files in git), played with QSoundEffect, and silent when the machine has no audio output."""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

RATE = 22050
SOUND_VERSION = "1"  # bump to regenerate after changing a tone

# name -> list of (frequency Hz, duration s, volume 0..1); 0 Hz is a rest
TONES: dict[str, list[tuple[float, float, float]]] = {
    "click": [(1400, 0.025, 0.35)],
    "spin": [(220 + 40 * (i % 4), 0.035, 0.22) for i in range(14)],
    "stop": [(160, 0.05, 0.45)],
    "ball": [(880, 0.03, 0.3), (1320, 0.04, 0.25)],
    "scratch": [(0, 0.004, 0.0)] + [(300 + 700 * ((i * 7) % 5) / 5, 0.012, 0.18) for i in range(18)],
    "win": [(523, 0.09, 0.4), (659, 0.09, 0.4), (784, 0.09, 0.4), (1047, 0.25, 0.45)],
    "bigwin": [(523, 0.08, 0.45), (659, 0.08, 0.45), (784, 0.08, 0.45), (1047, 0.08, 0.45),
               (784, 0.08, 0.45), (1047, 0.08, 0.45), (1319, 0.35, 0.5)],
    "cashout": [(988, 0.08, 0.4), (1319, 0.22, 0.4)],
}


def _samples(tones: list[tuple[float, float, float]]) -> bytes:
    frames = bytearray()
    for freq, duration, volume in tones:
        count = int(RATE * duration)
        for i in range(count):
            envelope = min(1.0, i / (RATE * 0.004), (count - i) / (RATE * 0.01))  # no clicks at the edges
            value = math.sin(2 * math.pi * freq * i / RATE) if freq else 0.0
            frames += struct.pack("<h", int(32767 * volume * envelope * value))
    return bytes(frames)


def ensure_sounds(folder: Path) -> dict[str, Path]:
    """Write every effect once (again if the tones changed); returns name -> file."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / "VERSION"
    fresh = marker.is_file() and marker.read_text() == SOUND_VERSION
    paths = {}
    for name, tones in TONES.items():
        path = folder / f"{name}.wav"
        if not (fresh and path.is_file()):
            with wave.open(str(path), "wb") as out:
                out.setnchannels(1)
                out.setsampwidth(2)
                out.setframerate(RATE)
                out.writeframes(_samples(tones))
        paths[name] = path
    marker.write_text(SOUND_VERSION)
    return paths


class Sounds:
    """Plays the effects; every call is a no-op when muted or without an audio device."""

    def __init__(self, folder: Path, *, enabled: bool = True):
        self.paths = ensure_sounds(folder)
        self.effects: dict[str, object] = {}
        self.muted = not enabled or not self._has_output()
        if self.muted:
            return
        from PySide6.QtCore import QUrl
        from PySide6.QtMultimedia import QSoundEffect

        for name, path in self.paths.items():
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(path)))
            effect.setVolume(0.6)
            self.effects[name] = effect

    @staticmethod
    def _has_output() -> bool:
        try:
            from PySide6.QtMultimedia import QMediaDevices
        except ImportError:
            return False
        return bool(QMediaDevices.audioOutputs())

    def play(self, name: str) -> None:
        effect = self.effects.get(name)
        if effect is not None and not self.muted:
            effect.play()  # type: ignore[attr-defined]
