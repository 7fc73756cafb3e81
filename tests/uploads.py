"""Small valid upload files made in code (a labelled CSV, a ZIP of images) for the page and browser tests."""

import io
import zipfile

import numpy as np
from PIL import Image


def sample_csv(n: int = 240, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    rows = ["f1,f2,f3,colour,class"]
    for i in range(n):
        attack = i % 8 == 0
        x = rng.normal(4.0 if attack else 0.0, 1.0, 3)
        colour = ("red", "green", "blue")[i % 3]
        rows.append(f"{x[0]:.4f},{x[1]:.4f},{x[2]:.4f},{colour},{'attack' if attack else 'normal'}")
    return ("\n".join(rows) + "\n").encode()


def sample_image_zip(n: int = 24, side: int = 12) -> bytes:
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for folder in ("normal", "abnormal"):
            for i in range(n):
                img = np.zeros((side, side), np.uint8)
                if folder == "normal":
                    img[:, side // 2 - 1: side // 2 + 1] = 255  # a vertical bar
                else:
                    img[side // 2 - 1: side // 2 + 1, :] = 255  # a horizontal bar
                img = np.clip(img.astype(int) + rng.integers(0, 40, img.shape), 0, 255).astype(np.uint8)
                png = io.BytesIO()
                Image.fromarray(img, "L").save(png, format="PNG")
                zf.writestr(f"{folder}/{i:03d}.png", png.getvalue())
    return buf.getvalue()
