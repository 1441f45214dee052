"""Audio files as mono float grids ``[N, 1]`` in [-1, 1] at a target rate, a generated test clip, and back."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile
import torch
from jaxtyping import Float
from rich.console import Console
from torch import Tensor

from asmr_plugin.io.files import atomic_path

MAX_RESAMPLING_FACTOR = 100_000
"""The largest up or down factor of a polyphase resampling (its filter has about 20 taps per unit of it)."""


def load_audio(path: Path, rate: int = 16_000, seconds: float = 2.0, pad: bool = False) -> Float[Tensor, "N 1"]:
    """The first ``seconds`` of ``path``, mixed down to mono and resampled to ``rate``.

    A clip shorter than asked is an error unless ``pad`` (then it is zero-padded at the end).
    """
    path = Path(path)
    if rate <= 0 or seconds <= 0:
        raise ValueError(f"--rate and --seconds must be positive, got {rate} Hz and {seconds} s")
    if not path.is_file():
        raise ValueError(f"--data {path} does not exist")
    try:
        with open(path, "rb") as handle:  # Python opens any name; libsndfile's own open needs UTF-8 names
            samples, file_rate = soundfile.read(handle, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as error:
        reason = str(error).split(">: ", 1)[-1]  # libsndfile names the Python file object first
        raise ValueError(f"{path} is not a readable audio file (WAV, FLAC, OGG, ...): {reason}") from error
    if samples.shape[0] == 0:
        raise ValueError(f"{path} holds no samples")
    if not np.isfinite(samples).all():
        raise ValueError(f"{path} holds non-finite samples (NaN or infinity)")
    mono = samples.mean(axis=1)
    wanted = round(seconds * rate)
    if file_rate != rate:
        from scipy import signal  # imported where used: it takes a second, which commands without audio need not pay

        common = math.gcd(int(file_rate), rate)
        if max(rate, int(file_rate)) // common > MAX_RESAMPLING_FACTOR:
            raise ValueError(
                f"{path} is at {file_rate:,} Hz, which shares no usable factor with --rate {rate:,} Hz: resampling would "
                f"need a filter of {20 * max(rate, int(file_rate)) // common:,} taps (is its header's rate right?)"
            )
        mono = signal.resample_poly(mono, rate // common, int(file_rate) // common).astype(np.float32)
    if mono.shape[0] < wanted:
        if not pad:
            raise ValueError(
                f"{path} holds {mono.shape[0] / rate:.2f} s ({mono.shape[0]:,} samples at {rate} Hz) but --seconds {seconds:g} "
                f"needs {wanted:,}; pass --pad to zero-pad it or ask for fewer seconds"
            )
        mono = np.pad(mono, (0, wanted - mono.shape[0]))
    peak = float(np.abs(mono[:wanted]).max())
    if peak > 1:
        Console(stderr=True).print(
            f"[yellow]warning:[/] {path} peaks at {peak:.3g}, beyond [-1, 1]: the fit sees it clipped", highlight=False
        )
    return torch.from_numpy(np.clip(mono[:wanted], -1.0, 1.0).copy())[:, None]


GENERATED_MIN_RATE = 2000
"""The lowest sample rate of the generated clip (Hz): its voice and first formants lie below 1 kHz."""


def speech_like_clip(rate: int = 16_000, seconds: float = 2.0, seed: int = 0) -> Float[Tensor, "N 1"]:
    """A deterministic speech-like test signal: a gliding harmonic voice through moving formants,
    in syllables, with noisy consonant bursts (peak 0.9). Below 16 kHz what lies above the Nyquist frequency is left
    out, as a recording at that rate would (formants) or moved under it (the bursts' high-pass)."""
    from scipy import signal

    if rate < GENERATED_MIN_RATE:
        raise ValueError(f"the generated clip needs a sample rate of at least {GENERATED_MIN_RATE} Hz, got {rate}")

    generator = np.random.default_rng(seed)
    n = round(seconds * rate)
    t = np.arange(n) / rate
    pitch = 125 + 25 * np.sin(2 * np.pi * 0.6 * t) + 10 * np.sin(2 * np.pi * 2.9 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    harmonics = np.arange(1, 40)
    voice = (np.sin(np.outer(phase, harmonics)) / harmonics * (harmonics * pitch[:, None] < rate / 2)).sum(axis=1)
    syllable = np.floor(t * 4).astype(int)
    formant_sets = np.array(
        [[730, 1090, 2440], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240], [530, 1840, 2480]]
    )
    chosen = formant_sets[generator.integers(0, len(formant_sets), syllable.max() + 1)][syllable]
    voiced = np.zeros(n)
    for formant in range(3):
        for index in np.unique(syllable):
            where = syllable == index
            if chosen[where][0, formant] >= 0.45 * rate:  # above what this rate records
                continue
            b, a = signal.iirpeak(chosen[where][0, formant], Q=8, fs=rate)
            voiced[where] += signal.lfilter(b, a, voice[where]) / (formant + 1)
    envelope = np.clip(np.sin(np.pi * (t * 4 % 1)), 0, None) ** 0.6
    burst = signal.lfilter(*signal.butter(4, min(3000, 0.4 * rate), "highpass", fs=rate), generator.standard_normal(n))
    consonants = burst * np.exp(-((t * 4 % 1) / 0.05)) * 0.3
    clip = voiced * envelope + consonants
    return torch.from_numpy((0.9 * clip / np.abs(clip).max()).astype(np.float32))[:, None]


def save_audio(path: Path, samples: Float[Tensor, "N 1"], rate: int) -> None:
    """Write 16-bit PCM atomically (the format follows the file extension, e.g. .wav or .flac)."""
    with atomic_path(path) as temporary:
        soundfile.write(str(temporary), samples.detach().cpu().clamp(-1, 1).numpy()[:, 0], rate, subtype="PCM_16")
