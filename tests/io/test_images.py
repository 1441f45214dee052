import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from asmr_plugin.io.images import default_image, load_image, save_image

RNG = np.random.default_rng(0)


def test_default_image_is_cameraman():
    image = load_image(default_image())
    assert image.shape == (512, 512, 1) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1


@pytest.mark.parametrize(
    "mode, shape, channels",
    [("L", (5, 7), 1), ("LA", (5, 7, 2), 2), ("RGB", (5, 7, 3), 3), ("RGBA", (5, 7, 4), 4)],
)
def test_eight_bit_modes_keep_their_channels(tmp_path, mode, shape, channels):
    pixels = RNG.integers(0, 256, shape, dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "image.png")
    image = load_image(tmp_path / "image.png")
    assert image.shape == (5, 7, channels)
    np.testing.assert_allclose(image.numpy(), pixels.reshape(5, 7, channels) / 255.0, atol=1e-7)


def test_palette_image_becomes_colours_not_indices(tmp_path):
    pixels = np.zeros((4, 4, 3), np.uint8)
    pixels[:2] = (255, 0, 0)
    pixels[2:] = (0, 0, 255)
    Image.fromarray(pixels).convert("P", palette=Image.Palette.ADAPTIVE, colors=2).save(tmp_path / "palette.png")
    image = load_image(tmp_path / "palette.png")
    assert image.shape == (4, 4, 3)
    np.testing.assert_allclose(image[0, 0].numpy(), [1, 0, 0])
    np.testing.assert_allclose(image[3, 3].numpy(), [0, 0, 1])


def test_sixteen_bit_grey_and_colour_keep_full_precision(tmp_path):
    grey = RNG.integers(0, 65536, (6, 5), dtype=np.uint16)
    colour = RNG.integers(0, 65536, (6, 5, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "grey16.png"), grey)
    cv2.imwrite(str(tmp_path / "rgb16.png"), colour[..., ::-1])  # OpenCV writes BGR
    cv2.imwrite(str(tmp_path / "rgb16.tiff"), colour[..., ::-1])
    np.testing.assert_allclose(load_image(tmp_path / "grey16.png")[..., 0].numpy(), grey / 65535.0, atol=1e-7)
    for name in ("rgb16.png", "rgb16.tiff"):
        np.testing.assert_allclose(load_image(tmp_path / name).numpy(), colour / 65535.0, atol=1e-7)


def test_jpeg_and_tiff(tmp_path):
    pixels = np.full((8, 8, 3), (200, 100, 50), np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", quality=95)
    Image.fromarray(pixels).save(tmp_path / "photo.tif")
    np.testing.assert_allclose(load_image(tmp_path / "photo.jpg").numpy(), pixels / 255.0, atol=3 / 255)
    np.testing.assert_allclose(load_image(tmp_path / "photo.tif").numpy(), pixels / 255.0, atol=1e-7)


@pytest.mark.parametrize(
    "content, message",
    [(None, "does not exist"), (b"", "is empty"), (b"certainly not a picture", "not a readable image")],
)
def test_bad_files_get_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.png"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as error:
        load_image(path)
    assert "bad.png" in str(error.value)


def test_truncated_png_is_an_error(tmp_path):
    Image.fromarray(RNG.integers(0, 256, (64, 64), dtype=np.uint8)).save(tmp_path / "full.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "full.png").read_bytes()[:200])
    with pytest.raises(ValueError, match="cut.png"):
        load_image(tmp_path / "cut.png")


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_save_and_reload_round_trip(tmp_path, channels):
    image = torch.rand(9, 4, channels)
    save_image(tmp_path / "out.png", image)
    assert (load_image(tmp_path / "out.png") - image).abs().max() <= 0.5 / 255 + 1e-6
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary left behind


def test_a_16_bit_grey_alpha_png_keeps_its_two_channels_and_depth(tmp_path):
    import struct
    import zlib

    pixels = np.zeros((4, 5, 2), np.uint16)
    pixels[..., 0] = np.arange(20).reshape(4, 5) * 3000
    pixels[..., 1] = 60000
    rows = b"".join(b"\x00" + pixels[y].astype(">u2").tobytes() for y in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 5, 4, 16, 4, 0, 0, 0)  # 16-bit, colour type 4: grey + alpha
    (tmp_path / "la16.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    )
    image = load_image(tmp_path / "la16.png")
    assert image.shape == (4, 5, 2)
    assert torch.equal((image * 65535).round().to(torch.int64), torch.from_numpy(pixels.astype(np.int64)))


def test_images_beyond_pillows_bomb_limit_are_read_when_they_fit_in_memory(tmp_path, monkeypatch):
    from asmr_plugin import memory

    Image.new("RGB", (32, 32), (255, 0, 0)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # Pillow refuses more than twice its limit
    assert load_image(tmp_path / "big.png").shape == (32, 32, 3)
    assert Image.MAX_IMAGE_PIXELS == 100  # the limit restored
    monkeypatch.setattr(memory, "memory_bytes", lambda: 10_000)  # 32 x 32 x 3 x 5 bytes do not fit
    with pytest.raises(ValueError) as refused:
        load_image(tmp_path / "big.png")
    assert str(refused.value).startswith(f"image {tmp_path / 'big.png'} (32x32, 3 channel(s)) needs at least 0 GiB")
