"""The small corpora the studies measure on: real-sounding speech (Debian's espeak-ng) and instruments (scipy), and
Cameraman plus Kodak images, each deterministic.

python scripts/studies/corpora.py audio OUT_DIR      # writes 6 two-second 16 kHz WAVs
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

RATE = 16_000
SECONDS = 2.0
SPEECH = {  # voice, words: three voices, counting and a sentence (as the recording: a person counting)
    "speech-counting-m": ("en-us", "one, two, three, four, five, six"),
    "speech-sentence-f": ("en+f3", "The quick brown fox jumps over the lazy dog."),
    "speech-german-m": ("de", "Eins, zwei, drei, vier, fünf, sechs, sieben"),
}


def speech(voice: str, words: str) -> np.ndarray:
    """``words`` spoken by espeak-ng's ``voice``, at 16 kHz, the first two seconds (peak 0.9)."""
    if shutil.which("espeak-ng") is None:
        raise SystemExit("the speech clips need Debian's espeak-ng: apt-get install espeak-ng")
    from scipy import signal

    with tempfile.TemporaryDirectory() as folder:
        wav = Path(folder) / "speech.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "190", "-w", str(wav), words], check=True)
        samples, rate = soundfile.read(str(wav), dtype="float64")
    samples = signal.resample_poly(samples, RATE, rate)
    samples = np.trim_zeros(np.where(np.abs(samples) < 1e-3, 0, samples), "f")  # start at the first sound
    return peak(fit_length(samples))


def plucked_melody(seed: int = 0) -> np.ndarray:
    """A Karplus-Strong plucked string playing eight notes of a pentatonic scale."""
    generator = np.random.default_rng(seed)
    notes = 220.0 * 2 ** (np.array([0, 2, 4, 7, 9, 12, 9, 7]) / 12)
    length = int(RATE * SECONDS / len(notes))
    out = []
    for frequency in notes:
        period = int(RATE / frequency)
        buffer = generator.uniform(-1, 1, period)
        tone = np.empty(length)
        for i in range(length):
            tone[i] = buffer[i % period]
            buffer[i % period] = 0.996 * 0.5 * (buffer[i % period] + buffer[(i + 1) % period])
        out.append(tone)
    return peak(np.concatenate(out))


def piano_chords() -> np.ndarray:
    """Two decaying chords of inharmonic partials (a piano-like attack and decay)."""
    t = np.arange(int(RATE * SECONDS / 2)) / RATE
    clip = []
    for chord in ([261.6, 329.6, 392.0], [220.0, 277.2, 329.6, 440.0]):
        tone = np.zeros_like(t)
        for fundamental in chord:
            for k in range(1, 12):
                frequency = fundamental * k * np.sqrt(1 + 4e-4 * k * k)
                if frequency < RATE / 2:
                    tone += np.exp(-t * (1.5 + 0.8 * k)) * np.sin(2 * np.pi * frequency * t) / k
        clip.append(tone * (1 - np.exp(-t / 0.002)))
    return peak(np.concatenate(clip))


def drum_loop(seed: int = 0) -> np.ndarray:
    """Kick (a falling sine), snare (filtered noise and a tone) and hi-hat (high-passed noise), eight beats."""
    from scipy import signal

    generator = np.random.default_rng(seed)
    n = int(RATE * SECONDS)
    clip = np.zeros(n)
    beat = n // 8
    t = np.arange(beat) / RATE
    kick = np.sin(2 * np.pi * np.cumsum(50 + 120 * np.exp(-t / 0.03)) / RATE) * np.exp(-t / 0.15)
    snare = signal.lfilter(*signal.butter(2, [1000, 5000], "bandpass", fs=RATE), generator.standard_normal(beat))
    snare = (snare * 3 + np.sin(2 * np.pi * 190 * t)) * np.exp(-t / 0.08)
    hat = signal.lfilter(*signal.butter(4, 7000, "highpass", fs=RATE), generator.standard_normal(beat)) * np.exp(-t / 0.02)
    for index in range(8):
        start = index * beat
        clip[start : start + beat] += (kick if index % 2 == 0 else snare) + 0.5 * hat
    return peak(clip)


def fit_length(samples: np.ndarray) -> np.ndarray:
    wanted = int(RATE * SECONDS)
    return np.pad(samples, (0, max(0, wanted - len(samples))))[:wanted]


def peak(samples: np.ndarray) -> np.ndarray:
    return (0.9 * samples / np.abs(samples).max()).astype(np.float32)


def write_audio_corpus(out: Path) -> list[Path]:
    """The six clips as 16-bit WAVs in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    clips = {name: speech(*spoken) for name, spoken in SPEECH.items()}
    clips |= {"music-plucked": plucked_melody(), "music-piano": piano_chords(), "music-drums": drum_loop()}
    paths = []
    for name, samples in clips.items():
        path = out / f"{name}.wav"
        soundfile.write(str(path), samples, RATE, subtype="PCM_16")
        paths.append(path)
    return paths


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "audio":
        raise SystemExit(__doc__)
    for written in write_audio_corpus(Path(sys.argv[2])):
        print(written)
