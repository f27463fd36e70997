"""Digit sheets: labelled 8x8 digits as one uint8 image, the form a data owner encrypts with the image codec.

Each digit is a tile 9 pixels high: 8 rows of pixels (level x 15, so 0..240) and a 9th row holding the label
(label x 25); an empty tile's label pixel is 255. :func:`read_sheet` inverts :func:`render_sheet` exactly.
"""

from __future__ import annotations

import numpy as np

from clients.fl.datasets import LabelledData
from clients.fl.errors import DatasetError

DIGIT_LEVELS = 16  # sklearn digits are integers 0..16
PIXELS_PER_LEVEL = 15  # 16 * 15 = 240 fits a uint8 pixel and divides back exactly
LABEL_STEP = 25  # label row pixel = label * 25 (0..225)
PADDING_LABEL = 255  # label pixel of an empty tile
SHEET_COLUMNS = 32


def render_sheet(data: LabelledData, columns: int = SHEET_COLUMNS) -> np.ndarray:
    """Render labelled 8x8 digits as one uint8 image: 9-pixel-high tiles, the 9th row holds the label.

    Raises:
        DatasetError: If the samples are not 1x8x8 digits with integer levels 0..16.
    """
    if data.sample_shape != (1, 8, 8):
        raise DatasetError(f"a digit sheet holds 1x8x8 samples, got {data.sample_shape}")
    levels = np.rint(data.x[:, 0] * DIGIT_LEVELS)
    if not np.allclose(levels, data.x[:, 0] * DIGIT_LEVELS, atol=1e-4) or levels.max() > DIGIT_LEVELS:
        raise DatasetError("digit sheets need sklearn digit levels (multiples of 1/16 in [0, 1])")
    rows = -(-len(data) // columns)
    sheet = np.full((rows * 9, columns * 8), PADDING_LABEL, dtype=np.uint8)
    for i in range(len(data)):
        r, c = divmod(i, columns)
        sheet[r * 9:r * 9 + 8, c * 8:c * 8 + 8] = levels[i].astype(np.uint8) * PIXELS_PER_LEVEL
        sheet[r * 9 + 8, c * 8:c * 8 + 8] = data.y[i] * LABEL_STEP
    return sheet


def read_sheet(sheet: np.ndarray, num_classes: int = 10) -> LabelledData:
    """Parse a sheet made by :func:`render_sheet` back into digits scaled to [0, 1], shaped (N, 1, 8, 8).

    Raises:
        DatasetError: If the image is not a digit sheet: wrong dtype or shape, no digit, a pixel that is no
            level, or a label outside ``0 .. num_classes - 1``.
    """
    sheet = np.asarray(sheet)
    if sheet.dtype != np.uint8 or sheet.ndim != 2 or sheet.shape[0] % 9 or sheet.shape[1] % 8 or not sheet.size:
        raise DatasetError(f"a digit sheet is a uint8 image of 9-row x 8-column tiles, got {sheet.dtype} "
                           f"{sheet.shape}; decrypt the dataset with its own codec key")
    rows, columns = sheet.shape[0] // 9, sheet.shape[1] // 8
    xs, ys = [], []
    for r in range(rows):
        for c in range(columns):
            label = int(sheet[r * 9 + 8, c * 8])
            if label == PADDING_LABEL:
                continue
            tile = sheet[r * 9:r * 9 + 8, c * 8:c * 8 + 8]
            if label % LABEL_STEP or label // LABEL_STEP >= num_classes or np.any(tile % PIXELS_PER_LEVEL) \
                    or tile.max() > DIGIT_LEVELS * PIXELS_PER_LEVEL:
                raise DatasetError(f"tile ({r}, {c}) of the sheet is not a digit (label pixel {label}); "
                                   "the sheet is corrupted or was not made by render_sheet")
            xs.append(tile // PIXELS_PER_LEVEL)
            ys.append(label // LABEL_STEP)
    if not xs:
        raise DatasetError("the digit sheet holds no digit")
    x = (np.stack(xs).astype(np.float64) / DIGIT_LEVELS).astype(np.float32)[:, None, :, :]
    return LabelledData(x, np.array(ys, dtype=np.int64), num_classes, tuple(str(d) for d in range(num_classes)))
